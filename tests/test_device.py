"""The simulated device: flash model rules, the C boot flow's state machine, persistence and
the ``fwsign device`` commands."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fwsign.device import Flash, FlashViolation, PowerLost, lib, open_device, sample
from fwsign.errors import FwsignError, UsageError
from fwsign.keys import private_pem, public_pem
from fwsign.suit.ids import class_uuid, vendor_uuid

from .conftest import KEYS, Result

VID = vendor_uuid("example.com")
CID = class_uuid(VID, "thermostat")
IDENT = ["--vendor-domain", "example.com", "--class-name", "thermostat"]
SMALL = ["--sector-size", "1024", "--slot-sectors", "12"]

# -- flash model ---------------------------------------------------------------------


def test_flash_erase_before_write_and_wear() -> None:
    f = Flash(4096, 1024, 8)
    f.write(0, b"\x00" * 8)
    with pytest.raises(FlashViolation):
        f.write(0, b"\x00" * 8)  # programmed twice without an erase
    f.erase(0)
    f.write(0, b"\x01" * 8)
    assert f.wear == [1, 0, 0, 0] and f.ops == 3


@pytest.mark.parametrize(("addr", "data"), [(4, b"\x00" * 8), (0, b"\x00" * 5), (4096, b"\x00" * 8)])
def test_flash_rejects_misaligned_or_out_of_range_writes(addr: int, data: bytes) -> None:
    f = Flash(4096, 1024, 8)
    with pytest.raises(FlashViolation):
        f.write(addr, data)
    assert f.violations


def test_flash_power_cut_stops_everything_after_n_operations() -> None:
    f = Flash(4096, 1024, 8, cut_after=1)
    f.erase(1024)
    with pytest.raises(PowerLost):
        f.write(1024, b"\x00" * 16)
    assert f.data[1024:1040] == b"\xff" * 16  # the cut write did nothing
    with pytest.raises(PowerLost):
        f.read(0, 1)


def test_flash_torn_write_programs_only_part() -> None:
    f = Flash(4096, 1024, 8, cut_after=0, torn=True)
    with pytest.raises(PowerLost):
        f.write(0, b"\x00" * 32)
    assert f.data[:16] == b"\x00" * 16 and f.data[16:32] == b"\xff" * 16


def test_library_builds_on_demand() -> None:
    assert lib.build().exists()
    assert lib.reason(49) == "no-bootable-image" and lib.reason(1) == "truncated"


# -- CLI -----------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    (tmp_path / "release.pem").write_bytes(private_pem(KEYS["p256"].private))  # type: ignore[arg-type]
    (tmp_path / "release.pub.pem").write_bytes(public_pem(KEYS["p256"].trusted.key))
    out["key"], out["pub"] = tmp_path / "release.pem", tmp_path / "release.pub.pem"
    for v in (1, 2):
        fw = tmp_path / f"fw{v}.bin"
        fw.write_bytes(sample.firmware(v, 3000))
        env = tmp_path / f"v{v}.suit"
        env.write_bytes(sample.envelope(fw.read_bytes(), v, [KEYS["p256"].signer()], VID, CID,
                                        uri=f"https://fw.example.com/v{v}.bin"))
        out[f"fw{v}"], out[f"env{v}"] = fw, env
    return out


def test_device_lifecycle_cli(cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path]) -> None:
    d = tmp_path / "dev"
    r = cli("device", "create", d, "--trust", files["pub"], *IDENT, *SMALL)
    assert r.code == 0, r.err
    r = cli("device", "boot", d)
    assert r.code == 1 and "no-bootable-image" in r.err
    r = cli("device", "install", d, files["env1"], "--payload", files["fw1"])
    assert r.code == 0 and "slot 0" in r.out, r.err
    r = cli("device", "boot", d, "--json")
    assert r.code == 0 and json.loads(r.out)["sequence"] == 1
    # an update whose power is cut mid-install: the old image keeps booting
    r = cli("device", "install", d, files["env2"], "--payload", files["fw2"], "--cut-after", "4", "--torn")
    assert r.code == 1 and "power-cut" in r.err
    r = cli("device", "boot", d, "--json")
    assert json.loads(r.out)["sequence"] == 1
    # the retry succeeds; a trial that is not confirmed reverts at the next boot
    assert cli("device", "install", d, files["env2"], "--payload", files["fw2"]).code == 0
    r = cli("device", "boot", d, "--no-confirm", "--json")
    assert json.loads(r.out)["trial"] is True
    r = cli("device", "boot", d, "--json")
    assert json.loads(r.out)["sequence"] == 1
    r = cli("device", "status", d, "--json")
    st = json.loads(r.out)
    assert st["counter"] == 1 and [s["state"] for s in st["slots"]] == ["confirmed", "bad"]
    # a rolled-back release is refused with exit 1 and the reason
    r = cli("device", "install", d, files["env1"], "--payload", files["fw1"])
    assert r.code == 1 and "rollback" in r.err
    r = cli("device", "status", d)
    assert r.code == 0 and "counter   1" in r.out and "slot 1    bad" in r.out


def test_device_install_tampered_payload_refused(cli: Callable[..., Result], tmp_path: Path,
                                                  files: dict[str, Path]) -> None:
    d = tmp_path / "dev"
    assert cli("device", "create", d, "--trust", files["pub"], *IDENT, *SMALL).code == 0
    bad = tmp_path / "bad.bin"
    bad.write_bytes(files["fw1"].read_bytes()[:-1] + b"\x00")
    r = cli("device", "install", d, files["env1"], "--payload", bad, "--json")
    assert r.code == 1 and json.loads(r.out)["reason"] == "image-mismatch"


def test_device_usage_errors(cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path]) -> None:
    d = tmp_path / "dev"
    assert cli("device", "status", d).code == 2  # no device there
    assert cli("device", "create", d, "--trust", files["pub"], "--vendor-domain", "example.com").code == 2
    assert cli("device", "create", d, "--trust", files["pub"], *IDENT, "--write-size", "3").code == 2
    assert cli("device", "create", d, "--trust", files["pub"], *IDENT).code == 0
    assert cli("device", "create", d, "--trust", files["pub"], *IDENT).code == 2  # already exists
    assert cli("device", "install", d, tmp_path / "missing.suit").code == 2
    assert cli("device", "boot", d, "--torn").code == 2


def test_device_state_persists_and_is_checked(tmp_path: Path, files: dict[str, Path]) -> None:
    from fwsign.device import create, save

    d = tmp_path / "dev"
    dev = create(d, [files["pub"]], VID, CID)
    dev.install(files["env1"].read_bytes(), files["fw1"].read_bytes())
    save(dev, d)
    again = open_device(d)
    assert again.flash.data == dev.flash.data and again.flash.wear == dev.flash.wear
    assert again.boot().sequence == 1
    (d / "state.bin").write_bytes((d / "state.bin").read_bytes()[:-1])
    with pytest.raises(UsageError):
        open_device(d)
    assert oct((d / "trust" / "anchor0.pem").stat().st_mode & 0o777) == "0o644"


def test_device_hmac_trust_anchor_is_private(tmp_path: Path) -> None:
    from fwsign.device import create

    key = tmp_path / "mac.pem"
    key.write_bytes(private_pem(KEYS["hmac"].private))  # type: ignore[arg-type]
    dev = create(tmp_path / "dev", [key], VID, CID)
    anchor = tmp_path / "dev" / "trust" / "anchor0.hmac"
    assert anchor.stat().st_mode & 0o777 == 0o600
    fw = sample.firmware(3, 1000)
    dev.install(sample.envelope(fw, 1, [KEYS["hmac"].signer()], VID, CID), fw)
    assert dev.boot().sequence == 1


def test_device_ab_release_takes_the_image_for_its_slot(cli: Callable[..., Result], tmp_path: Path,
                                                        files: dict[str, Path]) -> None:
    d = tmp_path / "dev"
    assert cli("device", "create", d, "--trust", files["pub"], *IDENT, *SMALL).code == 0
    imgs = [sample.firmware(40, 1200), sample.firmware(41, 1300)]
    for i, img in enumerate(imgs):
        (tmp_path / f"s{i}.bin").write_bytes(img)
    slots = ["--slot-payload", f"0={tmp_path / 's0.bin'}", "--slot-payload", f"1={tmp_path / 's1.bin'}"]
    for seq, slot in ((1, 0), (2, 1)):
        env = tmp_path / f"ab{seq}.suit"
        env.write_bytes(sample.envelope(b"", seq, [KEYS["p256"].signer()], VID, CID, slot_images=imgs))
        r = cli("device", "install", d, env, *slots)
        assert r.code == 0 and f"slot {slot}" in r.out, r.err
        out = json.loads(cli("device", "boot", d, "--json").out)
        assert out["slot"] == slot and out["image_sha256"] == hashlib.sha256(imgs[slot]).hexdigest()
    assert cli("device", "install", d, env, "--slot-payload", "0=x").code == 2  # nothing for the target slot


def test_install_refused_while_an_image_is_on_trial(tmp_path: Path, files: dict[str, Path]) -> None:
    """The image on trial may be running from the slot an install would erase."""
    from fwsign.device import create

    dev = create(tmp_path / "dev", [files["pub"]], VID, CID)
    dev.install(files["env1"].read_bytes(), files["fw1"].read_bytes())
    assert dev.boot(confirm=False).trial
    before = bytes(dev.flash.data)
    with pytest.raises(UsageError) as exc:
        dev.install(files["env2"].read_bytes(), files["fw2"].read_bytes())
    assert "on trial" in exc.value.message
    assert bytes(dev.flash.data) == before  # nothing was erased or written


def test_payload_larger_than_the_slot_is_refused(tmp_path: Path, files: dict[str, Path]) -> None:
    from fwsign.device import Geometry, create

    dev = create(tmp_path / "dev", [files["pub"]], VID, CID, geometry=Geometry(1024, 8, 6))
    big = sample.firmware(9, 2 * 1024)  # the image area is 1 sector
    with pytest.raises(FwsignError) as exc:
        dev.install(sample.envelope(big, 1, [KEYS["p256"].signer()], VID, CID), big)
    assert exc.value.reason == "limit-exceeded" and "larger than the slot" in exc.value.message
