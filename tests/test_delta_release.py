"""Delta releases end to end: signed with the patch authenticated (digest, size), the
source checked before anything is written and the result before the slot is marked
bootable; installed by bootloader-ref's boot flow on the simulated device and checked by
``fwsign verify --delta-source``. The pair is the real Cortex-M4 one (tests/vectors/delta)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fwsign.cli.main import run as main
from fwsign.delta import make_patch
from fwsign.delta.release import delta_image
from fwsign.device import Device, DeviceConfig, Geometry, new_device
from fwsign.errors import FwsignError
from fwsign.keys import private_pem, public_pem
from fwsign.suit.builder import ComponentSpec, ImageSpec, ManifestSpec, assemble_envelope, build_manifest
from fwsign.suit.ids import class_uuid, vendor_uuid
from fwsign.suit.model import ComponentId, Digest
from fwsign.verify import Policy, verify_envelope

from .conftest import KEYS

VID = vendor_uuid("example.com")
CID = class_uuid(VID, "delta")
PAIR = Path(__file__).parent / "vectors" / "delta"
OLD, NEW = (PAIR / "OLD.bin").read_bytes(), (PAIR / "NEW.bin").read_bytes()
#: another build, as a device running something else (or a third release) would hold
OTHER = bytes(b ^ 0x5A if i % 61 == 0 else b for i, b in enumerate(NEW))
GEOMETRY = Geometry(sector_size=1024, write_size=8, slot_sectors=16)


def _digest(data: bytes) -> Digest:
    return Digest(-16, hashlib.sha256(data).digest())


def envelope(img: ImageSpec, seq: int) -> bytes:
    manifest, severed = build_manifest(ManifestSpec(seq, (ComponentSpec(ComponentId((b"\x00",)), (img,), VID, CID),)))
    return assemble_envelope(manifest, [KEYS["p256"].signer()], severed=severed)


def full(image: bytes, seq: int) -> bytes:
    return envelope(ImageSpec(_digest(image), len(image), uri="https://fw.example.com/full.bin"), seq)


def delta(old: bytes, new: bytes, seq: int, patch: bytes | None = None) -> tuple[bytes, bytes]:
    img, p = delta_image(old, new, "https://fw.example.com/patch.fwd1", patch=patch)
    return envelope(img, seq), p


@pytest.fixture
def device(tmp_path: Path) -> Device:
    (tmp_path / "anchor0.pem").write_bytes(public_pem(KEYS["p256"].trusted.key))
    dev = new_device(DeviceConfig(VID, CID, None, GEOMETRY, ("anchor0.pem",)), tmp_path)
    dev.install(full(OLD, 1), OLD)
    out = dev.boot()
    assert (out.sequence, out.image_digest) == (1, hashlib.sha256(OLD).hexdigest())
    return dev


def policy() -> Policy:
    return Policy(keys=(KEYS["p256"].trusted,), vendor_id=VID, class_id=CID)


def test_patched_install_boots_the_new_image(device: Device) -> None:
    env, patch = delta(OLD, NEW, 2)
    assert len(patch) < len(NEW) // 10
    device.install(env, patch)
    out = device.boot()
    assert (out.sequence, out.image_digest, out.confirmed) == (2, hashlib.sha256(NEW).hexdigest(), True)
    assert device.image(out.slot, len(NEW)) == NEW


def refused_and_still_running(device: Device, env: bytes, payload: bytes, reason: str) -> None:
    target = device.install_target()
    with pytest.raises(FwsignError) as exc:
        device.install(env, payload)
    assert exc.value.reason == reason
    assert device.slots()[target].state == "empty"  # never marked bootable
    out = device.boot()
    assert (out.sequence, out.image_digest) == (1, hashlib.sha256(OLD).hexdigest())


def test_wrong_source_image_is_refused_before_anything_is_written(device: Device) -> None:
    """A patch for an image the device does not run: the source's image-match fails."""
    env, patch = delta(OTHER, NEW, 2)
    ops = device.flash.ops
    refused_and_still_running(device, env, patch, "image-mismatch")
    # the target's trailer and envelope area are written before the install sequence runs;
    # no image-area byte is: the refusal comes before the fetch
    assert device.flash.ops - ops < 2 + GEOMETRY.slot_sectors


def test_truncated_patch_is_refused(device: Device) -> None:
    env, patch = delta(OLD, NEW, 2)
    refused_and_still_running(device, env, patch[:-7], "patch-invalid")


def test_patch_for_another_release_is_refused(device: Device) -> None:
    """The patch of another release (same source, other result) is not the one the
    manifest's delta-info names."""
    env, _ = delta(OLD, NEW, 2)
    refused_and_still_running(device, env, make_patch(OLD, OTHER), "patch-invalid")


def test_result_digest_mismatch_is_refused_before_the_slot_is_bootable(device: Device) -> None:
    """A correctly signed manifest whose patch makes something else than its image-digest:
    validate's image-match fails after the apply, before the image record."""
    env, patch = delta(OLD, NEW, 2, patch=make_patch(OLD, OTHER))
    refused_and_still_running(device, env, patch, "image-mismatch")


def test_host_verify_applies_and_checks_the_patch() -> None:
    env, patch = delta(OLD, NEW, 2)
    ok = verify_envelope(env, policy(), patch, delta_source=OLD)
    assert ok.error is None
    assert [c.ok for c in ok.checks if c.name == "image"] == [True]
    skipped = verify_envelope(env, policy(), patch)
    assert skipped.error is None and [c.ok for c in skipped.checks if c.name == "image"] == [None]
    assert verify_envelope(env, policy(), patch, delta_source=OTHER).reason == "image-mismatch"
    assert verify_envelope(env, policy(), patch[:-1], delta_source=OLD).reason == "patch-invalid"
    assert verify_envelope(env, policy(), make_patch(OLD, OTHER), delta_source=OLD).reason == "patch-invalid"
    bad, bad_patch = delta(OLD, NEW, 2, patch=make_patch(OLD, OTHER))
    assert verify_envelope(bad, policy(), bad_patch, delta_source=OLD).reason == "image-mismatch"


def test_cli_sign_delta_from_and_verify_delta_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "k.pem"
    key.write_bytes(private_pem(KEYS["p256"].private))  # type: ignore[arg-type]
    pub = tmp_path / "k.pub"
    pub.write_bytes(public_pem(KEYS["p256"].trusted.key))
    (tmp_path / "old.bin").write_bytes(OLD)
    (tmp_path / "new.bin").write_bytes(NEW)
    out = tmp_path / "v2.suit"
    assert main(["sign", str(tmp_path / "new.bin"), "--delta-from", str(tmp_path / "old.bin"), "-k", str(key),
                 "--vendor-domain", "example.com", "--class-name", "delta", "--sequence", "2",
                 "--uri", "https://fw.example.com/v2.fwd1", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    patch = Path(summary["patch"]["path"])
    assert patch == tmp_path / "v2.suit.fwd1" and summary["patch"]["bytes"] == patch.stat().st_size
    args = ["verify", str(out), "-k", str(pub), "--image", str(patch), "--json"]
    assert main([*args, "--delta-source", str(tmp_path / "old.bin")]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True
    assert main([*args, "--delta-source", str(tmp_path / "new.bin")]) == 1  # wrong source
    assert json.loads(capsys.readouterr().out)["reason"] == "image-mismatch"


def test_cli_refuses_delta_without_uri_or_with_encryption(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_bytes(private_pem(KEYS["p256"].private))  # type: ignore[arg-type]
    (tmp_path / "old.bin").write_bytes(OLD)
    (tmp_path / "new.bin").write_bytes(NEW)
    base = ["sign", str(tmp_path / "new.bin"), "--delta-from", str(tmp_path / "old.bin"), "-k", str(key),
            "--vendor-domain", "example.com", "--class-name", "delta", "--sequence", "2", "-o", str(tmp_path / "e")]
    assert main(base) == 2
    assert not (tmp_path / "e").exists()
