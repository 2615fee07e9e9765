"""Signing and verification: round trips, cross-checks, and the attacks a verifier must stop.

Attack tests are named after the RFC 9124 threat they demonstrate (THREAT.*).
"""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fwsign import cbor, cose
from fwsign.errors import FwsignError
from fwsign.keys import make_signer
from fwsign.limits import DEFAULT_LIMITS, Limits
from fwsign.suit.builder import (
    ComponentSpec,
    ImageSpec,
    ManifestSpec,
    add_block,
    assemble_envelope,
    build_manifest,
    class_uuid,
    manifest_digest,
    vendor_uuid,
)
from fwsign.suit.codepoints import CoseAlg
from fwsign.suit.decode import decode_cose, decode_envelope
from fwsign.suit.encode import encode_digest, encode_envelope
from fwsign.suit.model import AuthBlock, AuthWrapper, Digest, Envelope
from fwsign.verify import Policy, TrustedKey, verify_envelope, verify_or_raise

from .conftest import KEYS, FixtureKey

VID = vendor_uuid("example.com")
CID = class_uuid(VID, "pump-v3")
IMAGE = bytes(range(256)) * 40  # 10 KiB, deterministic


def _envelope(signers: list, *, image: bytes = IMAGE, seq: int = 7, sever: bool = False,  # type: ignore[type-arg]
              uri: str | None = None, description: str | None = None) -> bytes:
    digest = Digest(-16, hashlib.sha256(image).digest())
    comp = ComponentSpec((b"\x00",), (ImageSpec(digest, len(image), uri=uri),), VID, CID)
    manifest, severed = build_manifest(ManifestSpec(seq, (comp,), sever=sever, description=description))
    return assemble_envelope(manifest, signers, severed=severed)


def _policy(*keys: FixtureKey, **kw: object) -> Policy:
    return Policy(keys=tuple(k.trusted for k in keys), **kw)  # type: ignore[arg-type]


ALG_CASES = [
    ("ed25519", CoseAlg.ED25519), ("ed25519", CoseAlg.EDDSA),
    ("p256", CoseAlg.ESP256), ("p256", CoseAlg.ES256),
    ("p384", CoseAlg.ESP384), ("p384", CoseAlg.ES384),
    ("hmac", CoseAlg.HMAC_256_256),
]


@pytest.mark.parametrize(("kind", "alg"), ALG_CASES)
def test_sign_verify_round_trip_every_algorithm(kind: str, alg: int) -> None:
    data = _envelope([KEYS[kind].signer(alg)])
    report = verify_envelope(data, _policy(KEYS[kind], vendor_id=VID, class_id=CID, min_sequence=7), IMAGE)
    assert report.valid, report.error
    assert decode_envelope(data).auth.blocks[0].message.alg == alg


@pytest.mark.parametrize("kind", ["p256", "p384", "ed25519", "hmac"])
def test_signing_is_deterministic(kind: str) -> None:
    assert _envelope([KEYS[kind].signer()]) == _envelope([KEYS[kind].signer()])


def test_default_algorithms_are_fully_specified() -> None:
    assert KEYS["p256"].signer().alg == CoseAlg.ESP256
    assert KEYS["ed25519"].signer().alg == CoseAlg.ED25519


# -- cross-check with an independent COSE implementation (python-cwt) -------------------

_CWT_ALG = {
    CoseAlg.ES256: "ES256", CoseAlg.ESP256: "ESP256", CoseAlg.ES384: "ES384", CoseAlg.ESP384: "ESP384",
    CoseAlg.EDDSA: "EdDSA", CoseAlg.ED25519: "Ed25519",
}


def _cwt_key(key: FixtureKey, alg: int, private: bool = False):  # type: ignore[no-untyped-def]
    from cwt import COSEKey

    from fwsign.keys import private_pem, public_pem

    if key.kind == "hmac":
        return COSEKey.from_symmetric_key(key.private.secret, alg="HS256", kid=key.trusted.kid)  # type: ignore[attr-defined]
    pem = private_pem(key.private) if private else public_pem(key.trusted.key)  # type: ignore[arg-type]
    return COSEKey.from_pem(pem, alg=_CWT_ALG[alg], kid=key.trusted.kid)


@pytest.mark.parametrize(("kind", "alg"), [c for c in ALG_CASES if c[0] != "hmac"])
def test_independent_cose_library_verifies_our_sign1(kind: str, alg: int) -> None:
    from cwt import COSE

    env = decode_envelope(_envelope([KEYS[kind].signer(alg)]))
    payload = encode_digest(env.auth.digest)
    assert COSE.new().decode(env.auth.blocks[0].raw, _cwt_key(KEYS[kind], alg), detached_payload=payload) == payload


def test_independent_cose_library_verifies_our_mac0() -> None:
    from cwt import COSE

    env = decode_envelope(_envelope([KEYS["hmac"].signer()]))
    payload = encode_digest(env.auth.digest)
    assert COSE.new().decode(env.auth.blocks[0].raw, _cwt_key(KEYS["hmac"], 5), detached_payload=payload) == payload


@pytest.mark.parametrize(("kind", "alg"), [("p256", CoseAlg.ES256), ("ed25519", CoseAlg.EDDSA), ("p384", CoseAlg.ES384)])
def test_we_verify_sign1_made_by_independent_library(kind: str, alg: int) -> None:
    from cwt import COSE

    unsigned = decode_envelope(_envelope([]))
    payload = encode_digest(unsigned.auth.digest)
    made = COSE.new(alg_auto_inclusion=True).encode(payload, _cwt_key(KEYS[kind], alg, private=True))
    tagged = cbor.loads(made)
    assert isinstance(tagged, cbor.Tag) and tagged.tag == 18 and isinstance(tagged.value, tuple)
    protected, unprotected, _, signature = tagged.value
    # The signature covers the same Sig_structure whether the payload travels or not.
    detached = cbor.dumps(cbor.Tag(18, (protected, unprotected, None, signature)))
    assert verify_envelope(add_block(unsigned, detached), _policy(KEYS[kind])).valid


# -- k of n ---------------------------------------------------------------------------


def test_two_of_two_signatures_accepted() -> None:
    data = _envelope([KEYS["ed25519"].signer(), KEYS["p256"].signer()])
    assert verify_envelope(data, _policy(KEYS["ed25519"], KEYS["p256"], threshold=2)).valid


def test_key_compromise_one_signature_below_threshold_rejected() -> None:
    data = _envelope([KEYS["ed25519"].signer()])
    report = verify_envelope(data, _policy(KEYS["ed25519"], KEYS["p256"], threshold=2))
    assert report.reason == "no-trusted-key"


def test_signature_by_unknown_key_is_ignored_but_not_counted() -> None:
    data = _envelope([KEYS["p384"].signer(), KEYS["ed25519"].signer()])
    assert verify_envelope(data, _policy(KEYS["ed25519"])).valid
    assert verify_envelope(_envelope([KEYS["p384"].signer()]), _policy(KEYS["ed25519"])).reason == "no-trusted-key"


# -- threats ------------------------------------------------------------------------------


def _mutate_manifest(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


def test_THREAT_MFST_MODIFICATION_changed_manifest_fails_digest() -> None:
    data = _envelope([KEYS["ed25519"].signer()], seq=7)
    env = decode_envelope(data)
    tampered = bytearray(data)
    idx = data.index(env.manifest_bytes) + len(env.manifest_bytes) - 1
    tampered[idx] ^= 0x01
    report = verify_envelope(bytes(tampered), _policy(KEYS["ed25519"]))
    assert report.reason in ("digest-mismatch", "malformed", "unsupported")


def test_THREAT_MFST_MODIFICATION_recomputed_digest_fails_signature() -> None:
    # An attacker rewrites the manifest (higher sequence) and fixes up the digest, but
    # cannot re-sign: the signature over the old digest must not verify.
    signed = decode_envelope(_envelope([KEYS["p256"].signer()], seq=7))
    other = decode_envelope(_envelope([], seq=99))
    forged = Envelope(
        auth=type(signed.auth)(other.auth.digest, signed.auth.blocks),
        manifest=other.manifest, manifest_bytes=other.manifest_bytes, tagged=True,
    )
    report = verify_envelope(encode_envelope(forged), _policy(KEYS["p256"]))
    assert report.reason == "signature-invalid"
    assert any(c.name == "manifest-digest" and c.ok for c in report.checks)


def test_tampered_signature_rejected() -> None:
    data = bytearray(_envelope([KEYS["ed25519"].signer()]))
    sig = decode_envelope(bytes(data)).auth.blocks[0].message.tag
    i = bytes(data).index(sig)
    data[i + 10] ^= 0x80
    assert verify_envelope(bytes(data), _policy(KEYS["ed25519"])).reason == "signature-invalid"


@pytest.mark.parametrize("bulk", [True, False], ids=["libsodium", "openssl"])
@pytest.mark.parametrize("alg", [CoseAlg.ED25519, CoseAlg.EDDSA])
def test_both_ed25519_verifiers_accept_valid_and_refuse_tampered_signatures(bulk: bool, alg: int) -> None:
    key = KEYS["ed25519"]
    policy = Policy(keys=(TrustedKey.of(key.trusted.key, bulk=bulk),))
    data = bytearray(_envelope([key.signer(alg)]))
    assert verify_envelope(bytes(data), policy).valid
    sig = decode_envelope(bytes(data)).auth.blocks[0].message.tag
    i = bytes(data).index(sig)
    data[i + 40] ^= 0x01
    assert verify_envelope(bytes(data), policy).reason == "signature-invalid"


def test_wrong_key_of_same_algorithm_without_kid_rejected_as_signature_invalid() -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from fwsign.keys import public_of

    data = _envelope([KEYS["ed25519"].signer(kid=False)])
    other = TrustedKey.of(public_of(ed25519.Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)), "other")
    assert verify_envelope(data, Policy(keys=(other,))).reason == "signature-invalid"


def test_wrong_key_with_kid_is_not_trusted() -> None:
    data = _envelope([KEYS["ed25519"].signer()])
    assert verify_envelope(data, _policy(KEYS["p256"])).reason == "no-trusted-key"


def test_THREAT_IMG_INCOMPATIBLE_wrong_vendor_rejected() -> None:
    data = _envelope([KEYS["ed25519"].signer()])
    report = verify_envelope(data, _policy(KEYS["ed25519"], vendor_id=vendor_uuid("evil.example")))
    assert report.reason == "vendor-mismatch"


def test_THREAT_IMG_INCOMPATIBLE_wrong_class_rejected() -> None:
    data = _envelope([KEYS["ed25519"].signer()])
    report = verify_envelope(data, _policy(KEYS["ed25519"], class_id=class_uuid(VID, "other-device")))
    assert report.reason == "class-mismatch"


def test_THREAT_UPD_ROLLBACK_lower_sequence_rejected() -> None:
    data = _envelope([KEYS["ed25519"].signer()], seq=7)
    assert verify_envelope(data, _policy(KEYS["ed25519"], min_sequence=8)).reason == "rollback"
    assert verify_envelope(data, _policy(KEYS["ed25519"], min_sequence=7)).valid


def test_THREAT_IMG_REPLACE_modified_image_rejected() -> None:
    data = _envelope([KEYS["ed25519"].signer()])
    bad = bytearray(IMAGE)
    bad[5000] ^= 1
    assert verify_envelope(data, _policy(KEYS["ed25519"]), bytes(bad)).reason == "image-mismatch"


def test_THREAT_IMG_NON_AUTH_truncated_image_rejected() -> None:
    data = _envelope([KEYS["ed25519"].signer()])
    report = verify_envelope(data, _policy(KEYS["ed25519"]), IMAGE[:-1])
    assert report.reason == "image-mismatch" and "bytes" in str(report.error)


def test_image_streamed_in_chunks_verifies() -> None:
    data = _envelope([KEYS["ed25519"].signer()])
    chunks = (IMAGE[i : i + 1000] for i in range(0, len(IMAGE), 1000))
    assert verify_envelope(data, _policy(KEYS["ed25519"]), chunks).valid


def test_THREAT_MFST_OVERRUN_oversized_envelope_rejected_before_parsing() -> None:
    data = _envelope([KEYS["ed25519"].signer()])
    report = verify_envelope(data, _policy(KEYS["ed25519"], limits=Limits(max_envelope_bytes=100)))
    assert report.reason == "limit-exceeded"


def test_THREAT_MFST_OVERRUN_deep_nesting_rejected() -> None:
    nested = b"\x81" * 100 + b"\x00"
    data = cbor.dumps_tagged(107, {2: cbor.dumps([cbor.RawCBOR(nested)]), 3: b"\xa0"})
    assert verify_envelope(data, _policy(KEYS["ed25519"])).reason == "limit-exceeded"


def test_duplicate_keys_rejected() -> None:
    data = _envelope([KEYS["ed25519"].signer()])
    # Re-encode the envelope map with the manifest key twice (same value).
    env = decode_envelope(data)
    auth = cbor.bstr(cbor.dumps([encode_digest(env.auth.digest), *[b.raw for b in env.auth.blocks]]))
    man = cbor.bstr(env.manifest_bytes)
    dup = bytes.fromhex("d86ba3") + b"\x02" + auth + b"\x03" + man + b"\x03" + man
    assert verify_envelope(dup, _policy(KEYS["ed25519"])).reason == "malformed"


def test_trailing_bytes_rejected() -> None:
    data = _envelope([KEYS["ed25519"].signer()]) + b"\x00"
    report = verify_envelope(data, _policy(KEYS["ed25519"]))
    assert report.reason == "malformed" and "trailing" in str(report.error)


def test_severed_member_tampered_rejected() -> None:
    data = _envelope([KEYS["ed25519"].signer()], sever=True, uri="https://fw.example.com/a.bin")
    tampered = _mutate_manifest(data, b"https://fw.example.com/a.bin", b"https://ev.example.com/a.bin")
    assert verify_envelope(tampered, _policy(KEYS["ed25519"])).reason == "severed-digest-mismatch"


def test_unknown_critical_manifest_member_rejected() -> None:
    signed = decode_envelope(_envelope([]))
    manifest = cbor.loads(signed.manifest_bytes)
    assert isinstance(manifest, cbor.FrozenMap)
    extended = cbor.dumps({**manifest, 99: 1})
    forged = Envelope(auth=signed.auth, manifest=signed.manifest, manifest_bytes=extended)
    # Unsigned, the manifest is not parsed at all: its digest no longer matches.
    assert verify_envelope(encode_envelope(forged), _policy(KEYS["ed25519"])).reason == "digest-mismatch"
    # Correctly signed, the unknown member is refused once the manifest is authenticated.
    digest = manifest_digest(extended)
    block = cose.build(KEYS["ed25519"].signer(), encode_digest(digest))
    auth = AuthWrapper(digest, (AuthBlock(decode_cose(block, DEFAULT_LIMITS, "block"), block),))
    signed_ext = Envelope(auth=auth, manifest=signed.manifest, manifest_bytes=extended)
    report = verify_envelope(encode_envelope(signed_ext), _policy(KEYS["ed25519"]))
    assert report.reason == "unsupported" and "99" in str(report.error)


def test_algorithm_substitution_hmac_tag_for_signature_rejected() -> None:
    # A COSE_Sign1 claiming HMAC (or a Mac0 claiming a signature algorithm) is refused.
    unsigned = decode_envelope(_envelope([]))
    protected = cose.protected_header(CoseAlg.HMAC_256_256, KEYS["hmac"].trusted.kid)
    tbs = cose.to_be_signed(18, protected, encode_digest(unsigned.auth.digest))
    tag = make_signer(KEYS["hmac"].private).sign(tbs)  # type: ignore[arg-type]
    data = add_block(unsigned, cose.assemble(18, protected, tag))
    assert verify_envelope(data, _policy(KEYS["hmac"])).reason == "signature-invalid"


def test_raising_form_fails_closed() -> None:
    data = _envelope([KEYS["ed25519"].signer()], seq=3)
    with pytest.raises(FwsignError) as info:
        verify_or_raise(data, _policy(KEYS["ed25519"], min_sequence=4))
    assert info.value.reason == "rollback"


# -- mutation and fuzz ----------------------------------------------------------------------


def test_every_single_byte_mutation_is_rejected() -> None:
    """Exhaustive: every position, every other byte value. None may verify."""
    data = _envelope([KEYS["ed25519"].signer()])
    policy = _policy(KEYS["ed25519"])
    accepted = []
    for i in range(len(data)):
        original = data[i]
        buf = bytearray(data)
        for value in range(256):
            if value == original:
                continue
            buf[i] = value
            if verify_envelope(bytes(buf), policy).valid:
                accepted.append((i, value))
    assert accepted == []


def test_every_truncation_is_rejected() -> None:
    data = _envelope([KEYS["p256"].signer()])
    policy = _policy(KEYS["p256"])
    for n in range(len(data)):
        assert not verify_envelope(data[:n], policy).valid


_VALID = _envelope([KEYS["ed25519"].signer()], sever=True, uri="https://fw.example.com/x.bin", description="d")


@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255), st.sampled_from("rid")),
                min_size=1, max_size=8))
def test_random_mutations_of_a_valid_envelope_raise_only_typed_errors(edits: list[tuple[int, int, str]]) -> None:
    buf = bytearray(_VALID)
    for pos, value, op in edits:
        pos = min(pos, len(buf) - 1)
        if op == "r":
            buf[pos] = value
        elif op == "i":
            buf.insert(pos, value)
        elif len(buf) > 1:
            del buf[pos]
    report = verify_envelope(bytes(buf), _policy(KEYS["ed25519"]))
    if bytes(buf) != _VALID:
        assert not report.valid or decode_envelope(bytes(buf)).manifest_bytes == decode_envelope(_VALID).manifest_bytes
    with contextlib.suppress(FwsignError):
        decode_envelope(bytes(buf))


@given(st.binary(max_size=600))
def test_random_bytes_never_crash_the_verifier(data: bytes) -> None:
    report = verify_envelope(data, _policy(KEYS["ed25519"]))
    assert not report.valid and report.reason is not None
