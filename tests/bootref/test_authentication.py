"""Authentication: signatures and MACs, algorithms, keys (RFC 9124 THREAT.MFST.MODIFICATION)."""

from __future__ import annotations

import os

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ._suit import envelope, envelope_map, example, mac0, manifest_digest, sign1, signed, spec_private_key

EX0_MANIFEST = envelope_map(example("example0.signed"))[3]


def pem(write, key) -> object:
    return write(f"k{id(key)}.pem", key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def test_ed25519_alg_minus19_envelope_verifies(bootref, write):
    key = ed25519.Ed25519PrivateKey.generate()
    r = bootref(write("e", signed(EX0_MANIFEST, key, -19)), keys=[pem(write, key)])
    assert (r.code, r.verdict) == (0, "OK"), r.out
    assert "COSE alg -19" in r.out


def test_eddsa_alg_minus8_envelope_verifies(bootref, write):
    key = ed25519.Ed25519PrivateKey.generate()
    r = bootref(write("e", signed(EX0_MANIFEST, key, -8)), keys=[pem(write, key)])
    assert (r.code, r.verdict) == (0, "OK"), r.out


def test_esp256_alg_minus9_envelope_verifies_with_spec_key(bootref, write):
    r = bootref(write("e", signed(EX0_MANIFEST, alg=-9)))
    assert (r.code, r.verdict) == (0, "OK"), r.out
    assert "COSE alg -9" in r.out


def test_hmac_mac0_envelope_verifies_with_provisioned_key(bootref, write):
    key = os.urandom(32)
    env = envelope(EX0_MANIFEST, [mac0(manifest_digest(EX0_MANIFEST), key)])
    r = bootref("--hmac-key", write("hmac.key", key), write("e", env), keys=[])
    assert (r.code, r.verdict) == (0, "OK"), r.out
    assert "COSE alg 5" in r.out


def test_hmac_with_wrong_key_rejected_as_signature_invalid(bootref, write):
    env = envelope(EX0_MANIFEST, [mac0(manifest_digest(EX0_MANIFEST), os.urandom(32))])
    r = bootref("--hmac-key", write("hmac.key", os.urandom(32)), write("e", env), keys=[])
    assert (r.code, r.reason) == (1, "signature-invalid")


def test_signature_by_untrusted_p256_key_rejected_as_signature_invalid(bootref, write):
    wrong = ec.generate_private_key(ec.SECP256R1())
    r = bootref(write("e", example("example0.signed")), keys=[pem(write, wrong)])
    assert (r.code, r.reason) == (1, "signature-invalid")


def test_p256_block_without_p256_trust_anchor_rejected_as_no_trusted_key(bootref, write):
    other = ed25519.Ed25519PrivateKey.generate()
    r = bootref(write("e", example("example0.signed")), keys=[pem(write, other)])
    assert (r.code, r.reason) == (1, "no-trusted-key")


def test_ed25519_signature_from_other_key_rejected(bootref, write):
    signer, trusted = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    r = bootref(write("e", signed(EX0_MANIFEST, signer, -19)), keys=[pem(write, trusted)])
    assert (r.code, r.reason) == (1, "signature-invalid")


def test_second_trust_anchor_accepts_key_migration(bootref, write):
    old, new = ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate()
    d = manifest_digest(EX0_MANIFEST)
    env = envelope(EX0_MANIFEST, [sign1(d, -7, old), sign1(d, -19, new)])
    assert bootref(write("e", env), keys=[pem(write, new)]).code == 0
    assert bootref(write("e", env), keys=[pem(write, old)]).code == 0


def test_unknown_cose_algorithm_rejected_as_unsupported(bootref, write):
    d = manifest_digest(EX0_MANIFEST)
    blk = sign1(d, -35, spec_private_key(), protected={1: -35})  # ES384 id, not supported here
    r = bootref(write("e", envelope(EX0_MANIFEST, [blk])))
    assert (r.code, r.reason) == (1, "unsupported")


def test_manifest_swapped_under_valid_signature_rejected_as_digest_mismatch(bootref, write):
    # THREAT.MFST.MODIFICATION: keep example 0's authentication wrapper, swap in example 1's manifest.
    env0, env1 = envelope_map(example("example0.signed")), envelope_map(example("example1.signed"))
    env = cbor2.dumps(cbor2.CBORTag(107, {2: env0[2], 3: env1[3]}))
    r = bootref(write("e", env))
    assert (r.code, r.reason) == (1, "digest-mismatch")


def test_digest_forged_to_match_manifest_rejected_as_signature_invalid(bootref, write):
    # Attacker recomputes the digest for a modified manifest but cannot re-sign it.
    env0, env1 = envelope_map(example("example0.signed")), envelope_map(example("example1.signed"))
    blocks = cbor2.loads(env0[2])[1:]
    env = envelope(env1[3], blocks)
    r = bootref(write("e", env))
    assert (r.code, r.reason) == (1, "signature-invalid")


def test_alg_in_unprotected_header_rejected(bootref, write):
    d = manifest_digest(EX0_MANIFEST)
    blk = sign1(d, -7, spec_private_key(), protected={1: -7}, unprotected={1: -7})
    r = bootref(write("e", envelope(EX0_MANIFEST, [blk])))
    assert (r.code, r.reason) == (1, "malformed")


def test_attached_payload_rejected(bootref, write):
    blk = cbor2.loads(cbor2.loads(envelope_map(example("example0.signed"))[2])[1])
    parts = list(blk.value)
    parts[2] = manifest_digest(EX0_MANIFEST)
    r = bootref(write("e", envelope(EX0_MANIFEST, [cbor2.dumps(cbor2.CBORTag(18, parts))])))
    assert (r.code, r.reason) == (1, "malformed")


def test_der_encoded_ecdsa_signature_rejected(bootref, write):
    # COSE carries r||s (RFC 9053 s2.1); a DER signature is a known interop pitfall.
    d = manifest_digest(EX0_MANIFEST)
    prot = cbor2.dumps({1: -7})
    der = spec_private_key().sign(cbor2.dumps(["Signature1", prot, b"", d]), ec.ECDSA(hashes.SHA256()))
    blk = cbor2.dumps(cbor2.CBORTag(18, [prot, {}, None, der]))
    r = bootref(write("e", envelope(EX0_MANIFEST, [blk])))
    assert (r.code, r.reason) == (1, "signature-invalid")
