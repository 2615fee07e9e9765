"""Audit log commands: fwsign audit show|verify (also spelt fwsign log show|verify).

Exit codes: 0 the log verifies, 1 a record was edited, removed or reordered, the log was
cut off before its anchor (or the head does not verify), 2 usage or unreadable input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import add_command, echo, emit_json


def register(sub: Any) -> None:
    for name in ("audit", "log"):
        _register(sub, name)


def _register(sub: Any, name: str) -> None:
    grp = add_command(sub, name, _no_subcommand, "Audit log of signing and publishing actions: show, verify.")
    ls = grp.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(grp))
    p = add_command(ls, "show", cmd_show, "Print the records of an audit log (no checks; use fwsign log verify).")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--json", dest="json_out", action="store_true")
    p = add_command(ls, "verify", cmd_verify,
                    "Check the hash chain, the anchor in the repository's signed snapshot and the signed head; "
                    "exit 1 naming the first edited, removed or reordered record, or a log cut off.")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("-k", "--key", type=Path, metavar="PUB", help="The log's public key (pins who signed the head).")
    p.add_argument("--repo", metavar="DIR|URL",
                   help="Repository whose signed snapshot anchors the log (default: the repository FILE sits in, if any).")
    p.add_argument("--trusted-root", type=Path, metavar="ROOT.json",
                   help="Root to check the repository metadata with (default: the repository's trusted-root.json).")
    p.add_argument("--cache", type=Path, metavar="DIR",
                   help="Keep the repository metadata here between runs: a snapshot older than one seen before is refused.")
    p.add_argument("--no-anchor", action="store_true", help="Do not look for a repository anchor.")
    p.add_argument("--json", dest="json_out", action="store_true")


def _no_subcommand(a: argparse.Namespace) -> int:
    from ..errors import UsageError

    raise UsageError("give a sub-command: fwsign audit show FILE | fwsign audit verify FILE")


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


def _anchor(a: argparse.Namespace) -> Any:
    import datetime as dt

    from ..errors import UsageError
    from ..repo.anchor import published_anchor

    source = a.repo
    if source is None:
        parent = a.file.resolve().parent
        if a.no_anchor or not (parent / "repo.json").is_file():
            return None
        source = str(parent)
    root_file = a.trusted_root
    local = not str(source).startswith(("http://", "https://"))
    if root_file is None:
        if not local:
            raise UsageError("--repo URL needs --trusted-root (the root the repository's clients embed)")
        root_file = Path(source) / "trusted-root.json"
    try:
        root = root_file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read trusted root {root_file}: {exc.strerror}") from None
    # A local repository is read for its history, not its freshness: expiry does not apply there.
    now = dt.datetime(1970, 1, 2, tzinfo=dt.UTC) if local else None
    return published_anchor(source, root, cache_dir=a.cache, now=now)


def cmd_verify(a: argparse.Namespace) -> None:
    from ..audit import verify_log
    from ..keys import load_public

    report = verify_log(a.file, load_public(a.key) if a.key is not None else None, _anchor(a))
    if a.json_out:
        emit_json(report.as_dict())
        return
    pinned = "pinned" if report.head_key_pinned else "as named in the head; give -k to pin it"
    anchored = (f"; records 1-{report.anchor.seq} anchored in the repository's {report.anchor.source}"
                if report.anchor is not None else "; no repository anchor")
    echo(f"valid: {report.records} record(s), head signed by {report.head_kid} ({pinned}){anchored}")
