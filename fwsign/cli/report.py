"""SUIT report commands (draft-ietf-suit-report): fwsign report show, fwsign report verify."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import add_command, echo, emit_json


def register(sub: Any) -> None:
    grp = add_command(sub, "report", _no_subcommand,
                      "Read the signed SUIT reports a device sends about each install and boot (docs/reports.md).")
    rs = grp.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(grp))
    p = add_command(rs, "show", cmd_show,
                    "Decode a signed SUIT report (strictly) and print it. Does not authenticate it: use verify.")
    p.add_argument("report", type=Path, metavar="REPORT", help="A COSE_Sign1 / COSE_Mac0 carrying a SUIT_Report.")
    p.add_argument("--json", dest="json_out", action="store_true", help="Print the report as JSON.")

    p = add_command(rs, "verify", cmd_verify,
                    "Authenticate a signed SUIT report with the device's key, check its nonce, print it.")
    p.add_argument("report", type=Path, metavar="REPORT", help="A COSE_Sign1 / COSE_Mac0 carrying a SUIT_Report.")
    keys = p.add_mutually_exclusive_group(required=True)
    keys.add_argument("--device-key", type=Path, metavar="KEY",
                      help="The device's report key: public PEM, or the shared HMAC secret.")
    keys.add_argument("--key-registry", type=Path, metavar="DIR",
                      help="A directory of device keys named by key id (fwsign device report-key --register).")
    p.add_argument("--nonce", metavar="HEX", help="The challenge this report must answer.")
    p.add_argument("--seen", type=Path, metavar="FILE",
                   help="Replay guard: refuse a report whose nonce and manifest are listed in FILE; add it once accepted.")
    p.add_argument("--envelope", type=Path, metavar="ENVELOPE",
                   help="Also check that the report is about this envelope (its reference names it).")
    p.add_argument("--json", dest="json_out", action="store_true", help="Print the report as JSON.")


def _no_subcommand(a: argparse.Namespace) -> int:
    from ..errors import UsageError

    raise UsageError("give a sub-command: fwsign report show REPORT | fwsign report verify REPORT --device-key KEY")


def _read(path: Path) -> bytes:
    from ..errors import LimitError, UsageError
    from ..report import MAX_REPORT_BYTES

    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise LimitError(f"{path} is {size} bytes, more than a report may be ({MAX_REPORT_BYTES})")
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read report {path}: {exc.strerror}") from None


def _lines(signed: Any, verified: bool) -> list[str]:
    from ..report import SECTIONS, Record

    r = signed.report
    alg = {-7: "ES256", -8: "EdDSA", -9: "ESP256", -19: "Ed25519", 5: "HMAC 256/256"}.get(signed.alg, str(signed.alg))
    form = "COSE_Mac0" if signed.cose_tag == 17 else "COSE_Sign1"
    out = [
        f"{'verified' if verified else 'NOT VERIFIED'}: {form}, {alg}, kid {signed.kid.hex() if signed.kid else '-'}",
        f"manifest  {r.uri or '(no reference URI)'}  sha256 {r.digest.hex()}",
        f"nonce     {r.nonce.hex() if r.nonce is not None else '-'}",
    ]
    if r.failure is None:
        out.append("result    ok")
    else:
        f = r.failure
        where = f"{SECTIONS.get(f.record.section, str(f.record.section))} +{f.record.offset}, component {f.record.component}"
        out.append(f"result    {f.fwsign_reason} (code {f.code}; draft reason {f.draft_reason}) at {where}")
    for rec in r.records:
        if isinstance(rec, Record):
            out.append(f"record    {SECTIONS.get(rec.section, str(rec.section))} +{rec.offset}, component {rec.component}"
                       + (f", {len(rec.properties)} properties" if rec.properties else ""))
        else:
            out.append(f"system    component {'/'.join(c.hex() for c in rec.component_id)}: "
                       f"{len(rec.parameters)} parameters")
    if r.capabilities is not None:
        c = r.capabilities
        out.append(f"supports  commands {list(c.commands)}, parameters {list(c.parameters)}, "
                   f"algorithms {list(c.algorithms)}")
    return out


def cmd_show(a: argparse.Namespace) -> None:
    from ..report import decode_signed

    signed = decode_signed(_read(a.report))
    if a.json_out:
        emit_json({"verified": False, "alg": signed.alg, "kid": signed.kid.hex() if signed.kid else None,
                   **signed.report.as_dict()})
        return
    for line in _lines(signed, False):
        echo(line)


def _key(a: argparse.Namespace, data: bytes) -> Any:
    from ..errors import NoTrustedKey, UsageError
    from ..keys import load_public
    from ..report import decode_signed

    if a.device_key is not None:
        return load_public(a.device_key)
    kid = decode_signed(data).kid
    if kid is None:
        raise NoTrustedKey("the report names no key id; give --device-key")
    if not a.key_registry.is_dir():
        raise UsageError(f"no key registry at {a.key_registry}")
    path = a.key_registry / f"{kid.hex()}.pem"
    if not path.exists():
        raise NoTrustedKey(f"no device key with id {kid.hex()} in {a.key_registry}")
    return load_public(path)


def _seen(path: Path) -> set[bytes]:
    from ..errors import UsageError

    if not path.exists():
        return set()
    try:
        return {bytes.fromhex(line) for line in path.read_text().split()}
    except ValueError:
        raise UsageError(f"{path} is not a replay guard file (hex lines)") from None


def cmd_verify(a: argparse.Namespace) -> None:
    from ..errors import UsageError
    from ..keys import write_atomic
    from ..report import check_reference, replay_key, verify_report
    from .common import read_envelope

    data = _read(a.report)
    nonce = None
    if a.nonce is not None:
        try:
            nonce = bytes.fromhex(a.nonce)
        except ValueError:
            raise UsageError("--nonce wants hex") from None
    seen = _seen(a.seen) if a.seen is not None else None
    signed = verify_report(data, _key(a, data), nonce=nonce, seen=seen)
    if a.envelope is not None:
        check_reference(signed.report, read_envelope(a.envelope))
    if a.seen is not None and seen is not None:
        lines = sorted(x.hex() for x in seen | {replay_key(signed.report)})
        write_atomic(a.seen, ("\n".join(lines) + "\n").encode())
    if a.json_out:
        emit_json({"verified": True, "alg": signed.alg, "kid": signed.kid.hex() if signed.kid else None,
                   **signed.report.as_dict()})
        return
    for line in _lines(signed, True):
        echo(line)
