"""Post-quantum verification in bootloader-ref: HSS-LMS in the core (src/hsslms.c) against
RFC 8554's vectors, ML-DSA through the port (ports/soft/mldsa.c, FIPS 204) against
pyca/cryptography's signatures, SHAKE (FIPS 202) against hashlib, and envelopes signed
by fwsign with these algorithms through the CLI, alone and as hybrids.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwsign.device import lib as bootlib

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "rfc8554" / "vectors.json").read_text())["cases"]


def _hex(lines: list[str]) -> bytes:
    return bytes.fromhex("".join(lines))


@pytest.fixture(scope="module")
def clib(built: Path) -> ctypes.CDLL:
    return bootlib.load()


def _hss(clib: ctypes.CDLL, pub: bytes, msg: bytes, sig: bytes) -> int:
    return int(clib.bootref_host_hsslms_verify(pub, len(pub), msg, len(msg), sig, len(sig)))


@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_rfc8554_vectors_verify_in_c(clib: ctypes.CDLL, case: dict[str, object]) -> None:
    pub, msg, sig = _hex(case["public_key"]), _hex(case["message"]), _hex(case["signature"])  # type: ignore[arg-type]
    assert _hss(clib, pub, msg, sig) == 0  # BOOTREF_PORT_OK
    assert _hss(clib, pub, msg + b"x", sig) == 1  # BOOTREF_PORT_FAIL
    assert _hss(clib, pub, msg, sig[:-1]) == 1
    assert _hss(clib, pub, msg, sig + b"\0") == 1
    for at in (3, 7, 11, 60, 700, len(sig) // 2, len(sig) - 1):
        bad = bytearray(sig)
        bad[at] ^= 0x20
        assert _hss(clib, pub, msg, bytes(bad)) == 1, at


@settings(max_examples=200, deadline=None, derandomize=True)
@given(at=st.integers(min_value=0, max_value=2643), xor=st.integers(min_value=1, max_value=255),
       cut=st.integers(min_value=0, max_value=2644))
def test_fuzz_hss_in_c_agrees_with_python(clib: ctypes.CDLL, at: int, xor: int, cut: int) -> None:
    from fwsign.pq.hsslms import hss_verify

    case = VECTORS[0]
    pub, msg, sig = _hex(case["public_key"]), _hex(case["message"]), _hex(case["signature"])  # type: ignore[arg-type]
    bad = bytearray(sig)
    bad[at] ^= xor
    for s in (bytes(bad), sig[:cut]):
        assert (_hss(clib, pub, msg, s) == 0) == hss_verify(pub, msg, s)


def test_unknown_public_key_types_are_unsupported(clib: ctypes.CDLL) -> None:
    pub = bytearray(_hex(VECTORS[0]["public_key"]))  # type: ignore[arg-type]
    pub[7] = 0x0A  # LMS type 10: SHA-256/192 (SP 800-208), not implemented
    assert _hss(clib, bytes(pub), b"m", b"\0" * 8) == 2  # BOOTREF_PORT_UNSUPPORTED


@pytest.mark.parametrize("bits", [128, 256])
def test_shake_matches_hashlib(clib: ctypes.CDLL, bits: int) -> None:
    for n in (0, 1, 135, 136, 137, 167, 168, 169, 500):
        data = bytes(range(256))[: n % 256] * (n // 256 + 1)
        data = data[:n]
        out = ctypes.create_string_buffer(300)
        clib.bootref_shake(bits, data, len(data), out, 300)
        ref = (hashlib.shake_128 if bits == 128 else hashlib.shake_256)(data).digest(300)
        assert out.raw == ref, n


@pytest.mark.parametrize("kind,level", [("ml-dsa-44", 44), ("ml-dsa-65", 65), ("ml-dsa-87", 87)])
def test_mldsa_in_c_verifies_pyca_signatures(clib: ctypes.CDLL, kind: str, level: int) -> None:
    from fwsign.keys import generate, public_raw

    key = generate(kind)
    pk = public_raw(key.public_key())  # type: ignore[union-attr]
    for i, msg in enumerate((b"", b"firmware", bytes(range(256)) * 9)):
        sig = key.sign(msg)  # type: ignore[union-attr]
        assert clib.bootref_mldsa_verify(level, pk, len(pk), msg, len(msg), sig, len(sig)) == 0
        assert clib.bootref_mldsa_verify(level, pk, len(pk), msg + b"x", len(msg) + 1, sig, len(sig)) == -1
        bad = bytearray(sig)
        bad[(i * 997) % len(sig)] ^= 1
        assert clib.bootref_mldsa_verify(level, pk, len(pk), msg, len(msg), bytes(bad), len(sig)) == -1
    # A context string other than the empty one is another message (draft-ietf-cose-dilithium: ctx empty).
    sig = key.sign(b"m", b"ctx")  # type: ignore[union-attr]
    assert clib.bootref_mldsa_verify(level, pk, len(pk), b"m", 1, sig, len(sig)) == -1
    other = level % 65 + 44 if level != 87 else 44
    assert clib.bootref_mldsa_verify(other, pk, len(pk), b"m", 1, sig, len(sig)) == -1


@settings(max_examples=60, deadline=None, derandomize=True)
@given(at=st.integers(min_value=0, max_value=2419), xor=st.integers(min_value=1, max_value=255))
def test_fuzz_mldsa_in_c_agrees_with_pyca(clib: ctypes.CDLL, at: int, xor: int) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import mldsa

    key = mldsa.MLDSA44PrivateKey.from_seed_bytes(bytes(32))
    pk = key.public_key().public_bytes_raw()
    sig = bytearray(key.sign(b"release"))
    sig[at] ^= xor
    try:
        key.public_key().verify(bytes(sig), b"release")
        ok = True
    except InvalidSignature:
        ok = False
    assert (clib.bootref_mldsa_verify(44, pk, len(pk), b"release", 7, bytes(sig), len(sig)) == 0) == ok


# -- envelopes signed by fwsign, verified by the C CLI (and the Python verifier) ----------


@pytest.fixture(scope="module")
def pq_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fwsign.cli.main import run

    d = tmp_path_factory.mktemp("pqkeys")
    assert run(["keygen", "--alg", "ed25519", "-o", str(d / "ed")]) == 0
    assert run(["keygen", "--alg", "ml-dsa-44", "-o", str(d / "mldsa")]) == 0
    assert run(["keygen", "--alg", "ml-dsa-65", "-o", str(d / "mldsa65")]) == 0
    assert run(["keygen", "--alg", "hss-lms", "--lms-height", "5", "--lms-w", "8", "-o", str(d / "hss")]) == 0
    (d / "fw.bin").write_bytes(bytes(range(256)) * 8)
    return d


def _sign(d: Path, name: str, *keys: str) -> Path:
    from fwsign.cli.main import run

    out = d / f"{name}.suit"
    args = ["sign", str(d / "fw.bin"), "--sequence", "3", "--vendor-domain", "example.com", "--class-name", "pump",
            "--uri", "https://fw.example.com/fw.bin", "-o", str(out)]
    for k in keys:
        args += ["-k", str(d / k)]
    assert run(args) == 0
    return out


@pytest.mark.parametrize("key,pub", [("hss.hss", "hss.cose"), ("mldsa.pem", "mldsa.cose"),
                                     ("mldsa65.pem", "mldsa65.pub.pem")])
def test_pq_envelope_signed_by_fwsign_verifies_in_c(bootref: Any, pq_keys: Path, key: str, pub: str) -> None:
    from fwsign.cli.main import run

    env = _sign(pq_keys, key.split(".")[0], key)
    if pub.endswith(".pub.pem"):
        # The C host port reads ML-DSA keys as COSE_Key (its OpenSSL 3.0 has no ML-DSA PEM): convert.
        from fwsign.keys import encode_cose_key, load_public

        (pq_keys / "mldsa65.c.cose").write_bytes(encode_cose_key(load_public(pq_keys / pub)))
        pub = "mldsa65.c.cose"
    r = bootref(env, pq_keys / "fw.bin", keys=[pq_keys / pub])
    assert r.code == 0, r.out + r.err
    assert run(["verify", str(env), "-k", str(pq_keys / pub), "--image", str(pq_keys / "fw.bin")]) == 0
    # A flipped bit in the post-quantum signature: refused by both, with the same reason.
    from fwsign.suit.decode import decode_envelope

    data = bytearray(env.read_bytes())
    sig = decode_envelope(bytes(data)).auth.blocks[0].message.tag
    data[bytes(data).find(sig) + len(sig) - 40] ^= 1
    bad = pq_keys / "bad.suit"
    bad.write_bytes(bytes(data))
    r = bootref(bad, keys=[pq_keys / pub])
    assert (r.code, r.reason) == (1, "signature-invalid")
    assert run(["verify", str(bad), "-k", str(pq_keys / pub)]) == 1


@pytest.mark.parametrize("pq", ["hss", "mldsa"])
def test_attack_hybrid_device_refuses_an_envelope_missing_either_signature(bootref: Any, pq_keys: Path,
                                                                         pq: str) -> None:
    """THREAT.MFST.MODIFICATION in a migration: a device that requires the classical AND the
    post-quantum signature accepts the hybrid envelope and refuses one signed by either key alone."""
    pq_key, pq_pub, pq_alg = ("hss.hss", "hss.cose", "-46") if pq == "hss" else ("mldsa.pem", "mldsa.cose", "-48")
    trust = [pq_keys / "ed.pub.pem", pq_keys / pq_pub]
    require = ["--require-alg", "-19", "--require-alg", pq_alg]
    hybrid = _sign(pq_keys, f"hybrid-{pq}", "ed.pem", pq_key)
    assert bootref(*require, hybrid, keys=trust).code == 0
    for alone in (_sign(pq_keys, f"ed-only-{pq}", "ed.pem"), _sign(pq_keys, f"pq-only-{pq}", pq_key)):
        r = bootref(*require, alone, keys=trust)
        assert (r.code, r.reason) == (1, "no-trusted-key"), r.out
        assert bootref(alone, keys=trust).code == 0  # without the rule either signature suffices


def test_require_alg_usage_errors(bootref: Any, pq_keys: Path) -> None:
    env = _sign(pq_keys, "ed-usage", "ed.pem")
    assert bootref("--require-alg", "x", env, keys=[pq_keys / "ed.pub.pem"]).code == 2
    nine = [a for i in range(9) for a in ("--require-alg", str(-i))]
    assert bootref(*nine, env, keys=[pq_keys / "ed.pub.pem"]).code == 2
