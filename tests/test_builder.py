"""The manifest builder produces exactly the spec examples' shapes and bytes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fwsign.errors import UsageError
from fwsign.release import load_release
from fwsign.suit.builder import (
    ComponentSpec,
    ImageSpec,
    ManifestSpec,
    assemble_envelope,
    build_manifest,
    class_uuid,
    component_text,
    vendor_uuid,
)
from fwsign.suit.decode import decode_envelope
from fwsign.suit.encode import encode_manifest
from fwsign.suit.model import Digest
from fwsign.verify import Policy, verify_envelope

from .conftest import KEYS, vector

VID = bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")
CID = bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")
DIGEST_A = Digest(-16, bytes.fromhex("00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210"))
DIGEST_B = Digest(-16, bytes.fromhex("0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff"))


def _spec_manifest(n: int) -> bytes:
    return decode_envelope(vector(f"example{n}.signed.hex")).manifest_bytes


def test_vendor_id_derivation_matches_spec_examples() -> None:
    assert vendor_uuid("arm.com") == VID


def test_secure_boot_shape_reproduces_example0() -> None:
    comp = ComponentSpec((b"\x00",), (ImageSpec(DIGEST_A, 34768),), VID, CID, invoke=True)
    manifest, severed = build_manifest(ManifestSpec(0, (comp,)))
    assert encode_manifest(manifest) == _spec_manifest(0)
    assert severed == {}


def test_download_and_install_shape_reproduces_example1() -> None:
    comp = ComponentSpec((b"\x00",), (ImageSpec(DIGEST_A, 34768, uri="http://example.com/file.bin"),), VID, CID,
                         invoke=False)
    manifest, _ = build_manifest(ManifestSpec(1, (comp,)))
    assert encode_manifest(manifest) == _spec_manifest(1)


def test_severed_install_and_text_reproduce_example2() -> None:
    spec_env = decode_envelope(vector("example2.signed.hex"))
    text = spec_env.severed_member(23)
    assert text is not None
    description = (
        "## Example 2: Simultaneous Download, Installation, Secure Boot, Severed Fields\n\n"
        "    This example covers the following templates:\n    \n"
        "    * Compatibility Check ({{template-compatibility-check}})\n"
        "    * Secure Boot ({{template-secure-boot}})\n"
        "    * Firmware Download ({{firmware-download-template}})\n    \n"
        "    This example also demonstrates severable elements ({{ovr-severable}}), "
        "and text ({{manifest-digest-text}})."
    )
    comp = ComponentSpec(
        (b"\x00",), (ImageSpec(DIGEST_A, 34768, uri="http://example.com/very/long/path/to/file/file.bin"),),
        VID, CID, invoke=True,
        text=component_text(
            vendor_domain="arm.com",
            description="This component is a demonstration. The digest is a sample pattern, not a real one.",
        ),
    )
    spec = ManifestSpec(2, (comp,), reference_uri="https://git.io/JJYoj", description=description, sever=True)
    manifest, severed = build_manifest(spec)
    assert encode_manifest(manifest) == spec_env.manifest_bytes
    assert severed == dict(spec_env.severed)


def test_ab_slots_with_try_each_reproduce_example3() -> None:
    comp = ComponentSpec(
        (b"\x00",),
        (
            ImageSpec(DIGEST_A, 34768, slot=0, uri="http://example.com/file1.bin"),
            ImageSpec(DIGEST_B, 76834, slot=1, uri="http://example.com/file2.bin"),
        ),
        VID, CID, invoke=False,
    )
    manifest, _ = build_manifest(ManifestSpec(3, (comp,)))
    assert encode_manifest(manifest) == _spec_manifest(3)


def test_two_components_each_get_identity_and_image_checks() -> None:
    comps = tuple(
        ComponentSpec((bytes([i]),), (ImageSpec(d, 100 + i),), VID, CID, invoke=(i == 0))
        for i, d in enumerate((DIGEST_A, DIGEST_B))
    )
    manifest, _ = build_manifest(ManifestSpec(5, comps))
    data = assemble_envelope(manifest, [KEYS["ed25519"].signer()])
    report = verify_envelope(data, Policy(keys=(KEYS["ed25519"].trusted,), vendor_id=VID, class_id=CID))
    assert report.valid, report.error
    from fwsign.suit.processor import observe as analyze

    a = analyze(decode_envelope(data).manifest)
    assert [c.size for c in a.image_candidates(0)] == [100]
    assert [c.size for c in a.image_candidates(1)] == [101]


def test_component_with_two_images_needs_distinct_slots() -> None:
    with pytest.raises(UsageError):
        ComponentSpec((b"\x00",), (ImageSpec(DIGEST_A, 1), ImageSpec(DIGEST_B, 2)), VID, CID)


def test_release_file_builds_multi_component_manifest(tmp_path: Path) -> None:
    (tmp_path / "app.bin").write_bytes(b"A" * 1000)
    (tmp_path / "radio.bin").write_bytes(b"R" * 500)
    (tmp_path / "release.toml").write_text(
        'sequence = 9\nvendor-domain = "example.com"\nclass-name = "pump"\ndescription = "Release 9"\n'
        '[[component]]\nname = "app"\nid = ["00"]\nfile = "app.bin"\nuri = "https://fw.example.com/app.bin"\n'
        'version = "9.0.0"\n'
        '[[component]]\nname = "radio"\nid = ["01"]\nfile = "radio.bin"\nembed = true\nclass-name = "pump-radio"\n'
    )
    spec = load_release(tmp_path / "release.toml")
    assert spec.sequence_number == 9 and len(spec.components) == 2
    assert spec.components[1].class_id == class_uuid(vendor_uuid("example.com"), "pump-radio")
    assert spec.components[0].invoke and not spec.components[1].invoke
    assert dict(spec.payloads)["#radio"] == b"R" * 500


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("sequence = 1\n", "vendor-domain or vendor-id is required"),
        ('sequence = -1\nvendor-domain = "a.com"\nclass-name = "x"\n', "non-negative"),
        ('sequence = 1\nvendor-domain = "a.com"\nclass-name = "x"\n', "at least one [[component]]"),
        ('sequence = 1\nvendor-domain = "a.com"\nclass-name = "x"\nbogus = 1\n', "unknown key"),
        ('sequence = 1\nvendor-domain = "a.com"\nclass-name = "x"\n[[component]]\nfile = "missing.bin"\n', "cannot read"),
        ('sequence = 1\nvendor-id = "not-a-uuid"\nclass-name = "x"\n', "bad UUID"),
        ("sequence = [", "not valid TOML"),
    ],
)
def test_bad_release_file_is_rejected_with_a_clear_message(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "release.toml"
    path.write_text(body)
    with pytest.raises(UsageError, match=re.escape(message)):
        load_release(path)


def test_identity_is_checked_on_the_verified_component_of_a_multi_class_release() -> None:
    radio_class = class_uuid(VID, "radio")
    comps = (
        ComponentSpec((b"\x00",), (ImageSpec(DIGEST_A, 1),), VID, CID),
        ComponentSpec((b"\x01",), (ImageSpec(DIGEST_B, 2),), VID, radio_class, invoke=False),
    )
    manifest, _ = build_manifest(ManifestSpec(1, comps))
    data = assemble_envelope(manifest, [KEYS["ed25519"].signer()])
    trusted = (KEYS["ed25519"].trusted,)
    assert verify_envelope(data, Policy(keys=trusted, class_id=CID, component=0)).valid
    assert verify_envelope(data, Policy(keys=trusted, class_id=radio_class, component=1)).valid
    assert verify_envelope(data, Policy(keys=trusted, class_id=radio_class, component=0)).reason == "class-mismatch"
