"""RFC 9124 section 4.2 threats a device can counter, each shown on the simulated device:
the device refuses (at install or at the next boot) and keeps booting its current image.

Every test starts from a device running version 1 (confirmed, counter 1) and ends by
powering it on: version 1 must start, unchanged, and the counter must not have moved.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import replace

import pytest

from fwsign.device import Counter, Device, DeviceConfig, Geometry, new_device, sample
from fwsign.errors import FwsignError
from fwsign.keys import public_pem
from fwsign.suit.builder import assemble_envelope, build_manifest
from fwsign.suit.decode import decode_envelope
from fwsign.suit.ids import class_uuid, vendor_uuid

from .conftest import KEYS

VID = vendor_uuid("example.com")
CID = class_uuid(VID, "threats")
GEOMETRY = Geometry(sector_size=1024, write_size=8, slot_sectors=12)
FW1 = sample.firmware(1, 1800)
FW2 = sample.firmware(2, 2100)
URI = "https://fw.example.com/v2.bin"


def signed(image: bytes, seq: int, *, key: str = "p256", vid: bytes = VID, cid: bytes = CID, uri: str | None = URI,
           **kw: object) -> bytes:
    return sample.envelope(image, seq, [KEYS[key].signer()], vid, cid, uri=uri, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Device:
    d = tmp_path_factory.mktemp("trust")
    (d / "anchor0.pem").write_bytes(public_pem(KEYS["p256"].trusted.key))
    dev = new_device(DeviceConfig(VID, CID, None, GEOMETRY, ("anchor0.pem",)), d)
    dev.install(signed(FW1, 1), FW1)
    assert dev.boot().confirmed
    return dev


@pytest.fixture
def dev(base: Device) -> Device:
    return replace(base, flash=base.flash.snapshot(), counter=Counter(base.counter.value))


def refused(dev: Device, envelope: bytes, payload: bytes | None, reason: str | set[str],
            payloads: dict[str, bytes] | None = None) -> None:
    with pytest.raises(FwsignError) as exc:
        dev.install(envelope, payload, payloads)
    want = {reason} if isinstance(reason, str) else reason
    assert exc.value.reason in want, exc.value.describe()


def keeps_running_v1(dev: Device) -> None:
    out = dev.boot()
    assert (out.sequence, out.trial, out.confirmed) == (1, False, True)
    assert out.image_digest == hashlib.sha256(FW1).hexdigest()
    assert dev.counter.value == 1
    assert dev.flash.violations == []


def slot_image_addr(dev: Device, slot: int) -> int:
    g = dev.config.geometry
    return slot * g.slot_size + g.env_sectors * g.sector_size


def test_threat_img_expired_rollback(dev: Device) -> None:
    """THREAT.IMG.EXPIRED: an old, correctly signed release is offered again."""
    refused(dev, signed(FW1, 1), FW1, "rollback")
    refused(dev, signed(FW2, 0), FW2, "rollback")
    keeps_running_v1(dev)


def test_threat_img_expired_old_image_never_boots_after_counter_moved(dev: Device) -> None:
    """THREAT.IMG.EXPIRED at boot: once v2 is confirmed the counter makes v1 unbootable,
    even if v2 is later destroyed: the device refuses rather than run the old image."""
    dev.install(signed(FW2, 2), FW2)
    assert dev.boot().sequence == 2 and dev.counter.value == 2
    addr = slot_image_addr(dev, 1)
    dev.flash.data[addr] ^= 0xFF  # v2 damaged in flash
    with pytest.raises(FwsignError) as exc:
        dev.boot()
    assert exc.value.reason == "no-bootable-image"
    assert dev.counter.value == 2


def test_threat_img_incompatible(dev: Device) -> None:
    """THREAT.IMG.INCOMPATIBLE: firmware signed for another device class or vendor."""
    refused(dev, signed(FW2, 2, cid=class_uuid(VID, "other-class")), FW2, "class-mismatch")
    refused(dev, signed(FW2, 2, vid=vendor_uuid("other.example")), FW2, "vendor-mismatch")
    keeps_running_v1(dev)


def test_threat_img_format(dev: Device) -> None:
    """THREAT.IMG.FORMAT: the payload arrives in another format than the manifest describes."""
    refused(dev, signed(FW2, 2), gzip.compress(FW2, mtime=0), "image-mismatch")
    refused(dev, signed(FW2, 2), FW2.hex().encode(), "image-mismatch")
    keeps_running_v1(dev)


def test_threat_img_location(dev: Device) -> None:
    """THREAT.IMG.LOCATION: an A/B release whose images are linked per slot; the device is
    handed the image built for the other slot than the one it installs into."""
    img = [sample.firmware(20, 1600), sample.firmware(21, 1700)]
    env = signed(b"", 2, slot_images=img)
    wrong = {f"{URI}#slot0": img[1], f"{URI}#slot1": img[0]}
    refused(dev, env, None, "image-mismatch", wrong)
    keeps_running_v1(dev)
    # control: the right image for the slot installs and boots
    right = {f"{URI}#slot0": img[0], f"{URI}#slot1": img[1]}
    assert dev.install(env, None, right) == 1
    assert dev.boot().image_digest == hashlib.sha256(img[1]).hexdigest()


def test_threat_net_onpath(dev: Device) -> None:
    """THREAT.NET.ONPATH: the payload is modified in transit."""
    bad = bytearray(FW2)
    bad[len(bad) // 2] ^= 0x01
    refused(dev, signed(FW2, 2), bytes(bad), "image-mismatch")
    keeps_running_v1(dev)


def test_threat_net_redirect(dev: Device) -> None:
    """THREAT.NET.REDIRECT: the fetch is redirected to attacker-controlled firmware."""
    refused(dev, signed(FW2, 2), None, "image-mismatch", {URI: sample.firmware(666, len(FW2))})
    keeps_running_v1(dev)


def test_threat_img_extra(dev: Device) -> None:
    """THREAT.IMG.EXTRA: extra data appended after the image."""
    refused(dev, signed(FW2, 2), FW2 + b"\x00" * 64, "image-mismatch")
    keeps_running_v1(dev)


def test_threat_img_non_auth(dev: Device) -> None:
    """THREAT.IMG.NON_AUTH: unsigned, self-signed or MAC-only envelopes are refused."""
    refused(dev, signed(FW2, 2, key="ed25519"), FW2, {"no-trusted-key", "signature-invalid"})
    refused(dev, sample.envelope(FW2, 2, [], VID, CID, uri=URI), FW2, "no-trusted-key")
    keeps_running_v1(dev)


def test_threat_img_replace(dev: Device) -> None:
    """THREAT.IMG.REPLACE: an attacker with flash access writes their own envelope and image
    into the spare slot, with a trailer claiming it is confirmed and newer. Secure boot
    verifies the envelope's signature and refuses it."""
    rogue_fw = sample.firmware(999, 1800)
    dev2 = replace(dev, flash=dev.flash.snapshot(), counter=Counter(0))
    # build the rogue slot with an untrusted key in a scratch device, then copy it over
    rogue = signed(rogue_fw, 9, key="ed25519")
    scratch_trust = dev.trust_dir.parent / "rogue-trust"
    scratch_trust.mkdir(exist_ok=True)
    (scratch_trust / "anchor0.pem").write_bytes(public_pem(KEYS["ed25519"].trusted.key))
    scratch = new_device(DeviceConfig(VID, CID, None, GEOMETRY, ("anchor0.pem",)), scratch_trust)
    scratch.install(signed(FW1, 1, key="ed25519"), FW1)
    scratch.boot()
    assert scratch.install(rogue, rogue_fw) == 1
    scratch.boot()  # confirmed in the scratch device
    g = GEOMETRY
    dev2.flash.data[g.slot_size:2 * g.slot_size] = scratch.flash.data[g.slot_size:2 * g.slot_size]
    assert dev2.slots()[1].state == "confirmed"
    keeps_running_v1(replace(dev2, counter=Counter(1)))


def test_threat_img_toctou(dev: Device) -> None:
    """THREAT.IMG.TOCTOU: the staged image is changed after install verified it and before
    it runs; the boot verifies the image in flash again, marks the slot bad and reverts."""
    assert dev.install(signed(FW2, 2), FW2) == 1
    dev.flash.data[slot_image_addr(dev, 1) + 100] ^= 0x80
    keeps_running_v1(dev)
    assert dev.slots()[1].state == "bad"


def test_threat_mfst_toctou(dev: Device) -> None:
    """THREAT.MFST.TOCTOU: the stored envelope is changed between install and boot; the boot
    copies it to RAM and authenticates that copy before using any of it."""
    env = signed(FW2, 2)
    assert dev.install(env, FW2) == 1
    g = GEOMETRY
    at = g.slot_size + len(env) - 40  # inside the manifest's image digest / size
    dev.flash.data[at] ^= 0x01
    keeps_running_v1(dev)
    assert dev.slots()[1].state == "bad"


def test_threat_mfst_modification(dev: Device) -> None:
    """THREAT.MFST.MODIFICATION: manifest fields changed after signing (here the sequence
    number and the image digest) with the original signature kept."""
    good = decode_envelope(signed(FW2, 2))
    from fwsign.device.sample import COMPONENT
    from fwsign.suit.builder import ComponentSpec, ImageSpec, ManifestSpec
    from fwsign.suit.model import Digest

    spec = ManifestSpec(2, (ComponentSpec(COMPONENT, (ImageSpec(Digest(-16, hashlib.sha256(b"evil").digest()), 4, uri=URI),),
                                          VID, CID),))
    manifest, _ = build_manifest(spec)
    forged = assemble_envelope(manifest, [])  # digest matches the new manifest, but no valid signature
    # splice the original signature block in: the digest it signs no longer matches
    from fwsign.suit.builder import add_block

    spliced = add_block(decode_envelope(forged), good.auth.blocks[0].raw)
    refused(dev, spliced, b"evil", {"signature-invalid", "no-trusted-key"})
    # and a byte flipped inside the signed manifest: the digest check fails first
    tampered = bytearray(signed(FW2, 2))
    tampered[-30] ^= 0x01
    refused(dev, bytes(tampered), FW2, {"digest-mismatch", "malformed"})
    keeps_running_v1(dev)


def test_threat_mfst_overrun(dev: Device) -> None:
    """THREAT.MFST.OVERRUN: lengths and nesting meant to overrun the parser's buffers."""
    refused(dev, b"\xd8\x6b\xa1\x02\x5a\xff\xff\xff\xff", None, {"truncated", "malformed"})
    refused(dev, b"\x81" * 64 + b"\x00", None, {"limit-exceeded", "malformed"})
    with pytest.raises(FwsignError) as exc:
        dev.install(signed(FW2, 2) + b"\x00" * 5000, FW2)
    assert exc.value.reason == "limit-exceeded"
    keeps_running_v1(dev)


def test_threat_mfst_override(dev: Device) -> None:
    """THREAT.MFST.OVERRIDE: a severed install sequence is swapped for one that fetches
    something else; its digest in the signed manifest no longer matches."""
    env = decode_envelope(signed(FW2, 2, sever=True))
    other = decode_envelope(signed(FW2, 2, sever=True, uri="https://evil.example/fw.bin"))
    from fwsign.suit.encode import encode_envelope

    swapped = replace(env, severed=other.severed)
    assert swapped.severed != env.severed
    refused(dev, encode_envelope(swapped), FW2, "severed-digest-mismatch")
    keeps_running_v1(dev)


def test_unconfirmed_trial_reverts(dev: Device) -> None:
    """Not a threat of RFC 9124 but its safety net: a correctly signed update that fails its
    own health check after starting (never confirms) is rolled back at the next power-on;
    the counter stays where it was."""
    dev.install(signed(FW2, 2), FW2)
    out = dev.boot(confirm=False)
    assert (out.sequence, out.trial, out.confirmed) == (2, True, False)
    keeps_running_v1(dev)

