"""Simulated device commands: create, install, boot, status (the C boot flow over modelled flash)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import CliExit, add_command, add_identity_options, echo, emit_json, identity, non_negative, parse_now


def register(sub: Any) -> None:
    dev = sub.add_parser("device", help="Simulated device running the C reference boot flow (see docs/device.md).",
                         description="A simulated device: two flash slots, a monotonic counter and the C "
                                     "reference verifier's boot flow, with power-fail injection.")
    dsub = dev.add_subparsers(title="device commands", metavar="COMMAND", parser_class=type(dev))

    p = add_command(dsub, "create", cmd_create, "Provision a new device in DIR (erased flash, counter 0).")
    p.add_argument("dir", type=Path, metavar="DIR", help="Directory that will hold the device state.")
    p.add_argument("--trust", action="append", type=Path, metavar="KEY", required=True,
                   help="Trust anchor: P-256 or Ed25519 public key, or HMAC key; repeatable (up to 8).")
    add_identity_options(p, expected=False)
    p.add_argument("--device-id", metavar="UUID", help="This device's own identifier (for condition device-identifier).")
    p.add_argument("--sector-size", type=non_negative, default=4096, metavar="BYTES", help="Flash erase unit (default 4096).")
    p.add_argument("--write-size", type=non_negative, default=8, metavar="BYTES", help="Flash write unit (default 8).")
    p.add_argument("--slot-sectors", type=non_negative, default=32, metavar="N",
                   help="Sectors per slot (default 32: 128 KiB slots, images up to 120 KiB).")
    p.add_argument("--trusted-root", type=Path, metavar="ROOT_JSON",
                   help="TUF root metadata to embed, for 'fwsign device update' (can also be given there).")
    p.add_argument("--decrypt-key", action="append", default=[], type=Path, metavar="KEY",
                   help="Payload decryption key: X25519/P-256 private key or KEK (docs/encryption.md); repeatable.")

    p = add_command(dsub, "install", cmd_install, "Verify an envelope and stage it in the inactive slot.")
    p.add_argument("dir", type=Path, metavar="DIR", help="Device directory.")
    p.add_argument("envelope", type=Path, metavar="ENVELOPE", help="SUIT envelope (binary or hex text).")
    p.add_argument("--payload", type=Path, metavar="FILE",
                   help="The firmware image the envelope describes (what directive-fetch downloads).")
    p.add_argument("--slot-payload", action="append", metavar="SLOT=FILE", default=[],
                   help="A/B releases: the image built for SLOT; the device takes the one for the slot it "
                        "installs into. Repeatable.")
    p.add_argument("--now", metavar="TIME",
                   help="The device's clock for delegation expiry: seconds since the epoch or ISO 8601 "
                        "(default: this host's clock).")
    _power_options(p)

    p = add_command(dsub, "boot", cmd_boot, "Power the device on: verify and start an image; a new image confirms itself.")
    p.add_argument("dir", type=Path, metavar="DIR", help="Device directory.")
    p.add_argument("--no-confirm", action="store_true",
                   help="The started image fails its health check and does not confirm (the next boot reverts).")
    _power_options(p)

    p = add_command(dsub, "update", cmd_update,
                    "Fetch the newest release from a TUF repository (fwsign.client) and install it.")
    p.add_argument("dir", type=Path, metavar="DIR", help="Device directory.")
    p.add_argument("--repo", required=True, metavar="URL", help="Repository base URL (serving metadata/ and targets/).")
    p.add_argument("--trusted-root", type=Path, metavar="ROOT_JSON",
                   help="Bootstrap TUF root (default: the one embedded with 'device create --trusted-root').")
    p.add_argument("--now", metavar="TIME",
                   help="Reference time for metadata and delegation expiry: ISO 8601 or seconds since the epoch "
                        "(default: the clock).")
    p.add_argument("--boot", action="store_true", help="Power-cycle after a successful install (boot and confirm).")
    _power_options(p)
    from .repo import add_transfer_options

    add_transfer_options(p)

    p = add_command(dsub, "status", cmd_status, "Show slots, counter, last boot and flash wear.")
    p.add_argument("dir", type=Path, metavar="DIR", help="Device directory.")
    p.add_argument("--json", dest="json_out", action="store_true", help="Machine-readable form.")


def _power_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cut-after", type=non_negative, metavar="N",
                   help="Cut power after the Nth flash operation (fault injection).")
    p.add_argument("--torn", action="store_true", help="With --cut-after: leave the interrupted operation half done.")
    p.add_argument("--json", dest="json_out", action="store_true", help="Print the result as JSON.")


def cmd_create(a: argparse.Namespace) -> None:
    from ..device import Geometry, create
    from .common import uuid_arg

    vid, cid = identity(a, required=True)
    assert vid is not None and cid is not None
    did = uuid_arg(a.device_id, "--device-id") if a.device_id else None
    root: bytes | None = None
    if a.trusted_root is not None:
        root = _read(a.trusted_root, "trusted root")
    dev = create(a.dir, a.trust, vid, cid, did, Geometry(a.sector_size, a.write_size, a.slot_sectors),
                 decrypt=a.decrypt_key)
    if root is not None:
        from ..keys import write_atomic

        write_atomic(a.dir / "tuf-root.json", root)
    g = dev.config.geometry
    echo(f"created device in {a.dir}: 2 slots of {g.slot_size} bytes (image up to {g.image_capacity}), "
         f"{len(dev.config.trust)} trust anchor(s), {len(dev.config.decrypt)} decryption key(s), counter 0")


def _device_time(text: str | None) -> int | None:
    """``--now``: seconds since the epoch, or an ISO 8601 time; None: the host's clock."""
    now = parse_now(text)
    return None if now is None else int(now.timestamp())


def _read(path: Path, what: str) -> bytes:
    from ..errors import UsageError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None


def _arm(dev: Any, a: argparse.Namespace) -> None:
    from ..errors import UsageError

    if a.torn and a.cut_after is None:
        raise UsageError("--torn needs --cut-after")
    if a.cut_after is not None:
        dev.flash.cut_after = dev.flash.ops + a.cut_after
        dev.flash.torn = a.torn


def _report(a: argparse.Namespace, ok: bool, text: str, data: dict[str, Any]) -> None:
    if a.json_out:
        emit_json({"ok": ok, **data})
    else:
        echo(text, err=not ok)


def cmd_install(a: argparse.Namespace) -> int:
    from ..device import open_device, save
    from ..errors import FwsignError, UsageError
    from .common import read_envelope

    dev = open_device(a.dir)
    dev.now = _device_time(a.now)
    env = read_envelope(a.envelope)
    payload: bytes | None = None
    if a.payload is not None:
        payload = _read(a.payload, "payload")
    payloads = _integrated(env)
    if a.slot_payload:
        if payload is not None:
            raise UsageError("give --payload or --slot-payload, not both")
        chosen = _slot_payloads(a.slot_payload).get(dev.install_target())
        if chosen is None:
            raise UsageError(f"no --slot-payload for slot {dev.install_target()}, the slot this install writes")
        payload = _read(chosen, "payload")
    _arm(dev, a)
    try:
        slot = dev.install(env, payload, payloads)
    except FwsignError as err:
        save(dev, a.dir)
        _report(a, False, f"refused: {err.describe()}", {"reason": err.reason, "error": err.describe()})
        raise CliExit(err.exit_code) from None
    save(dev, a.dir)
    _report(a, True, f"staged in slot {slot}; it is verified again and started on trial at the next boot",
            {"slot": slot})
    return 0


def _slot_payloads(items: list[str]) -> dict[int, Path]:
    from ..errors import UsageError

    out: dict[int, Path] = {}
    for item in items:
        slot, sep, file = item.partition("=")
        if not sep or not slot.isdigit() or not file:
            raise UsageError(f"--slot-payload wants SLOT=FILE, got {item!r}")
        out[int(slot)] = Path(file)
    return out


def _integrated(env: bytes) -> dict[str, bytes]:
    """Integrated payloads (text keys of the envelope), for fetches with a '#name' uri."""
    from ..errors import FwsignError
    from ..suit.decode import decode_envelope

    try:
        decoded = decode_envelope(env)
    except FwsignError:
        return {}  # the C verifier gives the reason
    return {f"#{name}" if not name.startswith("#") else name: data for name, data in decoded.payloads}


def cmd_update(a: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from ..client import fetch_update
    from ..device import open_device, save
    from ..errors import FwsignError, UsageError
    from .common import EXIT_UP_TO_DATE

    dev = open_device(a.dir)
    root_file = a.trusted_root or a.dir / "tuf-root.json"
    if not root_file.exists():
        raise UsageError("give --trusted-root (the device has no embedded TUF root)")
    root = _read(root_file, "trusted root")
    dev.now = _device_time(a.now)
    now = None if dev.now is None else datetime.fromtimestamp(dev.now, UTC)
    running = max([dev.counter.value, *[s.sequence for s in dev.slots() if s.state == "confirmed" and s.sequence]])
    from .repo import transfer_limits

    res = fetch_update(a.repo, root, dev.config.vendor_id, dev.config.class_id, running, dev.suit_keys(),
                       a.dir / "downloads", cache_dir=a.dir / "tuf-cache", now=now, limits=transfer_limits(a),
                       device_id=dev.config.device_id, running_image=_running_image(dev))
    if not res.updated:
        _report(a, True, res.message, {"updated": False, "held": res.held, "sequence": res.sequence, "rollout": res.rollout})
        return EXIT_UP_TO_DATE
    payload = res.payload_path.read_bytes() if res.payload_path is not None else None
    _arm(dev, a)
    try:
        slot = dev.install(res.envelope, payload)
        out = dev.boot() if a.boot else None
    except FwsignError as err:
        save(dev, a.dir)
        _report(a, False, f"refused: {err.describe()}", {"reason": err.reason, "error": err.describe()})
        raise CliExit(err.exit_code) from None
    save(dev, a.dir)
    text = f"fetched release {res.sequence} and staged it in slot {slot}"
    if out is not None:
        text += f"; booted slot {out.slot}, sequence {out.sequence}{' (confirmed)' if out.confirmed else ''}"
    if res.delivery == "patch":
        text += " (from a patch)"
    _report(a, True, text, {"updated": True, "sequence": res.sequence, "slot": slot,
                            "boot": out.as_dict() if out is not None else None,
                            "delivery": res.delivery, "fallback": res.fallback})
    return 0


def _running_image(dev: Any) -> bytes | None:
    """The image of the newest confirmed slot: what a delta release's patch applies to."""
    confirmed = [s for s in dev.slots() if s.state == "confirmed" and s.sequence is not None and s.image_size]
    if not confirmed:
        return None
    best = max(confirmed, key=lambda s: s.sequence)
    image: bytes = dev.image(best.slot, best.image_size)
    return image


def cmd_boot(a: argparse.Namespace) -> int:
    from ..device import open_device, save
    from ..errors import FwsignError

    dev = open_device(a.dir)
    _arm(dev, a)
    try:
        out = dev.boot(confirm=not a.no_confirm)
    except FwsignError as err:
        save(dev, a.dir)
        _report(a, False, f"boot failed: {err.describe()}", {"reason": err.reason, "error": err.describe()})
        raise CliExit(err.exit_code) from None
    save(dev, a.dir)
    kind = "trial of a new image, " + ("confirmed" if out.confirmed else "NOT confirmed (next boot reverts)") \
        if out.trial else "confirmed image"
    _report(a, True, f"booted slot {out.slot}: sequence {out.sequence}, {kind}; image sha256 {out.image_digest[:16]}...",
            out.as_dict())
    return 0


def cmd_status(a: argparse.Namespace) -> None:
    from ..device import open_device

    st = open_device(a.dir).status()
    if a.json_out:
        emit_json(st)
        return
    echo(f"vendor-id {st['vendor_id']}  class-id {st['class_id']}")
    echo(f"counter   {st['counter']}")
    for s in st["slots"]:
        extra = "" if s["sequence"] is None else f"  sequence {s['sequence']}, {s['image_size']} bytes"
        echo(f"slot {s['slot']}    {s['state']}{extra}")
    lb = st["last_boot"]
    if lb is None:
        echo("last boot never")
    elif lb.get("ok"):
        echo(f"last boot slot {lb['slot']}, sequence {lb['sequence']}{' (trial)' if lb['trial'] else ''}")
    else:
        echo(f"last boot FAILED: {lb.get('reason')}")
    f = st["flash"]
    echo(f"flash     {f['size']} bytes, {f['sector_size']}-byte sectors, {f['write_size']}-byte writes; "
         f"{f['operations']} operations, {f['erases_total']} erases (max {f['erases_max_sector']} per sector)")
