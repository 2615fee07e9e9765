"""Audit log commands: fwsign log show, fwsign log verify.

Exit codes: 0 the log verifies, 1 a record was edited, removed or reordered (or the head does
not verify), 2 usage or unreadable input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import add_command, echo, emit_json


def register(sub: Any) -> None:
    grp = add_command(sub, "log", _no_subcommand, "Audit log of signing and publishing actions: show, verify.")
    ls = grp.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(grp))
    p = add_command(ls, "show", cmd_show, "Print the records of an audit log (no checks; use fwsign log verify).")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--json", dest="json_out", action="store_true")
    p = add_command(ls, "verify", cmd_verify,
                    "Check the hash chain and the signed head; exit 1 naming the first edited, removed or reordered record.")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("-k", "--key", type=Path, metavar="PUB", help="The log's public key (pins who signed the head).")
    p.add_argument("--json", dest="json_out", action="store_true")


def _no_subcommand(a: argparse.Namespace) -> int:
    from ..errors import UsageError

    raise UsageError("give a sub-command: fwsign log show FILE | fwsign log verify FILE")


def cmd_show(a: argparse.Namespace) -> None:
    from ..audit import read_records

    records = [r for _line, r in read_records(a.file)]
    if a.json_out:
        emit_json([r.as_dict() for r in records])
        return
    for r in records:
        parts = [f"#{r.seq}", r.time, r.action]
        if r.artifact:
            parts.append(r.artifact)
        if r.manifest_digest:
            parts.append(f"manifest {r.manifest_digest[:16]}")
        if r.key_ids:
            parts.append("keys " + ",".join(f"{k[:16]}({s})" for k, s in zip(r.key_ids, r.signers or ("?",) * len(r.key_ids),
                                                                                  strict=False)))
        if r.reason:
            parts.append(f"reason: {r.reason}")
        echo("  ".join(parts))


def cmd_verify(a: argparse.Namespace) -> None:
    from ..audit import verify_log
    from ..keys import load_public

    report = verify_log(a.file, load_public(a.key) if a.key is not None else None)
    if a.json_out:
        emit_json(report.as_dict())
        return
    pinned = "pinned" if report.head_key_pinned else "as named in the head; give -k to pin it"
    echo(f"valid: {report.records} record(s), head signed by {report.head_kid} ({pinned})")
