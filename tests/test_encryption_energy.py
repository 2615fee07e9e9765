"""The energy model's decryption cost: phases, figures with sources, and fwsign energy --encrypted."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from fwsign.energy import load_catalog, load_measured
from fwsign.energy.decrypt import CONTENT_ALGS, KEY_EXCHANGES, content_cpb, key_cycles, sources
from fwsign.energy.model import Scenario, update_cost
from fwsign.energy.profiles import ProfileError
from tests.conftest import Result


def _cost(encrypted: str | None, kx: str = "x25519", device: str = "nrf52840"):  # type: ignore[no-untyped-def]
    cat = load_catalog(())
    return update_cost(cat.device(device), cat.link("ble-1m"), load_measured(None),
                       Scenario(256 * 1024, encrypted=encrypted, key_exchange=kx))


@pytest.mark.parametrize("alg", CONTENT_ALGS)
@pytest.mark.parametrize("kx", KEY_EXCHANGES)
def test_decryption_adds_security_phases_and_no_boot_cost(alg: str, kx: str) -> None:
    plain, enc = _cost(None), _cost(alg, kx)
    added = {p.name for p in enc.phases} - {p.name for p in plain.phases}
    assert added == {"radio: encryption info and tag", "cpu: content key (unwrap)", "cpu: payload decryption"}
    assert all(p.security for p in enc.phases if p.name in added)
    assert enc.security_j > plain.security_j and enc.unavoidable_j == plain.unavoidable_j
    assert enc.boot_verify_cycles == plain.boot_verify_cycles  # boots check the plaintext; they never decrypt


def test_figures_order_and_core_scaling() -> None:
    m4 = {a: content_cpb(a, "cortex-m4") for a in CONTENT_ALGS}
    assert m4["chacha20-poly1305"] < m4["a128ctr"] < m4["a128gcm"] and m4["a128ctr"] < m4["a256ctr"]
    assert content_cpb("a128ctr", "cortex-m0plus") > m4["a128ctr"]
    assert key_cycles("a128kw", "cortex-m4") < key_cycles("x25519", "cortex-m4") < key_cycles("p256", "cortex-m4")
    with pytest.raises(ProfileError):
        content_cpb("des", "cortex-m4")


def test_every_decryption_constant_has_a_source_and_kind() -> None:
    for name, s in sources():
        assert s.source.strip() and s.kind in ("published", "derived", "estimate", "assumption"), name


def test_energy_cli_encrypted(cli: Callable[..., Result]) -> None:
    r = cli("energy", "--device", "stm32u5", "--link", "ble-1m", "--encrypted", "chacha20-poly1305", "--key-exchange",
            "a128kw", "--json")
    assert r.code == 0, r.err
    phases = {p["name"] for p in json.loads(r.out)["modes"][0]["phases"]}
    assert "cpu: payload decryption" in phases
    r = cli("energy", "--device", "nrf52840", "--link", "ble-1m", "--encrypted", "rc4")
    assert r.code == 2 and "profile-invalid" in r.err
