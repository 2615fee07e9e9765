"""The energy model: REFERENCE.md's derived figures, sourced profiles, strict parsing, the CLI."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fwsign.energy import (
    MODES,
    ProfileError,
    Scenario,
    TufRepo,
    check_alg,
    cpu_energy,
    format_size,
    load_catalog,
    load_measured,
    parse_device,
    parse_link,
    parse_measured,
    parse_size,
    radio_energy,
    update_cost,
)
from fwsign.energy.profiles import BUILTIN_DIR, KINDS
from fwsign.errors import UsageError

CAT = load_catalog()
MEASURED = load_measured()
NRF = CAT.device("nrf52840")
KIB = 1024


def mj(joules: float) -> float:
    return joules * 1e3


# -- the derived figures of REFERENCE.md section 3 ------------------------------------


def test_asm_p256_verify_on_nrf52840_is_about_0_15_mj() -> None:
    e, s = cpu_energy(NRF, NRF.sig_impl("p256", "asm").cycles.value)
    assert mj(e) == pytest.approx(0.15, rel=0.05)
    assert s * 1e3 == pytest.approx(15.3, rel=0.01)  # 976k cycles at 64 MHz


def test_generic_c_p256_verify_on_nrf52840_is_about_1_5_mj() -> None:
    e, _ = cpu_energy(NRF, NRF.sig_impl("p256", "micro-ecc").cycles.value)
    assert mj(e) == pytest.approx(1.5, rel=0.05)


def test_c25519_ed25519_verify_on_nrf52840_is_about_19_mj() -> None:
    e, _ = cpu_energy(NRF, NRF.sig_impl("ed25519", "c25519").cycles.value)
    assert mj(e) == pytest.approx(19, rel=0.05)


def test_sha256_of_256_kib_in_c_on_nrf52840_is_about_2_6_mj_and_0_26_s() -> None:
    _, cpb = NRF.sha_impl("c")
    e, s = cpu_energy(NRF, 256 * KIB * cpb.value)
    assert mj(e) == pytest.approx(2.6, rel=0.05)
    assert s == pytest.approx(0.26, rel=0.05)


@pytest.mark.parametrize(("link", "uj_per_byte"), [("ble-1m", 0.12), ("ieee802154", 0.46), ("lora-sf7", 190)])
def test_radio_payload_energy_per_byte_matches_reference(link: str, uj_per_byte: float) -> None:
    lk = CAT.link(link)
    assert lk.energy_per_byte_j.value * 1e6 == pytest.approx(uj_per_byte)
    e, on_air = radio_energy(lk, 1000)
    assert on_air > 1000  # per-packet headers come on top
    assert e == pytest.approx(on_air * lk.energy_per_byte_j.value)


def test_lora_sf12_is_about_30_times_sf7() -> None:
    ratio = CAT.link("lora-sf12").energy_per_byte_j.value / CAT.link("lora-sf7").energy_per_byte_j.value
    assert ratio == pytest.approx(30)


def test_hashing_dominates_a_256_kib_image_over_one_asm_verify() -> None:
    # REFERENCE: hashing 256 KiB in C on a 64 MHz M4 costs more than one asm P-256 verify
    _, cpb = NRF.sha_impl("c")
    assert 256 * KIB * cpb.value > NRF.sig_impl("p256", "asm").cycles.value


@pytest.mark.parametrize(("targets", "bins"), [(10_000, 256), (100_000, 1024)])
def test_tuf_bin_count_follows_reference_rule(targets: int, bins: int) -> None:
    assert TufRepo(targets=targets).bin_count() == bins


# -- profiles: sources and strict parsing -----------------------------------------------


def test_the_required_profiles_ship() -> None:
    devices = {d.name: d for d in CAT.devices}
    assert {"nrf52840", "stm32l4", "stm32u5", "stm32g0"} <= set(devices)
    assert {d.core for d in CAT.devices} == {"cortex-m4", "cortex-m33", "cortex-m0plus"}
    u5 = devices["stm32u5"]
    assert u5.sha_impl("hw")[0] == "hw"
    assert u5.sig_impl("p256", "pka").library == "pka"
    assert {"ble-1m", "ble-2m", "ieee802154", "lora-sf7", "lora-sf12"} <= {lk.name for lk in CAT.links}


def test_every_profile_constant_has_a_source() -> None:
    profiles: list[Any] = [*CAT.devices, *CAT.links]
    for prof in profiles:
        for name, c in prof.constants():
            assert c.source.strip(), f"{prof.name}.{name}"
            assert len(c.source) > 20, f"{prof.name}.{name}: source too vague: {c.source!r}"
            assert c.kind in KINDS
            assert c.unit.strip()


def test_every_profile_file_declares_source_on_each_constant_textually() -> None:
    # Independent of the parser: every inline table in the files has a source key.
    for path in sorted(BUILTIN_DIR.glob("*/*.toml")):
        data = tomllib.loads(path.read_text())

        def walk(node: Any, where: str, path: Path = path) -> None:
            if isinstance(node, dict) and "value" in node:
                assert "source" in node, f"{path}: {where}"
            elif isinstance(node, dict):
                for k, v in node.items():
                    walk(v, f"{where}.{k}")

        walk(data, path.stem)


def _device_data() -> dict[str, Any]:
    return tomllib.loads((BUILTIN_DIR / "devices" / "nrf52840.toml").read_text())


def _link_data() -> dict[str, Any]:
    return tomllib.loads((BUILTIN_DIR / "links" / "ble-1m.toml").read_text())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["constants"]["clock_hz"].pop("source"), "no source"),
        (lambda d: d["constants"]["clock_hz"].update(source="  "), "source"),
        (lambda d: d["constants"]["clock_hz"].update(value=-1), "positive"),
        (lambda d: d["constants"]["flash_current_a"].update(value=-1), "non-negative"),
        (lambda d: d["constants"]["clock_hz"].update(value=0), "positive"),
        (lambda d: d["constants"]["clock_hz"].update(value=True), "number"),
        (lambda d: d["constants"]["clock_hz"].update(value="64e6"), "number"),
        (lambda d: d["constants"]["clock_hz"].update(kind="guess"), "kind"),
        (lambda d: d["constants"].pop("voltage_v"), "missing 'voltage_v'"),
        (lambda d: d["constants"].update(turbo={"value": 1, "unit": "x", "source": "s"}), "unknown key 'turbo'"),
        (lambda d: d.update(core="cortex-a53"), "core"),
        (lambda d: d.update(name="NRF 52"), "name"),
        (lambda d: d.update(verify={}), "verify"),
        (lambda d: d["verify"].update(rsa={"x": {"value": 1, "unit": "c", "source": "s"}}), "unknown key 'rsa'"),
        (lambda d: d["sha256"].update(gpu={"value": 1, "unit": "c/B", "source": "s"}), "unknown key 'gpu'"),
        (lambda d: d["constants"].update(clock_hz=64e6), "table"),
    ],
)
def test_malformed_device_profile_is_refused(mutate: Any, message: str) -> None:
    d = _device_data()
    mutate(d)
    with pytest.raises(ProfileError, match=message):
        parse_device(d, "test.toml")


def test_malformed_link_profile_is_refused() -> None:
    d = _link_data()
    d["constants"]["energy_per_byte_j"].pop("source")
    with pytest.raises(ProfileError, match="no source"):
        parse_link(d, "link.toml")
    d = _link_data()
    d["constants"]["packet_payload_bytes"]["value"] = 0
    with pytest.raises(ProfileError, match="positive"):
        parse_link(d, "link.toml")


def test_profile_error_is_a_usage_error_with_exit_code_2() -> None:
    assert issubclass(ProfileError, UsageError)
    assert ProfileError("x").exit_code == 2


def test_user_profile_directory_adds_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "devices").mkdir()
    text = (BUILTIN_DIR / "devices" / "nrf52840.toml").read_text()
    (tmp_path / "devices" / "mine.toml").write_text(text.replace('name = "nrf52840"', 'name = "mine"'))
    (tmp_path / "devices" / "nrf.toml").write_text(text.replace("value = 64e6", "value = 32e6"))
    cat = load_catalog((tmp_path,))
    assert cat.device("mine").clock_hz.value == 64e6
    assert cat.device("nrf52840").clock_hz.value == 32e6


def test_unknown_profile_and_missing_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="unknown device 'esp32'"):
        CAT.device("esp32")
    with pytest.raises(ProfileError, match="unknown link"):
        CAT.link("wifi")
    with pytest.raises(ProfileError, match="does not exist"):
        load_catalog((tmp_path / "nope",))


def test_malformed_toml_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("name = \n")
    with pytest.raises(ProfileError, match="malformed TOML"):
        load_catalog((tmp_path,))


# -- measured counts ---------------------------------------------------------------------


def test_shipped_counts_cover_every_core_and_envelope() -> None:
    for core in ("cortex-m0plus", "cortex-m4", "cortex-m33"):
        c = MEASURED.core(core)
        assert 0.5 < c.cpi < 3
        for label in ("fwsign-p256", "fwsign-ed25519", *(f"spec-example{i}" for i in range(6))):
            e = c.envelope(label)
            assert e.parse_instr > 0 and e.digest_instr > 0 and e.interp_instr > 0
    assert 200 < MEASURED.envelope_bytes("p256") < 400
    header, tlv = MEASURED.imgtool_overhead("ed25519")
    assert header == 32 and tlv > 64


def test_malformed_counts_are_refused() -> None:
    raw = json.loads(Path(MEASURED.path).read_text())
    raw["cores"]["cortex-m4"]["envelopes"]["fwsign-p256"]["parse_instr"] = -5
    with pytest.raises(ProfileError, match="parse_instr"):
        parse_measured(raw)
    raw = json.loads(Path(MEASURED.path).read_text())
    del raw["imgtool"]["p256"]
    with pytest.raises(ProfileError, match="p256"):
        parse_measured(raw)


# -- the model --------------------------------------------------------------------------


def cost(device: str = "nrf52840", link: str = "ble-1m", **kw: Any) -> Any:
    return update_cost(CAT.device(device), CAT.link(link), MEASURED, Scenario(kw.pop("size", 256 * KIB), **kw))


def test_phases_partition_the_total() -> None:
    for mode in MODES:
        c = cost(mode=mode)
        assert c.total_j == pytest.approx(c.security_j + c.unavoidable_j)
        assert all(p.energy_j >= 0 for p in c.phases)
        assert c.overhead_share == pytest.approx(c.security_j / c.unavoidable_j)


def test_full_tuf_walk_costs_more_than_the_envelope_alone() -> None:
    suit, tuf = cost(mode="suit"), cost(mode="tuf")
    assert tuf.security_j > suit.security_j
    assert tuf.signatures_at_install == 5  # timestamp, snapshot, targets, bin + the envelope
    assert tuf.metadata_bytes > 10 * suit.metadata_bytes


def test_measured_overrides_replace_the_defaults() -> None:
    c = cost(mode="tuf", tuf_bytes=600, envelope_bytes=300)
    assert c.metadata_bytes == 900


def test_mcuboot_has_no_suit_parse_cost() -> None:
    c = cost(mode="mcuboot")
    assert c.parse_policy_cycles == 0
    assert not any(p.name == "cpu: parse and policy" for p in c.phases)


def test_slow_link_shrinks_the_security_share() -> None:
    assert cost(link="lora-sf7").overhead_share < cost(link="ble-1m").overhead_share


def test_naive_signature_library_raises_the_overhead() -> None:
    assert cost(alg="ed25519", library="c25519").overhead_share > cost(alg="ed25519", library="optimised").overhead_share


def test_more_boots_cost_more() -> None:
    assert cost(boots=3).security_j > cost(boots=1).security_j > cost(boots=0).security_j


def test_parse_policy_share_uses_the_976k_cycle_yardstick() -> None:
    c = cost()
    assert c.parse_policy_share == pytest.approx(c.parse_policy_cycles / 976e3)


def test_unknown_library_and_sha_are_refused() -> None:
    with pytest.raises(ProfileError, match="no p256 library 'openssl'"):
        cost(library="openssl")
    with pytest.raises(ProfileError, match="SHA-256 implementation 'hw'"):
        cost(sha="hw")


@pytest.mark.parametrize(("text", "n"), [("256KiB", 262144), ("1 MiB", 1 << 20), ("4096", 4096), ("64kB", 64000),
                                         ("1.5KiB", 1536), ("2k", 2048), ("10B", 10)])
def test_parse_size(text: str, n: int) -> None:
    assert parse_size(text) == n


@pytest.mark.parametrize("text", ["", "abc", "-1KiB", "0", "1.3B", "256 KiBs", "2GiB", "1e3"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="bad size"):
        parse_size(text)


def test_algorithm_names() -> None:
    assert check_alg("ESP256") == check_alg("es256") == "p256"
    assert check_alg("EdDSA") == "ed25519"
    with pytest.raises(ProfileError):
        check_alg("rsa")


@given(st.integers(min_value=1, max_value=1 << 30))
def test_parse_size_round_trips_plain_and_binary_units(n: int) -> None:
    assert parse_size(str(n)) == n
    assert parse_size(format_size(n)) == n
    if n <= 1 << 20:
        assert parse_size(f"{n}KiB") == n * 1024
