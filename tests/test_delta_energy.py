"""``fwsign energy --patch-size``: a delta release against the full update, per device and
link (fwsign.energy, docs/delta.md). Figures are the model's; the tests check its shape
and the relations that must hold, never absolute values."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from fwsign.cli.main import run
from fwsign.energy import Scenario, load_catalog, load_measured, update_cost

PAIR_IMAGE, PAIR_PATCH = 8768, 206  # tests/vectors/delta: NEW.bin and OLD-to-NEW.fwd1


def _costs(device: str, link: str, image: int, patch: int) -> tuple[float, float, dict[str, float], dict[str, float]]:
    cat = load_catalog(())
    dev, lk = cat.device(device), cat.link(link)
    m = load_measured(None)
    full = update_cost(dev, lk, m, Scenario(image))
    delta = update_cost(dev, lk, m, replace(full.scenario, patch_bytes=patch))
    return (full.total_j, delta.total_j, {p.name: p.energy_j for p in full.phases},
            {p.name: p.energy_j for p in delta.phases})


@pytest.mark.parametrize("link", ["ble-1m", "ble-2m", "ieee802154", "lora-sf7"])
def test_patch_replaces_the_image_on_air_and_adds_hash_and_apply(link: str) -> None:
    full, delta, fp, dp = _costs("nrf52840", link, 256 * 1024, 6160)
    assert "radio: image" in fp and "radio: image" not in dp
    assert dp["radio: patch"] < fp["radio: image"] * 0.05
    assert {"cpu: patch hash (delta-info)", "cpu: apply patch", "flash: stage patch"} <= set(dp)
    # what the result costs to write and check is the same either way
    for same in ("flash: write image", "cpu: image hash (read-back verify)", "boot: verify", "cpu: signature"):
        assert dp[same] == fp[same]
    assert delta < full


def test_the_real_pair_saves_the_radio_but_not_the_flash() -> None:
    """On the 8.7 KB pair the image's erase and write dominate on nRF52840: the patch
    release saves the radio part only (docs/delta.md gives the figures)."""
    _full, _delta, fp, dp = _costs("nrf52840", "ble-1m", PAIR_IMAGE, PAIR_PATCH)
    assert dp["radio: patch"] / fp["radio: image"] < 0.05
    assert fp["flash: erase"] + fp["flash: write image"] > fp["radio: image"]


def test_cli_patch_size_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["energy", "--device", "nrf52840", "--link", "ble-1m", "--image-size", str(PAIR_IMAGE),
                "--patch-size", str(PAIR_PATCH), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["delta"][0]
    assert row["size_ratio"] == pytest.approx(PAIR_PATCH / PAIR_IMAGE)
    assert 0 < row["energy_ratio"] < 1
    assert row["patch"]["total_mj"] == pytest.approx(row["patch_mj"])


def test_cli_refuses_patch_for_mcuboot_and_bad_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["energy", "--device", "nrf52840", "--link", "ble-1m", "--image-size", "8768"]
    assert run([*base, "--patch-size", "206", "--mode", "mcuboot"]) == 2
    assert run([*base, "--patch-size", "0"]) == 2
    capsys.readouterr()
    with pytest.raises(ValueError):
        Scenario(100, patch_bytes=0)
