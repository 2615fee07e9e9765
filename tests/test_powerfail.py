"""Power-fail injection: cut power after every single flash operation of an install or a
boot, in turn, then power on again. The device must always start an authentic image
(old or new), never end up with nothing to boot once it had an image, and its counter
must never move backward nor past the sequence number of the image it runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from fwsign.device import Counter, Device, DeviceConfig, Geometry, new_device, sample
from fwsign.errors import FwsignError, PowerCutError
from fwsign.keys import public_pem
from fwsign.suit.ids import class_uuid, vendor_uuid

from .conftest import KEYS

VID = vendor_uuid("example.com")
CID = class_uuid(VID, "powerfail")
GEOMETRY = Geometry(sector_size=1024, write_size=8, slot_sectors=12)
FW = {v: sample.firmware(v, 1500 + 300 * v) for v in (1, 2, 3)}
DIGESTS = {hashlib.sha256(fw).hexdigest(): v for v, fw in FW.items()}


def env(version: int, uri: str | None = "https://fw.example.com/fw.bin") -> bytes:
    return sample.envelope(FW[version], version, [KEYS["p256"].signer()], VID, CID, uri=uri)


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("trust")
    (d / "anchor0.pem").write_bytes(public_pem(KEYS["p256"].trusted.key))
    return d


def fresh(trust: Path) -> Device:
    return new_device(DeviceConfig(VID, CID, None, GEOMETRY, ("anchor0.pem",)), trust)


def clone(dev: Device) -> Device:
    return replace(dev, flash=dev.flash.snapshot(), counter=Counter(dev.counter.value), last_boot=None)


def running(dev: Device, *versions: int) -> Device:
    """A device that installed and confirmed each version in turn."""
    for v in versions:
        dev.install(env(v), FW[v])
        out = dev.boot()
        assert (out.sequence, out.confirmed) == (v, True)
    return dev


def check_boot(dev: Device, before: int, allowed: set[int]) -> int:
    """Power on after the cut: an authentic allowed image starts; counter invariants hold."""
    out = dev.boot()
    assert DIGESTS[out.image_digest] == out.sequence, "started image does not match its manifest"
    assert out.sequence in allowed
    assert before <= dev.counter.value <= out.sequence
    assert dev.flash.violations == []
    # and the next power-on agrees (no state left half way)
    again = dev.boot()
    assert again.sequence == out.sequence and dev.counter.value <= again.sequence
    return out.sequence


def cases(base: Device, action: Callable[[Device], object], torn: bool) -> list[Device]:
    """Run ``action`` on copies of ``base`` with power cut after 0, 1, 2, ... flash operations,
    until one run completes; return the cut devices, powered again, in order."""
    out: list[Device] = []
    for n in range(500):
        dev = clone(base)
        dev.flash.cut_after = dev.flash.ops + n
        dev.flash.torn = torn
        try:
            action(dev)
        except PowerCutError:
            dev.flash.cut_after, dev.flash.powered, dev.flash.torn = None, True, False
            out.append(dev)
            continue
        assert out, "the operation did not touch flash"
        return out
    raise AssertionError("the operation never completes")


@pytest.mark.parametrize("torn", [False, True], ids=["clean-cut", "torn-operation"])
def test_powerfail_install_update_over_running_image(trust: Path, torn: bool) -> None:
    base = running(fresh(trust), 1)
    for dev in cases(base, lambda d: d.install(env(2), FW[2]), torn):
        assert check_boot(dev, 1, {1, 2}) in (1, 2)
        # the update can always be completed afterwards
        if dev.last_boot and dev.last_boot["sequence"] == 1:
            dev.install(env(2), FW[2])
            assert dev.boot().sequence == 2


@pytest.mark.parametrize("torn", [False, True], ids=["clean-cut", "torn-operation"])
def test_powerfail_install_into_slot_of_older_confirmed_image(trust: Path, torn: bool) -> None:
    base = running(fresh(trust), 1, 2)  # slot 0: v1, slot 1: v2 (running), counter 2
    for dev in cases(base, lambda d: d.install(env(3, uri=None), FW[3]), torn):
        check_boot(dev, 2, {2, 3})


@pytest.mark.parametrize("torn", [False, True], ids=["clean-cut", "torn-operation"])
def test_powerfail_first_boot_of_new_image_and_confirm(trust: Path, torn: bool) -> None:
    base = running(fresh(trust), 1)
    base.install(env(2), FW[2])
    for dev in cases(base, lambda d: d.boot(), torn):
        # cut before "tried": v2 still pending and starts now; after: its trial was not
        # confirmed and the device reverts to v1; after "confirmed": v2 runs
        check_boot(dev, 1, {1, 2})


def test_powerfail_revert_of_unconfirmed_trial(trust: Path) -> None:
    base = running(fresh(trust), 1)
    base.install(env(2), FW[2])
    assert base.boot(confirm=False).trial  # v2 started, never confirmed
    for dev in cases(base, lambda d: d.boot(), torn=False):
        assert check_boot(dev, 1, {1}) == 1


def test_powerfail_factory_install_recovers(trust: Path) -> None:
    """An empty device has nothing to boot until the first install completes; a cut
    install leaves it empty (not half-installed) and a new install then succeeds."""
    for dev in cases(fresh(trust), lambda d: d.install(env(1), FW[1]), torn=True):
        try:
            out = dev.boot()
        except FwsignError as err:
            assert err.reason == "no-bootable-image"
            assert dev.counter.value == 0
            dev.install(env(1), FW[1])
            out = dev.boot()
        assert (out.sequence, DIGESTS[out.image_digest]) == (1, 1)
        assert dev.counter.value == 1
        assert dev.flash.violations == []


def test_powerfail_cut_points_cover_every_operation(trust: Path) -> None:
    """The sweep really visits each flash operation of an install (erase, writes, record)."""
    base = running(fresh(trust), 1)
    done = base.flash.ops
    full = clone(base)
    full.install(env(2), FW[2])
    total = full.flash.ops - done
    assert total >= 10
    assert len(cases(base, lambda d: d.install(env(2), FW[2]), torn=False)) == total


# --- delta updates (docs/delta.md): the patched install in the same sweep ------------------

#: v2 as a patch from v1: the same firmware with a few bytes changed and a block inserted,
#: as a small fix changes an image.
FW_DELTA = FW[1][:700] + b"\x5a" * 40 + bytes(b ^ 1 if i % 97 == 0 else b for i, b in enumerate(FW[1][700:]))
DIGESTS[hashlib.sha256(FW_DELTA).hexdigest()] = 2


def delta_env() -> tuple[bytes, bytes]:
    from fwsign.delta.release import delta_image
    from fwsign.suit.builder import ComponentSpec, ManifestSpec, assemble_envelope, build_manifest

    img, patch = delta_image(FW[1], FW_DELTA, "https://fw.example.com/v2.fwd1")
    manifest, severed = build_manifest(ManifestSpec(2, (ComponentSpec(sample.COMPONENT, (img,), VID, CID),)))
    return assemble_envelope(manifest, [KEYS["p256"].signer()], severed=severed), patch


@pytest.mark.parametrize("torn", [False, True], ids=["clean-cut", "torn-operation"])
def test_powerfail_patched_install_over_running_image(trust: Path, torn: bool) -> None:
    """A cut after every flash operation of a patched install (A/B: the patch reads the
    running slot and writes the other): the running image, the patch's source, always
    boots or the new one does; the install can be completed afterwards."""
    env2, patch = delta_env()
    assert len(patch) < len(FW_DELTA) // 4
    base = running(fresh(trust), 1)
    cut = cases(base, lambda d: d.install(env2, patch), torn)
    assert len(cut) >= 10
    for dev in cut:
        assert check_boot(dev, 1, {1, 2}) in (1, 2)
        if dev.last_boot and dev.last_boot["sequence"] == 1:
            dev.install(env2, patch)
            out = dev.boot()
            assert (out.sequence, DIGESTS[out.image_digest]) == (2, 2)
