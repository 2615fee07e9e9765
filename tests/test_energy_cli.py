"""`fwsign energy`: output, JSON round trip, plot, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fwsign.energy.profiles import BUILTIN_DIR

Cli = Callable[..., Any]


def test_list_shows_devices_and_links(cli: Cli) -> None:
    r = cli("energy", "--list")
    assert r.code == 0, r.err
    for name in ("nrf52840", "stm32l4", "stm32u5", "stm32g0", "ble-1m", "ble-2m", "ieee802154", "lora-sf7", "lora-sf12"):
        assert name in r.out


def test_list_sources_and_json(cli: Cli) -> None:
    r = cli("energy", "--list", "--sources")
    assert r.code == 0 and "Emill/P256-Cortex-M4" in r.out
    doc = json.loads(cli("energy", "--list", "--json").out)
    for prof in doc["devices"] + doc["links"]:
        assert all(c["source"] for c in prof["constants"].values())


def test_breakdown_text(cli: Cli) -> None:
    r = cli("energy", "--device", "nrf52840", "--link", "ble-1m", "--image-size", "256KiB", "--alg", "ed25519")
    assert r.code == 0, r.err
    assert "radio: image" in r.out and "boot: verify" in r.out
    assert "security overhead" in r.out and "target <= 3%" in r.out
    assert "976k cycles" in r.out and "target <= 1%" in r.out


def test_json_round_trip_all_modes(cli: Cli) -> None:
    r = cli("energy", "--device", "stm32u5", "--link", "ieee802154", "--image-size", "64KiB", "--mode", "all", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["image_bytes"] == 65536 and doc["estimate"] is True
    assert [m["mode"] for m in doc["modes"]] == ["suit", "tuf", "mcuboot"]
    for m in doc["modes"]:
        assert sum(p["share"] for p in m["phases"]) == pytest.approx(1.0)
        assert sum(p["mj"] for p in m["phases"]) == pytest.approx(m["total_mj"])
        assert m["security_mj"] + m["unavoidable_mj"] == pytest.approx(m["total_mj"])
    assert doc["modes"][0]["sha256"] == "hw"  # the U5's hash accelerator is the fastest listed


def test_options_select_library_and_sha(cli: Cli) -> None:
    doc = json.loads(cli("energy", "--device", "nrf52840", "--link", "ble-1m", "--alg", "p256", "--lib", "micro-ecc",
                         "--sha", "c", "--boots", "0", "--json").out)
    m = doc["modes"][0]
    assert m["signature_library"] == "micro-ecc" and m["sha256"] == "c"
    assert next(p for p in m["phases"] if p["name"] == "boot: verify")["mj"] == 0


def test_plot(cli: Cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "e.png"
    r = cli("energy", "--device", "stm32g0", "--link", "lora-sf7", "--mode", "all", "--plot", out)
    assert r.code == 0, r.err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_user_profiles_directory(cli: Cli, tmp_path: Path) -> None:
    d = tmp_path / "profiles" / "links"
    d.mkdir(parents=True)
    text = (BUILTIN_DIR / "links" / "ble-1m.toml").read_text().replace('name = "ble-1m"', 'name = "my-radio"')
    (d / "my.toml").write_text(text)
    r = cli("energy", "--profiles", tmp_path / "profiles", "--device", "nrf52840", "--link", "my-radio")
    assert r.code == 0, r.err


def _one_line_usage_error(r: Any, fragment: str) -> None:
    assert r.code == 2, (r.out, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], r.err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--device", "esp32", "--link", "ble-1m"), "unknown device 'esp32'"),
        (("--device", "nrf52840", "--link", "wifi"), "unknown link 'wifi'"),
        (("--device", "nrf52840", "--link", "ble-1m", "--image-size", "lots"), "bad size 'lots'"),
        (("--device", "nrf52840", "--link", "ble-1m", "--alg", "rsa"), "unknown algorithm 'rsa'"),
        (("--device", "nrf52840", "--link", "ble-1m", "--lib", "openssl"), "no p256 library 'openssl'"),
        (("--device", "nrf52840", "--link", "ble-1m", "--sha", "hw"), "no SHA-256 implementation 'hw'"),
        (("--device", "nrf52840",), "give --device and --link"),
        (("--device", "nrf52840", "--link", "ble-1m", "--mode", "ota"), "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli: Cli, args: tuple[str, ...], fragment: str) -> None:
    _one_line_usage_error(cli("energy", *args), fragment)


def test_malformed_profile_file_is_one_line_exit_2(cli: Cli, tmp_path: Path) -> None:
    d = tmp_path / "p" / "devices"
    d.mkdir(parents=True)
    (d / "bad.toml").write_text("name = [\n")
    _one_line_usage_error(cli("energy", "--list", "--profiles", tmp_path / "p"), "malformed TOML")


def test_profile_constant_without_source_is_one_line_exit_2(cli: Cli, tmp_path: Path) -> None:
    d = tmp_path / "p" / "devices"
    d.mkdir(parents=True)
    text = (BUILTIN_DIR / "devices" / "nrf52840.toml").read_text()
    start = text.index("clock_hz = {")
    end = text.index("}", start)
    line = text[start:end]
    cut = line[: line.index(", source")] if ", source" in line else line
    (d / "nrf.toml").write_text(text[:start] + cut + text[end:])
    _one_line_usage_error(cli("energy", "--list", "--profiles", tmp_path / "p"), "no source")


def test_plot_into_missing_directory_is_one_line_exit_2(cli: Cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    r = cli("energy", "--device", "nrf52840", "--link", "ble-1m", "--plot", tmp_path / "no" / "such" / "e.png")
    _one_line_usage_error(r, "cannot write plot")
    assert not (tmp_path / "no").exists()
