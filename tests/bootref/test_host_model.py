"""The host mode of docs/processing-model.md in bootloader-ref's host port (ports/host/,
`bootref verify` and the in-process verifier of fwsign/device/lib.py): the rules the core
leaves to the host, one test per class of manifest the C host and the Python host verifier
once judged differently, named after it.

The envelopes are built by hand (tests/bootref/_suit.py, independent of fwsign) and run
through the CLI under ASan + UBSan; the in-process verifier is checked where it shares the
rule (both call bootref_host_verify)."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ._suit import (
    SPEC_CLASS,
    SPEC_VENDOR,
    envelope,
    image_params,
    make_manifest,
    manifest_digest,
    sign1,
    spec_private_key,
    spec_public_pem,
    thumbprint_kid,
)

V, C = SPEC_VENDOR.bytes, SPEC_CLASS.bytes
IMAGE = b"firmware image"
OTHER = b"another firmware"
IDENTITY = [1, 15, 2, 15]
SHARED = [20, image_params(IMAGE), *IDENTITY]
MATCH = [3, 15]


def assert_refused(r: Any, reason: str, code: str | None = None) -> None:
    assert (r.code, r.reason) == (1, reason), r.out + r.err
    if code is not None:
        assert f"[{code}]" in r.verdict, r.verdict


def assert_ok(r: Any) -> None:
    assert r.code == 0, r.out + r.err


def fetching(uri: str, image: bytes = IMAGE) -> bytes:
    """Component 0 fetched from ``uri`` in validate, then matched against ``image``'s digest."""
    return make_manifest(shared=[20, {**image_params(image), 21: uri}, *IDENTITY], validate=[21, 15, *MATCH])


# --- A: trust anchors carry fwsign's key ids (model section 5) ---------------------------------

def _corrupt(block: bytes) -> bytes:
    tag = cbor2.loads(block)
    tag.value[3] = bytes(len(tag.value[3]))
    return bytes(cbor2.dumps(tag))


def test_block_kid_naming_no_trusted_key_is_ignored_by_the_host(bootref, write):
    # another authority's P-256 block, with a kid that names none of our keys: not tried
    # against the trusted P-256 key (it would fail, and a failing named block refuses)
    m = make_manifest(shared=SHARED, validate=MATCH)
    foreign = sign1(manifest_digest(m), -7, ec.generate_private_key(ec.SECP256R1()), protected={1: -7, 4: b"other"})
    good = sign1(manifest_digest(m), -7, spec_private_key())
    assert_ok(bootref(write("e", envelope(m, [foreign, good]))))
    assert_ok(bootref(write("e", envelope(m, [good, foreign]))))
    assert_refused(bootref(write("e", envelope(m, [foreign]))), "no-trusted-key")


def test_foreign_key_block_with_its_own_kid_is_ignored_by_the_host(bootref, write):
    other = ec.generate_private_key(ec.SECP256R1())
    m = make_manifest(shared=SHARED, validate=MATCH)
    foreign = sign1(manifest_digest(m), -7, other, protected={1: -7, 4: thumbprint_kid(other)})
    good = sign1(manifest_digest(m), -7, spec_private_key())
    assert_ok(bootref(write("e", envelope(m, [foreign, good]))))


def test_block_kid_naming_the_trusted_key_is_checked_with_it_by_the_host(bootref, write):
    m = make_manifest(shared=SHARED, validate=MATCH)
    kid = thumbprint_kid(spec_private_key())
    named = sign1(manifest_digest(m), -7, spec_private_key(), protected={1: -7, 4: kid})
    assert_ok(bootref(write("e", envelope(m, [named]))))
    assert_refused(bootref(write("e", envelope(m, [_corrupt(named)]))), "signature-invalid")


def _mac0(digest: bytes, key: bytes, kid: bytes | None) -> bytes:
    import hashlib
    import hmac

    prot = cbor2.dumps({1: 5} if kid is None else {1: 5, 4: kid})
    tag = hmac.new(key, cbor2.dumps(["MAC0", prot, b"", digest]), hashlib.sha256).digest()
    return bytes(cbor2.dumps(cbor2.CBORTag(17, [prot, {}, None, tag])))


@pytest.mark.parametrize("kind", ["ed25519", "hmac"])
def test_trust_anchor_kid_is_fwsigns_key_id_for_every_key_type(bootref, write, tmp_path, kind):
    from fwsign.keys import SymmetricKey, key_id

    m = make_manifest(shared=SHARED, validate=MATCH)
    if kind == "ed25519":
        priv = ed25519.Ed25519PrivateKey.generate()
        anchor = ["--trust", str(write("k.pem", priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)))]
        kid = thumbprint_kid(priv)
        assert kid == key_id(priv)
        block = sign1(manifest_digest(m), -8, priv, protected={1: -8, 4: kid})
    else:
        secret = bytes(range(32))
        anchor = ["--hmac-key", str(write("k.bin", secret))]
        kid = thumbprint_kid(secret)
        assert kid == key_id(SymmetricKey(secret))
        block = _mac0(manifest_digest(m), secret, kid)
    assert_ok(bootref(write("e", envelope(m, [block])), *anchor, keys=[]))
    assert_refused(bootref(write("e", envelope(m, [_corrupt(block)])), *anchor, keys=[]), "signature-invalid")
    if kind == "hmac":  # a block naming another key: ignored
        other = _mac0(manifest_digest(m), secret, b"another")
        assert_refused(bootref(write("e", envelope(m, [other])), *anchor, keys=[]), "no-trusted-key")


def test_trust_anchor_without_kid_through_the_ctypes_host_port(write):
    from fwsign.device import lib

    m = make_manifest(shared=SHARED, validate=MATCH)
    env = envelope(m, [sign1(manifest_digest(m), -7, spec_private_key(), protected={1: -7, 4: b"k1"})])
    with lib.HostPort() as host:
        host.add_pem(spec_public_pem())
        v = lib.Verifier(host)
        assert lib.reason(v.check(env)) == "no-trusted-key"  # k1 names no trusted key
        host.set_kid(0, None)  # a key without kid is tried for any block
        assert v.check(env) == 0
        with pytest.raises(Exception, match="no trust anchor"):
            host.set_kid(1, b"x")
