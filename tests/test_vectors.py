"""The six SUIT specification examples: decode, re-encode byte-identical, verify."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from fwsign import cose
from fwsign.cbor import bstr
from fwsign.keys import make_signer
from fwsign.suit.builder import add_block
from fwsign.suit.codepoints import CoseAlg, ManifestKey
from fwsign.suit.decode import decode_envelope
from fwsign.suit.encode import encode_digest, encode_envelope, encode_manifest
from fwsign.verify import Policy, TrustedKey, verify_envelope

from .conftest import EXAMPLES, vector

ALL_VECTORS = [f"example{n}.signed.hex" for n in EXAMPLES] + [
    f"example{n}.unsigned.hex" for n in EXAMPLES
] + ["example2.signed-severed.hex"]
SIGNED = [f"example{n}.signed.hex" for n in EXAMPLES] + ["example2.signed-severed.hex"]
ARM_VENDOR = uuid.uuid5(uuid.NAMESPACE_DNS, "arm.com").bytes


@pytest.mark.parametrize("name", ALL_VECTORS)
def test_spec_example_round_trips_byte_identical(name: str) -> None:
    data = vector(name)
    env = decode_envelope(data)
    assert encode_envelope(env) == data
    # The model alone (not the kept bytes) re-encodes the manifest exactly.
    assert encode_manifest(env.manifest) == env.manifest_bytes


@pytest.mark.parametrize("name", ALL_VECTORS)
def test_spec_example_digest_covers_bstr_wrapped_manifest(name: str) -> None:
    env = decode_envelope(vector(name))
    wrapped = bstr(env.manifest_bytes)
    # The hashed bytes are exactly the bytes received at envelope key 3 (header included).
    assert bytes([0x03]) + wrapped in vector(name)
    assert hashlib.sha256(wrapped).digest() == env.auth.digest.value


def test_example0_digest_input_starts_as_the_spec_says() -> None:
    env = decode_envelope(vector("example0.signed.hex"))
    wrapped = bstr(env.manifest_bytes)
    assert wrapped[:4] == bytes.fromhex("5871a501") and len(wrapped) == 115


@pytest.mark.parametrize("name", SIGNED)
def test_spec_example_verifies_with_spec_key(name: str, spec_public: TrustedKey) -> None:
    report = verify_envelope(vector(name), Policy(keys=(spec_public,), vendor_id=ARM_VENDOR, min_sequence=0))
    assert report.valid, report.error
    assert [c.name for c in report.checks][:3] == ["structure", "manifest-digest", "signature"]


@pytest.mark.parametrize("n", EXAMPLES)
def test_unsigned_spec_example_is_refused_for_lack_of_signature(n: int, spec_public: TrustedKey) -> None:
    report = verify_envelope(vector(f"example{n}.unsigned.hex"), Policy(keys=(spec_public,)))
    assert report.reason == "no-trusted-key"


def test_example2_full_form_severed_members_match_their_digests(spec_public: TrustedKey) -> None:
    env = decode_envelope(vector("example2.signed.hex"))
    digests = env.manifest.severed_digests()
    assert set(digests) == {ManifestKey.INSTALL, ManifestKey.TEXT}
    for key, d in digests.items():
        member = env.severed_member(key)
        assert member is not None
        assert hashlib.sha256(bstr(member)).digest() == d.value
    report = verify_envelope(vector("example2.signed.hex"), Policy(keys=(spec_public,)))
    sev = next(c for c in report.checks if c.name == "severed-members")
    assert sev.ok and "install matches" in sev.detail and "text matches" in sev.detail


def test_example2_severed_form_verifies_and_reports_absent_members(spec_public: TrustedKey) -> None:
    report = verify_envelope(vector("example2.signed-severed.hex"), Policy(keys=(spec_public,)))
    assert report.valid
    sev = next(c for c in report.checks if c.name == "severed-members")
    assert "install severed (absent)" in sev.detail


def test_example3_each_slot_selects_its_own_image() -> None:
    """A/B (example 3): the try-each on component-slot picks slot A's or slot B's digest by
    the slot the device is in; a host that does not know the slot takes the first option."""
    from fwsign.suit.processor import DeviceModel, Processor, manifest_sequences, observe

    env = decode_envelope(vector("example3.signed.hex"))
    assert [c.size for c in observe(env.manifest).image_candidates(0)] == [34768]
    for slot, size in ((0, 34768), (1, 76834)):
        proc = Processor(env.manifest, DeviceModel(slots=((0, slot),)))
        proc.run(manifest_sequences(env.manifest, {}))
        assert [c.size for c in proc.analysis().image_candidates(0)] == [size]


def test_sign_example0_unsigned_with_spec_key_esp256_is_deterministic(spec_private, spec_public: TrustedKey) -> None:  # type: ignore[no-untyped-def]
    env = decode_envelope(vector("example0.unsigned.hex"))
    signer = make_signer(spec_private, CoseAlg.ESP256, kid=False)
    first = add_block(env, cose.build(signer, encode_digest(env.auth.digest)))
    second = add_block(env, cose.build(signer, encode_digest(env.auth.digest)))
    assert first == second
    report = verify_envelope(first, Policy(keys=(spec_public,)))
    assert report.valid, report.error
    block = decode_envelope(first).auth.blocks[0].message
    assert block.alg == -9 and len(block.tag) == 64
    # Same manifest, same digest: only the authentication block differs from the spec's.
    assert decode_envelope(first).manifest_bytes == decode_envelope(vector("example0.signed.hex")).manifest_bytes
