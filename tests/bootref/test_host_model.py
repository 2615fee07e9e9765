"""The host mode of docs/processing-model.md in bootloader-ref's host port (ports/host/,
`bootref verify` and the in-process verifier of fwsign/device/lib.py): the rules the core
leaves to the host, one test per class of manifest the C host and the Python host verifier
once judged differently, named after it.

The envelopes are built by hand (tests/bootref/_suit.py, independent of fwsign) and run
through the CLI under ASan + UBSan; the in-process verifier is checked where it shares the
rule (both call bootref_host_verify)."""

from __future__ import annotations

from pathlib import Path
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
    signed,
    spec_private_key,
    spec_public_pem,
    suit_digest,
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


# --- G: every integrated payload is named (model section 9) ------------------------------------

def test_unreferenced_integrated_payload_refused_by_the_host(bootref, write):
    m = make_manifest(shared=SHARED, validate=MATCH)
    r = bootref(write("e", signed(m, extra={"#fw": IMAGE})))
    assert_refused(r, "malformed", "BOOTREF_E_STRUCTURE")
    assert "named by no uri" in r.verdict


def test_integrated_payload_named_by_another_uri_refused_by_the_host(bootref, write):
    r = bootref(write("e", signed(fetching("#app"), extra={"#app": IMAGE, "#extra": b"x"})))
    assert_refused(r, "malformed", "BOOTREF_E_STRUCTURE")


@pytest.mark.parametrize("where", ["shared", "try-each option never run", "run-sequence"])
def test_integrated_payload_named_anywhere_in_the_manifest_accepted_by_the_host(bootref, write, where):
    uri = {21: "#fw"}
    if where == "shared":
        m = make_manifest(shared=[20, {**image_params(IMAGE), **uri}, *IDENTITY], validate=MATCH)
    elif where == "try-each option never run":
        options = [cbor2.dumps([3, 15]), cbor2.dumps([20, uri, 3, 15])]
        m = make_manifest(shared=SHARED, validate=[15, options])
    else:
        m = make_manifest(shared=SHARED, validate=[32, cbor2.dumps([20, uri]), *MATCH])
    assert_ok(bootref(write("e", signed(m, extra={"#fw": IMAGE}))))


def test_integrated_payload_named_only_in_a_malformed_parameter_map_refused_by_the_host(bootref, write):
    # the only uri naming "#fw" sits in a parameter map out of canonical order: that map
    # is malformed, so it names nothing, and the payload is refused before any sequence runs
    params = bytes([0xA2]) + cbor2.dumps(21) + cbor2.dumps("#fw") + cbor2.dumps(3) + cbor2.dumps(suit_digest(IMAGE))
    load = bytes([0x82]) + cbor2.dumps(20) + params
    m = make_manifest(shared=SHARED, validate=MATCH, extra={8: load})
    r = bootref(write("e", signed(m, extra={"#fw": IMAGE})))
    assert_refused(r, "malformed", "BOOTREF_E_STRUCTURE")


def test_unreferenced_integrated_payload_judged_after_rollback_by_the_host(bootref, write):
    m = make_manifest(shared=SHARED, validate=MATCH)
    r = bootref(write("e", signed(m, extra={"#fw": IMAGE})), "--min-sequence", "5")
    assert_refused(r, "rollback")


def test_unreferenced_integrated_payload_refused_by_the_ctypes_verifier():
    from fwsign.device import lib

    with lib.HostPort() as host:
        host.add_pem(spec_public_pem())
        code = lib.Verifier(host).check(signed(make_manifest(shared=SHARED, validate=MATCH), extra={"#fw": IMAGE}))
        assert lib.err_name(code) == "BOOTREF_E_STRUCTURE"


# --- I: the integrated payload is component 0's content (model sections 1 and 9) ----------------

def test_integrated_payload_is_component_0s_image_on_the_host(bootref, write):
    r = bootref(write("e", signed(fetching("#fw"), extra={"#fw": IMAGE})))
    assert_ok(r)
    assert "ok           condition image-match (component 0)" in r.out


def test_integrated_payload_that_fails_image_match_refused_by_the_host(bootref, write):
    r = bootref(write("e", signed(fetching("#fw"), extra={"#fw": OTHER})))
    assert_refused(r, "image-mismatch")
    assert "FAILED       condition image-match (component 0)" in r.out


def test_given_image_differing_from_integrated_payload_refused_by_the_host(bootref, write):
    env = write("e", signed(fetching("#fw"), extra={"#fw": IMAGE}))
    assert_ok(bootref(env, write("same.bin", IMAGE)))
    r = bootref(env, write("other.bin", OTHER))
    assert_refused(r, "image-mismatch", "BOOTREF_E_IMAGE_DIGEST")
    assert "differs from the envelope's integrated payload" in r.verdict


def test_integrated_payload_of_a_fetch_never_run_is_not_the_image_on_the_host(bootref, write):
    # the dry run takes try-each's first option; the second option's fetch never runs
    options = [cbor2.dumps([3, 15]), cbor2.dumps([20, {21: "#fw"}, 21, 15, 3, 15])]
    m = make_manifest(shared=SHARED, validate=[15, options])
    r = bootref(write("e", signed(m, extra={"#fw": OTHER})))
    assert_ok(r)
    assert "skipped      condition image-match (component 0)" in r.out


def test_integrated_payload_is_component_0s_image_for_the_ctypes_verifier():
    from fwsign.device import lib

    with lib.HostPort() as host:
        host.add_pem(spec_public_pem())
        v = lib.Verifier(host)
        assert v.check(signed(fetching("#fw"), extra={"#fw": IMAGE})) == 0
        assert lib.reason(v.check(signed(fetching("#fw"), extra={"#fw": OTHER}))) == "image-mismatch"
        # the host forgets the payload after each envelope
        assert v.check(signed(make_manifest(shared=SHARED, validate=MATCH))) == 0


# --- E: an encrypted image without a decryption key (model section 1) ---------------------------

ENC_INFO = cbor2.dumps(cbor2.CBORTag(96, [cbor2.dumps({1: 1}), {5: bytes(12)}, None, []]))


def encrypted(write_cmd: int = 21) -> bytes:
    params = {**image_params(IMAGE), 19: ENC_INFO, 21: "https://example.com/fw.enc"}
    return make_manifest(shared=[20, params, *IDENTITY], validate=[write_cmd, 15, *MATCH])


def test_encrypted_image_without_decryption_key_is_not_checked_by_the_host(bootref, write):
    r = bootref(write("e", signed(encrypted())), write("fw.enc", b"ciphertext, not the image"))
    assert_ok(r)
    assert "skipped      condition image-match (component 0)" in r.out


def test_encrypted_image_without_decryption_key_is_not_checked_by_the_ctypes_verifier(tmp_path: Path):
    from fwsign.device import lib

    (tmp_path / "fw.enc").write_bytes(b"ciphertext, not the image")
    with lib.HostPort() as host:
        host.add_pem(spec_public_pem())
        host.set_image(tmp_path / "fw.enc")
        v = lib.Verifier(host)
        assert v.check(signed(encrypted())) == 0
        # the same image, not encrypted: compared, and it differs
        plain = make_manifest(shared=SHARED, validate=MATCH)
        assert lib.reason(v.check(signed(plain))) == "image-mismatch"


def test_several_encryption_infos_for_component_0_refused_by_the_host(bootref, write):
    other = cbor2.dumps(cbor2.CBORTag(96, [cbor2.dumps({1: 1}), {5: bytes([1]) * 12}, None, []]))
    params = {**image_params(IMAGE), 19: ENC_INFO, 21: "https://example.com/a"}
    m = make_manifest(shared=[20, params, *IDENTITY], validate=[21, 15, 20, {19: other}, 21, 15, *MATCH])
    assert_refused(bootref(write("e", signed(m))), "unsupported")


# --- section 6, host only: an image given must be compared ---------------------------------------

def test_image_given_that_no_condition_compares_refused_by_the_host(bootref, write):
    # validate matches component 1 (no image: skipped, counts as made); component 0's image
    # is never compared, so the host cannot say it checked it
    shared = [20, image_params(IMAGE), *IDENTITY, 12, 1, 20, {3: suit_digest(IMAGE), 14: len(IMAGE)}]
    m = make_manifest(shared=shared, validate=[12, 1, *MATCH], components=2)
    env = write("e", signed(m))
    assert_ok(bootref(env))
    r = bootref(env, write("fw.bin", IMAGE))
    assert_refused(r, "image-mismatch", "BOOTREF_E_IMAGE_DIGEST")
    assert "never compares" in r.verdict
