"""Encrypted payloads (draft-ietf-suit-firmware-encryption-26): round trips, attacks, strict parsing."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st

from fwsign import cbor
from fwsign.encryption import (
    CONTENT_ALGS,
    ContentAlg,
    DecryptionKey,
    Kek,
    RecipientKey,
    decrypt_chunks,
    enc_structure,
    encrypt_stream,
    kdf_context,
    new_info,
    open_info,
    parse_info,
)
from fwsign.encryption.keys import kid_of
from fwsign.errors import (
    DecryptionError,
    EncryptionInfoError,
    FwsignError,
    KeyUnwrapError,
    NonceReuse,
    NoRecipient,
    UnsupportedError,
)
from fwsign.suit.builder import ComponentSpec, ImageSpec, ManifestSpec, assemble_envelope, build_manifest, hash_stream
from fwsign.suit.ids import class_uuid, vendor_uuid
from fwsign.verify import Policy, verify_envelope
from tests.conftest import KEYS

VENDOR = vendor_uuid("example.com")
CLASS = class_uuid(VENDOR, "infusion-pump-v3")
RECIPIENT_KINDS = ("x25519", "p256", "a128kw", "a256kw")
IMAGE = bytes(hashlib.sha256(str(i).encode()).digest()[i % 32] for i in range(70_001))


def _keypair(kind: str, seed: int = 1) -> tuple[RecipientKey, DecryptionKey]:
    """Deterministic keys per kind (no wall clock, no randomness in the keys)."""
    material = hashlib.sha256(f"{kind}-{seed}".encode()).digest()
    if kind == "x25519":
        xp = x25519.X25519PrivateKey.from_private_bytes(material)
        return RecipientKey(xp.public_key(), kid_of(xp)), DecryptionKey(xp, kid_of(xp))
    if kind == "p256":
        ep = ec.derive_private_key(int.from_bytes(material, "big") % (2**255), ec.SECP256R1())
        return RecipientKey(ep.public_key(), kid_of(ep)), DecryptionKey(ep, kid_of(ep))
    kek = Kek(material[:16] if kind == "a128kw" else material)
    return RecipientKey(kek, kek.kid), DecryptionKey(kek, kek.kid)


def _chunks(data: bytes, size: int = 4093) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


def _encrypt(kinds: tuple[str, ...] = ("x25519",), alg: int = ContentAlg.A128GCM) -> tuple[bytes, bytes, list[DecryptionKey]]:
    pairs = [_keypair(k) for k in kinds]
    info, cek = new_info([p[0] for p in pairs], alg)
    ct = b"".join(encrypt_stream(info, cek, _chunks(IMAGE)))
    return info.encode(), ct, [p[1] for p in pairs]


@pytest.mark.parametrize(("kind", "alg"), list(itertools.product(RECIPIENT_KINDS, CONTENT_ALGS)))
def test_round_trip_every_recipient_and_content_algorithm(kind: str, alg: int) -> None:
    info, ct, keys = _encrypt((kind,), alg)
    assert len(ct) == len(IMAGE) + CONTENT_ALGS[alg].tag_bytes
    assert parse_info(info).encode() == info  # deterministic re-encoding
    # Odd chunk sizes on the way back: the tag may straddle chunk boundaries.
    out = b"".join(decrypt_chunks(info, keys, _chunks(ct, 7)))
    assert out == IMAGE


def test_aead_streams_match_one_shot_implementations() -> None:
    for alg, one_shot in ((ContentAlg.A128GCM, AESGCM), (ContentAlg.CHACHA20_POLY1305, ChaCha20Poly1305)):
        info, cek = new_info([_keypair("a128kw")[0]], alg)
        ct = b"".join(encrypt_stream(info, cek, _chunks(IMAGE, 1000)))
        assert one_shot(cek).encrypt(info.iv, IMAGE, enc_structure(info.protected)) == ct


def test_several_recipients_each_decrypts() -> None:
    info, ct, keys = _encrypt(("x25519", "p256", "a128kw"))
    for k in keys:
        assert b"".join(decrypt_chunks(info, [k], [ct])) == IMAGE


def test_kdf_context_is_the_drafts_structure() -> None:
    ctx = cbor.loads(kdf_context(b"\xa1\x01\x38\x1c"))
    assert ctx == (-3, (None, None, None), (None, None, None), (128, b"\xa1\x01\x38\x1c", b"SUIT Payload Encryption"))


def test_ctr_protected_header_is_empty_and_gcm_protects_alg() -> None:
    info, _cek = new_info([_keypair("a128kw")[0]], ContentAlg.A128CTR)
    assert info.protected == b""
    info, _cek = new_info([_keypair("a128kw")[0]], ContentAlg.A128GCM)
    assert cbor.loads(info.protected) == {1: 1}


# -- attacks ---------------------------------------------------------------------------


def test_wrong_recipient_key_is_no_recipient() -> None:
    info, ct, _keys = _encrypt(("x25519",))
    other = _keypair("x25519", seed=2)[1]
    with pytest.raises(NoRecipient, match="none is the key given"):
        b"".join(decrypt_chunks(info, [other], [ct]))


def test_wrong_kek_with_matching_kid_is_key_unwrap_failed() -> None:
    info, ct, keys = _encrypt(("a128kw",))
    forged = Kek(bytes(16))
    # Same kid as the real KEK (a kid is only a hint), wrong secret.
    with pytest.raises(KeyUnwrapError, match="does not unwrap"):
        b"".join(decrypt_chunks(info, [DecryptionKey(forged, keys[0].kid)], [ct]))


@pytest.mark.parametrize("kind", RECIPIENT_KINDS)
def test_tampered_wrapped_key_is_key_unwrap_failed(kind: str) -> None:
    info, ct, keys = _encrypt((kind,))
    parsed = parse_info(info)
    r = parsed.recipients[0]
    bad = bytearray(r.wrapped_key)
    bad[5] ^= 1
    tampered = info.replace(r.wrapped_key, bytes(bad))
    with pytest.raises(KeyUnwrapError):
        b"".join(decrypt_chunks(tampered, keys, [ct]))


@pytest.mark.parametrize("alg", [ContentAlg.A128GCM, ContentAlg.A256GCM, ContentAlg.CHACHA20_POLY1305])
@pytest.mark.parametrize("where", [0, 40_000, -1])
def test_tampered_ciphertext_is_decryption_failed(alg: int, where: int) -> None:
    info, ct, keys = _encrypt(("a128kw",), alg)
    bad = bytearray(ct)
    bad[where] ^= 0x80
    with pytest.raises(DecryptionError, match="tampered"):
        b"".join(decrypt_chunks(info, keys, _chunks(bytes(bad))))


@pytest.mark.parametrize("cut", [1, 16, len(IMAGE)])
def test_truncated_ciphertext_is_decryption_failed(cut: int) -> None:
    info, ct, keys = _encrypt(("x25519",), ContentAlg.A128GCM)
    with pytest.raises(DecryptionError):
        b"".join(decrypt_chunks(info, keys, _chunks(ct[:-cut])))


def test_nonce_reuse_with_a_given_key_is_refused() -> None:
    rk = _keypair("a128kw")[0]
    cek, iv = bytes(range(16)), bytes(range(100, 112))
    new_info([rk], ContentAlg.A128GCM, cek=cek, iv=iv)
    with pytest.raises(NonceReuse):
        new_info([rk], ContentAlg.A128GCM, cek=cek, iv=iv)
    new_info([rk], ContentAlg.A128GCM, cek=cek, iv=bytes(12))  # a fresh IV is fine


def _envelope(info: bytes, *, embed: bytes | None = None) -> bytes:
    digest, size = hash_stream([IMAGE])
    uri = "#firmware" if embed is not None else "https://fw.example.com/app.enc"
    comp = ComponentSpec((b"\x00",), (ImageSpec(digest, size, uri=uri, encryption_info=info),), VENDOR, CLASS)
    manifest, severed = build_manifest(ManifestSpec(5, (comp,)))
    payloads = [("#firmware", embed)] if embed is not None else []
    return assemble_envelope(manifest, [KEYS["ed25519"].signer()], severed=severed, payloads=payloads)


def test_verify_decrypts_and_checks_the_plaintext_digest() -> None:
    info, ct, keys = _encrypt(("p256",), ContentAlg.A128CTR)
    policy = Policy(keys=(KEYS["ed25519"].trusted,))
    report = verify_envelope(_envelope(info), policy, _chunks(ct), decryption=keys)
    assert report.valid, report.error
    assert "decrypted" in report.checks[-1].detail
    # Without a key the ciphertext cannot be checked: the image step is skipped, not passed.
    report = verify_envelope(_envelope(info), policy, _chunks(ct))
    assert report.valid and report.checks[-1].ok is None and "encrypted" in report.checks[-1].detail


def test_tampered_ctr_ciphertext_is_caught_by_the_plaintext_digest() -> None:
    """AES-CTR has no tag: the signed image digest over the plaintext is what catches it."""
    info, ct, keys = _encrypt(("x25519",), ContentAlg.A128CTR)
    bad = bytearray(ct)
    bad[1234] ^= 1
    report = verify_envelope(_envelope(info), Policy(keys=(KEYS["ed25519"].trusted,)), [bytes(bad)], decryption=keys)
    assert report.reason == "image-mismatch"


def test_integrated_encrypted_payload_decrypts() -> None:
    info, ct, keys = _encrypt(("a256kw",), ContentAlg.A256CTR)
    report = verify_envelope(_envelope(info, embed=ct), Policy(keys=(KEYS["ed25519"].trusted,)), decryption=keys)
    assert report.valid, report.error
    assert "integrated payload #firmware decrypted" in report.checks[-1].detail


def test_image_of_other_plaintext_is_image_mismatch() -> None:
    pairs = [_keypair("x25519")]
    info, cek = new_info([pairs[0][0]], ContentAlg.A128GCM)
    other = b"".join(encrypt_stream(info, cek, [IMAGE[:-1] + b"\x00"]))
    report = verify_envelope(_envelope(info.encode()), Policy(keys=(KEYS["ed25519"].trusted,)), [other],
                             decryption=[pairs[0][1]])
    assert report.reason == "image-mismatch"


# -- strict parsing --------------------------------------------------------------------


def _bad(value: object) -> bytes:
    return cbor.dumps(value)


def _t(value: object) -> bytes:
    return cbor.dumps_tagged(96, value)


@pytest.mark.parametrize(("data", "error"), [
    (b"", EncryptionInfoError),
    (_bad([b"", {}, None, []]), EncryptionInfoError),                              # not tagged 96
    (_t([b"\xa1\x01\x01", {5: bytes(12)}, b"ct", [[b"", {1: -3}, bytes(24)]]]), EncryptionInfoError),
    (_t([b"\xa1\x01\x01", {5: bytes(11)}, None, [[b"", {1: -3}, bytes(24)]]]), EncryptionInfoError),
    (_t([b"\xa1\x01\x01", {5: bytes(12)}, None, []]), EncryptionInfoError),
    (_t([b"\xa1\x01\x01", {5: bytes(12), 1: 1}, None, [[b"", {1: -3}, bytes(24)]]]), EncryptionInfoError),
    (_t([b"\xa1\x01\x39\xff\xfd", {5: bytes(16)}, None, [[b"", {1: -3}, bytes(24)]]]), EncryptionInfoError),
    (_t([b"\xa1\x01\x0a", {5: bytes(12)}, None, [[b"", {1: -3}, bytes(24)]]]), UnsupportedError),
    (_t([b"\xa1\x01\x01", {5: bytes(12)}, None, [[b"", {1: -7}, bytes(24)]]]), UnsupportedError),
    (_t([b"\xa1\x01\x01", {5: bytes(12)}, None, [[b"", {1: -3}, bytes(23)]]]), EncryptionInfoError),
    (_t([b"\xa1\x01\x01", {5: bytes(12)}, None, [[b"", {1: -29}, bytes(24)]]]), EncryptionInfoError),
    (_t([b"\xa1\x01\x01", {5: bytes(12), 2: [1]}, None, [[b"", {1: -3}, bytes(24)]]]), UnsupportedError),
    (_t([b"\xa1\x01\x01", {5: bytes(12)}, None, [[b"", {1: -3}, bytes(24), []]]]), EncryptionInfoError),
])
def test_malformed_encryption_info_is_a_typed_error(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_info(data)


def test_invalid_p256_ephemeral_point_is_a_typed_error() -> None:
    info, _ct, keys = _encrypt(("p256",))
    r = parse_info(info).recipients[0]
    assert r.ephemeral is not None
    forged = info.replace(r.ephemeral.y, bytes(32))
    with pytest.raises(EncryptionInfoError, match="not a valid public key"):
        open_info(forged, keys)


_SEED_INFOS = [_encrypt((k,), a)[0] for k, a in (("x25519", ContentAlg.A128GCM), ("p256", ContentAlg.A128CTR),
                                                  ("a128kw", ContentAlg.CHACHA20_POLY1305))]
_ALL_KEYS = [_keypair(k)[1] for k in RECIPIENT_KINDS]


@settings(max_examples=300, deadline=None)
@given(seed=st.sampled_from(_SEED_INFOS), data=st.data())
def test_mutated_encryption_info_raises_only_typed_errors(seed: bytes, data: st.DataObject) -> None:
    buf = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, max(0, len(buf) - 1)))
        if op == "flip" and buf:
            buf[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del buf[pos:pos + data.draw(st.integers(1, 8))]
        else:
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
    with contextlib.suppress(FwsignError):  # anything else (ValueError, TypeError ...) fails the test
        b"".join(decrypt_chunks(bytes(buf), _ALL_KEYS, [b"\x00" * 40]))
