"""The cost of decrypting an encrypted payload on the device (docs/encryption.md).

Decryption runs once, at install, while the payload is written (bootloader-ref's
src/decrypt.c); boots verify the plaintext image and never decrypt. Its cost:

    cycles = image_bytes x cpb(content algorithm, core) + key establishment

Key establishment: ECDH-ES+A128KW = one scalar multiplication (X25519 or P-256) + HKDF
(4 SHA-256 compressions) + AES key unwrap of the content key (6 x n AES block
operations, n = 2 or 4 64-bit halves); A128KW/A256KW = the unwrap only.

Every figure carries its source and kind (published / derived / estimate), as the device
profiles do. Cortex-M33 takes the Cortex-M4 figures (same Armv7E-M-class DSP pipeline for
this code; an assumption); Cortex-M0+ scales them by 2.1, the ratio of the published
SHA-256 software speeds on the two cores (131 / 63 c/B, REFERENCE s3) - a derived estimate.
"""

from __future__ import annotations

from .profiles import ProfileError, Sourced

#: Content encryption, cycles per byte on Cortex-M4 (software, no crypto accelerator).
CONTENT_CPB_M4: dict[str, Sourced] = {
    "a128ctr": Sourced(33.6, "cycles/B", "published: Schwabe & Stoffelen, 'All the AES You Need on Cortex-M3 and M4' "
                       "(SAC 2016), Ko-/aes-armcortexm README: AES-128-CTR 537.9 cycles per 16-byte block on STM32F407 "
                       "(table-based; the constant-time bitsliced version takes 1619.6 = 101.2 c/B)", "published"),
    "a256ctr": Sourced(48.4, "cycles/B", "published: same source, AES-256-CTR 774.6 cycles per 16-byte block on STM32F407",
                       "published"),
    "a128gcm": Sourced(33.6 + 40.0, "cycles/B", "estimate: AES-128-CTR 33.6 c/B (published, above) + GHASH ~40 c/B "
                       "(estimate for a 4-bit-table software GHASH on Cortex-M4; no published Cortex-M4 figure was "
                       "found - replace with a measurement)", "estimate"),
    "a256gcm": Sourced(48.4 + 40.0, "cycles/B", "estimate: AES-256-CTR 48.4 c/B (published) + GHASH ~40 c/B (estimate, "
                       "as for a128gcm)", "estimate"),
    "chacha20-poly1305": Sourced(13.9 + 6.0, "cycles/B", "estimate: ChaCha20 permutation 888 cycles per 64-byte block = "
                                 "13.9 c/B on STM32F407 (published: Huelsing, Rijneveld, Schwabe, PKC 2016, "
                                 "joostrijneveld/chacha-arm-cortex-m README) + Poly1305 ~6 c/B (estimate: 32x32-bit "
                                 "multiply-accumulate radix 2^26; no published Cortex-M4 figure was found)", "estimate"),
}

#: Key establishment on Cortex-M4, cycles.
KEY_CYCLES_M4: dict[str, Sourced] = {
    "x25519": Sourced(549e3, "cycles", "published: Emill/X25519-Cortex-M4, 549k cycles per scalar multiplication "
                      "(REFERENCE s3)", "published"),
    "p256": Sourced(976e3, "cycles", "estimate (upper bound): one ECDH P-256 scalar multiplication taken as one "
                    "optimised P-256 verify, 976k cycles (Emill/P256-Cortex-M4 README, REFERENCE s3)", "estimate"),
    "hkdf": Sourced(4 * 64 * 63.0, "cycles", "derived: HKDF-SHA-256 = 2 HMACs = 4 SHA-256 compressions of 64 B at "
                    "63 c/B (portable C, REFERENCE s3)", "derived"),
    "unwrap-block": Sourced(644.7, "cycles", "published: AES-128 single-block 644.7 cycles on STM32F407 "
                            "(Ko-/aes-armcortexm README); RFC 3394 unwrap of a 16-byte key = 12 blocks", "published"),
}

CORE_SCALE: dict[str, Sourced] = {
    "cortex-m4": Sourced(1.0, "1", "the figures' own core", "published"),
    "cortex-m33": Sourced(1.0, "1", "assumption: Cortex-M33 runs this code at Cortex-M4 speed", "assumption"),
    "cortex-m0plus": Sourced(131 / 63, "1", "derived: SHA-256 software on Cortex-M0+ 131 c/B vs Cortex-M4 63 c/B "
                             "(REFERENCE s3); no 32x32->64 multiply and fewer registers slow it further for "
                             "Poly1305/GHASH", "derived"),
}

CONTENT_ALGS = tuple(CONTENT_CPB_M4)
KEY_EXCHANGES = ("x25519", "p256", "a128kw", "a256kw")
#: Encryption info sizes fwsign writes, bytes (measured with fwsign.encryption, one recipient).
INFO_BYTES = {"x25519": 108, "p256": 143, "a128kw": 65, "a256kw": 65}


def check_content(name: str) -> str:
    n = name.lower()
    if n not in CONTENT_CPB_M4:
        raise ProfileError(f"unknown content encryption {name!r}; choose {', '.join(CONTENT_ALGS)}")
    return n


def check_key_exchange(name: str) -> str:
    n = name.lower()
    if n not in KEY_EXCHANGES:
        raise ProfileError(f"unknown key exchange {name!r}; choose {', '.join(KEY_EXCHANGES)}")
    return n


def _scale(core: str) -> float:
    s = CORE_SCALE.get(core)
    if s is None:
        raise ProfileError(f"no decryption figures for core {core!r}")
    return s.value


def content_cpb(alg: str, core: str) -> float:
    return CONTENT_CPB_M4[check_content(alg)].value * _scale(core)


def key_cycles(key_exchange: str, core: str) -> float:
    kx = check_key_exchange(key_exchange)
    blocks = 12 if kx != "a256kw" else 24  # n = 2 (16-byte key) / 4 (32-byte key) halves, 6n blocks
    cycles = blocks * KEY_CYCLES_M4["unwrap-block"].value
    if kx in ("x25519", "p256"):
        cycles += KEY_CYCLES_M4[kx].value + KEY_CYCLES_M4["hkdf"].value
    return cycles * _scale(core)


def tag_bytes(alg: str) -> int:
    return 0 if check_content(alg).endswith("ctr") else 16


def sources() -> list[tuple[str, Sourced]]:
    """Every constant of the decryption model, for ``fwsign energy --list --sources``."""
    out = [(f"decrypt.{k}", v) for k, v in CONTENT_CPB_M4.items()]
    out += [(f"decrypt.key.{k}", v) for k, v in KEY_CYCLES_M4.items()]
    out += [(f"decrypt.scale.{k}", v) for k, v in CORE_SCALE.items()]
    return out
