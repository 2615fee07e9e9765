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
    p.add_argument("--report-key", choices=("p256", "ed25519", "hmac", "none"), default="p256",
                   help="The device's own key that signs its SUIT reports (generated here, private 0600; "
                        "hmac: a COSE_Mac0 key shared with the verifier; default p256).")
    p.add_argument("--register-report-key", type=Path, metavar="REGISTRY",
                   help="Also put the report verification key in REGISTRY, named by key id (see 'report verify').")

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
    p.add_argument("--capabilities", action="store_true",
                   help="The install report also carries the device's capability report.")

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

    p = add_command(dsub, "report-key", cmd_report_key,
                    "Show the device's SUIT report verification key, or register it where a verifier looks.")
    p.add_argument("dir", type=Path, metavar="DIR", help="Device directory.")
    p.add_argument("--register", type=Path, metavar="REGISTRY",
                   help="Copy the key into REGISTRY as <key id>.pem (what 'report verify --key-registry' reads).")
    _update_management_commands(dsub)

    p = add_command(dsub, "status", cmd_status, "Show slots, counter, last boot and flash wear.")
    p.add_argument("dir", type=Path, metavar="DIR", help="Device directory.")
    p.add_argument("--json", dest="json_out", action="store_true", help="Machine-readable form.")


def _power_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nonce", metavar="HEX",
                   help="The collector's challenge the SUIT reports of this operation carry (default: 16 random bytes).")
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
                 decrypt=a.decrypt_key, report_key=None if a.report_key == "none" else a.report_key)
    if root is not None:
        from ..keys import write_atomic

        write_atomic(a.dir / "tuf-root.json", root)
    g = dev.config.geometry
    echo(f"created device in {a.dir}: 2 slots of {g.slot_size} bytes (image up to {g.image_capacity}), "
         f"{len(dev.config.trust)} trust anchor(s), {len(dev.config.decrypt)} decryption key(s), counter 0")
    if dev.config.report_key is not None:
        from ..device import register_report_key, report_verification_key

        echo(f"SUIT reports signed with {a.report_key} key {a.dir / 'report' / dev.config.report_key} (private, 0600); "
             f"verify them with {report_verification_key(a.dir)}")
        if a.register_report_key is not None:
            echo(f"registered the report key as {register_report_key(a.dir, a.register_report_key)}")
    elif a.register_report_key is not None:
        from ..errors import UsageError

        raise UsageError("--register-report-key needs a report key (not --report-key none)")


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

    if a.nonce is not None:
        try:
            dev.nonce = bytes.fromhex(a.nonce)
        except ValueError:
            raise UsageError("--nonce wants hex") from None
    if a.torn and a.cut_after is None:
        raise UsageError("--torn needs --cut-after")
    if a.cut_after is not None:
        dev.flash.cut_after = dev.flash.ops + a.cut_after
        dev.flash.torn = a.torn


def _report(a: argparse.Namespace, ok: bool, text: str, data: dict[str, Any], reports: list[Path] | None = None) -> None:
    if a.json_out:
        emit_json({"ok": ok, **data, **({"reports": [str(r) for r in reports]} if reports is not None else {})})
    else:
        echo(text, err=not ok)
        for r in reports or ():  # on stdout: a refusal stays one line on stderr
            echo(f"SUIT report: {r}")


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
    dev.capabilities = a.capabilities
    _clear_pending(a.dir)  # a new update replaces one that was waiting
    try:
        slot = dev.install(env, payload, payloads)
    except FwsignError as err:
        if err.reason == "deferred":
            _keep_pending(a.dir, env, payload)
        reports = save(dev, a.dir)
        _report(a, False, _refusal_text(err), {"reason": err.reason, "error": err.describe()}, reports)
        raise CliExit(err.exit_code) from None
    dev.authorized = False  # an operator's authorization is spent by the install it allowed
    reports = save(dev, a.dir)
    _report(a, True, f"staged in slot {slot}; it is verified again and started on trial at the next boot",
            {"slot": slot}, reports)
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
        reports = save(dev, a.dir)
        _report(a, False, f"refused: {err.describe()}", {"reason": err.reason, "error": err.describe()}, reports)
        raise CliExit(err.exit_code) from None
    reports = save(dev, a.dir)
    text = f"fetched release {res.sequence} and staged it in slot {slot}"
    if out is not None:
        text += f"; booted slot {out.slot}, sequence {out.sequence}{' (confirmed)' if out.confirmed else ''}"
    if res.delivery == "patch":
        text += " (from a patch)"
    _report(a, True, text, {"updated": True, "sequence": res.sequence, "slot": slot,
                            "boot": out.as_dict() if out is not None else None,
                            "delivery": res.delivery, "fallback": res.fallback}, reports)
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
        reports = save(dev, a.dir)
        _report(a, False, f"boot failed: {err.describe()}", {"reason": err.reason, "error": err.describe()}, reports)
        raise CliExit(err.exit_code) from None
    reports = save(dev, a.dir)
    kind = "trial of a new image, " + ("confirmed" if out.confirmed else "NOT confirmed (next boot reverts)") \
        if out.trial else "confirmed image"
    _report(a, True, f"booted slot {out.slot}: sequence {out.sequence}, {kind}; image sha256 {out.image_digest[:16]}...",
            out.as_dict(), reports)
    return 0


def cmd_report_key(a: argparse.Namespace) -> None:
    from ..device import register_report_key, report_verification_key
    from ..keys import key_id, load_public

    path = report_verification_key(a.dir)
    echo(f"report key id {key_id(load_public(path)).hex()}: {path}")
    if a.register is not None:
        echo(f"registered as {register_report_key(a.dir, a.register)}")


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
    um = st["update_management"]
    echo(f"update    battery {'unknown' if um['battery_mwh'] is None else str(um['battery_mwh']) + ' mWh'}, "
         f"{'in use' if um['in_use'] else 'idle'}, {'authorized' if um['authorized'] else 'not authorized'}, "
         f"version {um['version'] if um['version'] is not None else 'unknown'}"
         + (", an update is pending" if (a.dir / PENDING).exists() else ""))
    f = st["flash"]
    echo(f"flash     {f['size']} bytes, {f['sector_size']}-byte sectors, {f['write_size']}-byte writes; "
         f"{f['operations']} operations, {f['erases_total']} erases (max {f['erases_max_sector']} per sector)")


# -- update management (docs/processing-model.md section 14.6, docs/update-management.md) --

PENDING = "pending.suit"
PENDING_PAYLOAD = "pending.payload"


def _update_management_commands(dsub: Any) -> None:
    p = add_command(dsub, "set", cmd_set,
                    "Set the device's battery level and whether it is in use; a deferred update then runs again.")
    p.add_argument("dir", type=Path, metavar="DIR", help="Device directory.")
    p.add_argument("--battery", type=non_negative, metavar="MWH", help="Energy left in the battery, mWh.")
    p.add_argument("--no-battery", action="store_true", help="The device has no battery reading.")
    use = p.add_mutually_exclusive_group()
    use.add_argument("--in-use", dest="in_use", action="store_true", default=None,
                     help="The device is in use (treating a patient): its application authorizes no update.")
    use.add_argument("--idle", dest="in_use", action="store_false", help="The device is not in use.")
    p.add_argument("--now", metavar="TIME", help="The device's clock for the retried update (default: this host's).")
    p.add_argument("--json", dest="json_out", action="store_true", help="Print the result as JSON.")

    p = add_command(dsub, "authorize", cmd_authorize,
                    "An operator authorizes the pending (or next) update; a deferred update then runs again.")
    p.add_argument("dir", type=Path, metavar="DIR", help="Device directory.")
    p.add_argument("--now", metavar="TIME", help="The device's clock for the retried update (default: this host's).")
    p.add_argument("--json", dest="json_out", action="store_true", help="Print the result as JSON.")


def _refusal_text(err: Any) -> str:
    if err.reason == "deferred":
        return (f"{err.describe()}; kept as the pending update, run again by "
                "'fwsign device set' or 'fwsign device authorize'")
    return f"refused: {err.describe()}"


def _keep_pending(directory: Path, env: bytes, payload: bytes | None) -> None:
    from ..keys import write_atomic

    if payload is not None:
        write_atomic(directory / PENDING_PAYLOAD, payload)
    write_atomic(directory / PENDING, env)


def _clear_pending(directory: Path) -> None:
    for name in (PENDING, PENDING_PAYLOAD):
        (directory / name).unlink(missing_ok=True)


def _retry_pending(dev: Any, a: argparse.Namespace, what: str) -> int:
    """Run the pending update again after the device's state changed; report and save."""
    from ..device import save
    from ..errors import FwsignError

    pending = a.dir / PENDING
    if not pending.exists():
        save(dev, a.dir)
        _report(a, True, f"{what}; no update is pending", {"pending": False})
        return 0
    env = _read(pending, "pending update")
    payload = _read(a.dir / PENDING_PAYLOAD, "pending payload") if (a.dir / PENDING_PAYLOAD).exists() else None
    dev.now = _device_time(a.now)
    try:
        slot = dev.install(env, payload, _integrated(env))
    except FwsignError as err:
        if err.reason != "deferred":
            _clear_pending(a.dir)
        save(dev, a.dir)
        _report(a, False, f"{what}; pending update {_refusal_text(err)}",
                {"pending": err.reason == "deferred", "reason": err.reason, "error": err.describe()})
        raise CliExit(err.exit_code) from None
    dev.authorized = False
    _clear_pending(a.dir)
    save(dev, a.dir)
    _report(a, True, f"{what}; the pending update is staged in slot {slot}; it is verified again and started "
                     "on trial at the next boot", {"pending": False, "slot": slot})
    return 0


def cmd_set(a: argparse.Namespace) -> int:
    from ..device import open_device
    from ..errors import UsageError

    if a.battery is not None and a.no_battery:
        raise UsageError("give --battery or --no-battery, not both")
    if a.battery is None and not a.no_battery and a.in_use is None:
        raise UsageError("nothing to set: give --battery MWH, --no-battery, --in-use or --idle")
    if a.battery is not None and a.battery >= 1 << 64:
        raise UsageError("--battery must fit in 64 bits")
    dev = open_device(a.dir)
    if a.battery is not None or a.no_battery:
        dev.battery = None if a.no_battery else a.battery
    if a.in_use is not None:
        dev.in_use = a.in_use
    battery = "no battery reading" if dev.battery is None else f"battery {dev.battery} mWh"
    return _retry_pending(dev, a, f"{battery}, {'in use' if dev.in_use else 'idle'}")


def cmd_authorize(a: argparse.Namespace) -> int:
    from ..device import open_device

    dev = open_device(a.dir)
    dev.authorized = True
    return _retry_pending(dev, a, "authorized" + (" (the device is in use: it will not update until idle)"
                                                  if dev.in_use else ""))
