"""``fwsign energy``: the estimated energy of one update on a device over a link."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import add_command, echo, emit_json, non_negative

if TYPE_CHECKING:
    from ..energy import Catalog, UpdateCost

_EPILOG = """\
examples:
  fwsign energy --device nrf52840 --link ble-1m --image-size 256KiB --alg ed25519
  fwsign energy --device stm32u5 --link ieee802154 --mode all --json
  fwsign energy --list --profiles ./my-profiles

Every figure is an estimate from cited constants (fwsign energy --list --sources) and
emulated instruction counts of bootloader-ref; see docs/energy.md.
exit codes: 0 ok, 2 bad arguments or a malformed/unknown profile."""


def register(sub: Any) -> None:
    p = add_command(sub, "energy", cmd_energy,
                    "Estimate the energy of one firmware update per phase (radio, CPU, flash, boot verify).")
    p.epilog = _EPILOG
    p.add_argument("--list", action="store_true", help="List the device and link profiles and exit.")
    p.add_argument("--sources", action="store_true", help="With --list: print every constant with its source.")
    p.add_argument("--device", metavar="NAME", help="Device profile (see --list), e.g. nrf52840.")
    p.add_argument("--link", metavar="NAME", help="Link profile (see --list), e.g. ble-1m.")
    p.add_argument("--image-size", default="256KiB", metavar="SIZE", help="Image size, e.g. 256KiB, 1MiB, 4096 (default 256KiB).")
    p.add_argument("--alg", default="p256", metavar="ALG", help="Signature algorithm: p256 (esp256, es256) or ed25519 (default p256).")
    p.add_argument("--lib", metavar="NAME", help="Signature library of the device profile (default: the fastest listed).")
    p.add_argument("--sha", choices=("c", "asm", "hw"), help="SHA-256 implementation (default: the fastest the device lists).")
    p.add_argument("--mode", choices=("suit", "tuf", "mcuboot", "all"), default="suit",
                   help="suit: envelope only, TUF on a gateway; tuf: full TUF walk on the device; "
                        "mcuboot: imgtool-signed image; all: compare the three (default suit).")
    p.add_argument("--boots", type=non_negative, default=1, metavar="N", help="Boot-time verifications counted (default 1).")
    p.add_argument("--envelope-bytes", type=non_negative, metavar="N", help="Measured envelope size instead of fwsign's (suit, tuf).")
    p.add_argument("--tuf-bytes", type=non_negative, metavar="N", help="Measured TUF metadata bytes per update (tuf mode).")
    p.add_argument("--tuf-targets", type=non_negative, default=10_000, metavar="N",
                   help="Targets in the TUF repository, for the default metadata sizes (default 10000).")
    p.add_argument("--profiles", action="append", type=Path, metavar="DIR",
                   help="Extra profile directory (devices/*.toml, links/*.toml); repeatable; overrides built-ins by name.")
    p.add_argument("--counts", type=Path, metavar="FILE", help="Emulated counts file (default: the one shipped with fwsign).")
    p.add_argument("--encrypted", metavar="ALG",
                   help="Encrypted payload: a128gcm, a256gcm, chacha20-poly1305, a128ctr or a256ctr (adds decryption at install).")
    p.add_argument("--key-exchange", default="x25519", metavar="KX",
                   help="With --encrypted: x25519 or p256 (ECDH-ES+A128KW), a128kw or a256kw (default x25519).")
    p.add_argument("--patch-size", metavar="SIZE",
                   help="Delta release (docs/delta.md): the patch's size; the report compares it with the full image.")
    p.add_argument("--json", dest="json_out", action="store_true", help="Machine-readable output.")
    p.add_argument("--plot", type=Path, metavar="OUT.png", help="Also draw the breakdown as stacked bars (needs matplotlib).")


def _catalog(a: argparse.Namespace) -> Catalog:
    from ..energy import load_catalog

    return load_catalog(tuple(a.profiles or ()))


def _list(a: argparse.Namespace) -> None:
    cat = _catalog(a)
    if a.json_out:
        def consts(items: list[Any]) -> dict[str, Any]:
            return {k: {"value": v.value, "unit": v.unit, "kind": v.kind, "source": v.source} for k, v in items}
        emit_json({
            "devices": [{"name": d.name, "title": d.title, "core": d.core, "path": d.path, "constants": consts(d.constants())}
                        for d in cat.devices],
            "links": [{"name": lk.name, "title": lk.title, "path": lk.path, "constants": consts(lk.constants())}
                      for lk in cat.links],
        })
        return
    echo("devices:")
    for d in cat.devices:
        echo(f"  {d.name:12} {d.title} [{d.core}]")
        if a.sources:
            for k, v in d.constants():
                echo(f"      {k} = {v.value:g} {v.unit} ({v.kind}): {v.source}")
    echo("links:")
    for lk in cat.links:
        echo(f"  {lk.name:12} {lk.title}")
        if a.sources:
            for k, v in lk.constants():
                echo(f"      {k} = {v.value:g} {v.unit} ({v.kind}): {v.source}")
    if a.sources:
        from ..energy.decrypt import sources

        echo("payload decryption (--encrypted):")
        for k, v in sources():
            echo(f"      {k} = {v.value:g} {v.unit} ({v.kind}): {v.source}")


def _cost_json(c: UpdateCost) -> dict[str, Any]:
    from ..energy import OVERHEAD_TARGET, PARSE_TARGET

    total = c.total_j
    return {
        "mode": c.scenario.mode,
        "signature_library": c.signature_library, "signature_cycles": c.signature_cycles,
        "sha256": c.sha_impl, "sha256_cycles_per_byte": c.sha_cpb,
        "metadata_bytes": c.metadata_bytes, "signatures_at_install": c.signatures_at_install,
        "total_mj": total * 1e3, "security_mj": c.security_j * 1e3, "unavoidable_mj": c.unavoidable_j * 1e3,
        "overhead_share": c.overhead_share, "overhead_target": OVERHEAD_TARGET,
        "overhead_within_target": c.overhead_share <= OVERHEAD_TARGET,
        "parse_policy_instructions": c.parse_policy_instr, "parse_policy_cycles": c.parse_policy_cycles,
        "parse_policy_share": c.parse_policy_share, "parse_policy_target": PARSE_TARGET,
        "parse_policy_within_target": c.parse_policy_share <= PARSE_TARGET,
        "boot_verify_ms": c.boot_verify_s * 1e3,
        "phases": [{"name": p.name, "group": p.group, "security": p.security, "mj": p.energy_j * 1e3,
                    "share": p.energy_j / total if total else 0.0, "seconds": p.seconds, "detail": p.detail}
                   for p in c.phases],
    }


def _print_cost(c: UpdateCost) -> None:
    from ..energy import OVERHEAD_TARGET, PARSE_TARGET

    total = c.total_j
    echo(f"mode {c.scenario.mode}: {c.scenario.alg} verify with {c.signature_library} ({c.signature_cycles:,.0f} cycles), "
         f"SHA-256 {c.sha_impl} ({c.sha_cpb:g} c/B)")
    echo(f"  {'phase':36} {'mJ':>10} {'share':>7}  {'':12} detail")
    for p in c.phases:
        share = p.energy_j / total if total else 0.0
        echo(f"  {p.name:36} {p.energy_j * 1e3:10.3f} {share:7.1%}  {'security' if p.security else 'unavoidable':12} {p.detail}")
    echo(f"  {'total':36} {total * 1e3:10.3f}")
    ok = "within" if c.overhead_share <= OVERHEAD_TARGET else "OVER"
    echo(f"  security overhead: {c.security_j * 1e3:.3f} mJ = {c.overhead_share:.1%} of the unavoidable "
         f"{c.unavoidable_j * 1e3:.3f} mJ (receiving + flashing the image); target <= {OVERHEAD_TARGET:.0%}: {ok}")
    if c.scenario.mode != "mcuboot":
        ok = "within" if c.parse_policy_share <= PARSE_TARGET else "OVER"
        echo(f"  parse and policy: {c.parse_policy_instr:,} instructions ~ {c.parse_policy_cycles:,.0f} cycles = "
             f"{c.parse_policy_share:.1%} of one optimised P-256 verify (976k cycles, Cortex-M4); target <= {PARSE_TARGET:.0%}: {ok}")
    echo(f"  one boot-time verification: {c.boot_verify_s * 1e3:.1f} ms")


def cmd_energy(a: argparse.Namespace) -> int | None:
    from ..energy import MODES, Scenario, TufRepo, check_alg, format_size, load_measured, parse_size, update_cost
    from ..errors import UsageError

    if a.list:
        _list(a)
        return None
    if a.sources:
        raise UsageError("--sources goes with --list")
    if not a.device or not a.link:
        raise UsageError("give --device and --link (fwsign energy --list shows the profiles)")
    size = parse_size(a.image_size)
    alg = check_alg(a.alg)
    cat = _catalog(a)
    dev, link = cat.device(a.device), cat.link(a.link)
    measured = load_measured(a.counts)
    modes = MODES if a.mode == "all" else (a.mode,)
    encrypted = None
    if a.encrypted is not None:
        from ..energy.decrypt import check_content, check_key_exchange

        encrypted = check_content(a.encrypted)
        check_key_exchange(a.key_exchange)
    try:
        tuf = TufRepo(targets=a.tuf_targets)
    except ValueError as exc:
        raise UsageError(f"--tuf-targets: {exc}") from None
    costs = [update_cost(dev, link, measured, Scenario(
        size, alg=alg, mode=m, library=a.lib, sha=a.sha, boots=a.boots,
        envelope_bytes=a.envelope_bytes, tuf_bytes=a.tuf_bytes, tuf=tuf, encrypted=encrypted,
        key_exchange=a.key_exchange)) for m in modes]
    if a.patch_size is not None:
        _delta_report(a, costs, parse_size(a.patch_size))
        return None
    if a.plot is not None:
        from ..energy.plot import plot_breakdown

        plot_breakdown(costs, a.plot, f"One {format_size(size)} update: {dev.name} over {link.name}, {alg}",
                       [c.scenario.mode for c in costs])
    if a.json_out:
        emit_json({"device": dev.name, "device_title": dev.title, "link": link.name, "link_title": link.title,
                   "image_bytes": size, "alg": alg, "estimate": True, "counts": measured.path,
                   "modes": [_cost_json(c) for c in costs]})
        return None
    echo(f"One {format_size(size)} update on {dev.title} over {link.title} (estimates; sources: fwsign energy --list --sources)")
    for c in costs:
        _print_cost(c)
    if len(costs) > 1:
        echo("comparison:")
        for c in costs:
            echo(f"  {c.scenario.mode:8} total {c.total_j * 1e3:10.3f} mJ  security {c.security_j * 1e3:9.3f} mJ "
                 f"({c.overhead_share:.1%})  metadata {c.metadata_bytes} B, {c.signatures_at_install} signature(s) at install")
    if a.plot is not None:
        echo(f"plot: {a.plot}")
    return None


def _delta_report(a: argparse.Namespace, full: list[Any], patch: int) -> None:
    """--patch-size: the patch release against the full update, per mode (docs/delta.md)."""
    from dataclasses import replace

    from ..energy import load_measured, update_cost
    from ..errors import UsageError

    if any(c.scenario.mode == "mcuboot" for c in full):
        raise UsageError("--patch-size compares SUIT releases: give --mode suit or tuf")
    cat = _catalog(a)
    dev, link = cat.device(a.device), cat.link(a.link)
    measured = load_measured(a.counts)
    rows = []
    for c in full:
        d = update_cost(dev, link, measured, replace(c.scenario, patch_bytes=patch))
        rows.append({"mode": c.scenario.mode, "full_mj": c.total_j * 1e3, "patch_mj": d.total_j * 1e3,
                     "energy_ratio": d.total_j / c.total_j, "patch_bytes": patch,
                     "image_bytes": c.scenario.image_bytes, "size_ratio": patch / c.scenario.image_bytes,
                     "full": _cost_json(c), "patch": _cost_json(d)})
    if a.json_out:
        emit_json({"device": dev.name, "link": link.name, "estimate": True, "delta": rows})
        return
    echo(f"Patch release vs full update on {dev.title} over {link.title} (estimates; docs/delta.md)")
    for r in rows:
        echo(f"  {r['mode']:5} patch {r['patch_bytes']} B = {r['size_ratio']:.1%} of the {r['image_bytes']} B image; "
             f"energy {r['patch_mj']:.3f} mJ vs {r['full_mj']:.3f} mJ = {r['energy_ratio']:.1%}")
