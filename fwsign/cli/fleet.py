"""The fleet collector (``fwsign fleet ...``): every command is one library call.

The logic lives in :mod:`fwsign.fleet`. ``--db`` is a SQLite file (default
``fleet.sqlite``) or a ``postgresql://`` URL; every command applies the schema's pending
migrations first.

Exit codes: 0 done, 2 usage, an unusable or already registered key, unreadable input, or a database
that cannot be reached.
"""

from __future__ import annotations

import argparse
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from .common import add_command, echo, emit_json, non_negative, parse_now

DEFAULT_DB = "fleet.sqlite"


def register(sub: Any) -> None:
    grp = add_command(sub, "fleet", _no_subcommand, "Collect signed SUIT reports of a fleet; its status page and figures.")
    fs = grp.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(grp))

    p = add_command(fs, "init", cmd_init, "Create the collector's database, or migrate it to the current schema.")
    _db(p)

    p = add_command(fs, "register", cmd_register, "Register a device's public report key (and its class).")
    _db(p)
    p.add_argument("device_id", metavar="DEVICE_ID", nargs="?", help="The device id (UUID) reports are posted for.")
    p.add_argument("--key", type=Path, metavar="PEM", help="The device's public report key (P-256 or Ed25519).")
    p.add_argument("--class-id", metavar="UUID", help="The device's class id.")
    p.add_argument("--device", type=Path, metavar="DIR",
                   help="A simulated device directory (fwsign device create): id, class and public key from it.")

    p = add_command(fs, "release", cmd_release, "Record a release: which manifest its reports name, when it became available.")
    _db(p)
    p.add_argument("envelope", type=Path, metavar="ENVELOPE")
    p.add_argument("--class-id", required=True, metavar="UUID")
    p.add_argument("--sequence", type=non_negative, required=True, metavar="N")
    p.add_argument("--available-at", metavar="TIME", help="ISO 8601 time it became available (default now).")

    p = add_command(fs, "serve", cmd_serve, "Run the HTTP collector and its status page.")
    _db(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=non_negative, default=8440)
    p.add_argument("--token-file", type=Path, required=True, metavar="FILE",
                   help="The status page's read-only token (created, 0600, when the file does not exist).")
    _rollout_opts(p)
    p.add_argument("--rollout-key", metavar="SPEC",
                   help="The rollout role's private key (PEM or signer URI): with --repo, the collector checks the "
                        "rollouts' halt rules and publishes the signed halt when one fires.")
    p.add_argument("--halt-interval", type=float, default=5.0, metavar="SECONDS",
                   help="How often the halt rules are checked (default 5).")

    p = add_command(fs, "status", cmd_status, "The fleet's figures: per class and stage, reasons, releases, install times.")
    _db(p)
    _rollout_opts(p)
    p.add_argument("--json", action="store_true")


def _db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=DEFAULT_DB, metavar="URL",
                   help=f"SQLite file (default {DEFAULT_DB}) or postgresql://user@host:port/dbname.")


def _rollout_opts(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--rollout", type=Path, action="append", default=[], metavar="FILE",
                     help="A rollout file (rollouts/<class>.json of the repository): stages and cohorts; repeatable.")
    src.add_argument("--repo", type=Path, metavar="DIR", help="Read the rollouts from this fwsign repository.")


def _source(a: argparse.Namespace) -> Any:
    """A function returning the current rollouts by class id."""
    if a.repo is not None:
        from ..fleet.halt import repo_rollouts

        repo = a.repo
        return lambda: repo_rollouts(repo)
    paths = list(a.rollout)
    return lambda: _rollouts(paths)


def _no_subcommand(a: argparse.Namespace) -> int:
    from ..errors import UsageError

    raise UsageError("give a sub-command: fwsign fleet init|register|release|serve|status")


def _open(a: argparse.Namespace) -> Any:
    from ..fleet.db import Database

    db = Database(a.db)
    db.migrate()
    return db


def _uuid(text: str, what: str) -> str:
    from ..errors import UsageError

    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise UsageError(f"{what} {text!r} is not a UUID") from None


def cmd_init(a: argparse.Namespace) -> None:
    db = _open(a)
    echo(f"fleet database ready: {db.url if db.postgres else db.path}")


def cmd_register(a: argparse.Namespace) -> None:
    from ..errors import UsageError
    from ..keys import read_key_file

    if a.device is not None:
        from ..device.device import open_device, report_verification_key

        cfg = open_device(a.device).config
        if cfg.device_id is None:
            raise UsageError(f"the device in {a.device} has no device id")
        device_id, class_id = str(uuid.UUID(bytes=cfg.device_id)), str(uuid.UUID(bytes=cfg.class_id))
        key_path = report_verification_key(a.device)
    else:
        if a.device_id is None or a.key is None or a.class_id is None:
            raise UsageError("give DEVICE_ID --key PEM --class-id UUID, or --device DIR")
        device_id, class_id, key_path = _uuid(a.device_id, "device id"), _uuid(a.class_id, "class id"), a.key
    row = _open(a).register_device(device_id, class_id, read_key_file(key_path, "report key"))
    echo(f"registered device {row.device_id} (class {row.class_id}, key {row.kid})")


def cmd_release(a: argparse.Namespace) -> None:
    from .common import read_envelope

    at = parse_now(a.available_at)
    row = _open(a).add_release(_uuid(a.class_id, "class id"), a.sequence, read_envelope(a.envelope),
                               None if at is None else int(at.timestamp()))
    echo(f"release {row.sequence} of class {row.class_id}: manifest {row.digest[:16]}..., available {row.available_at}")


def _rollouts(paths: list[Path]) -> dict[str, Any]:
    from ..errors import UsageError
    from ..repo.rollout import parse

    out = {}
    for p in paths:
        try:
            r = parse(p.read_bytes())
        except OSError as exc:
            raise UsageError(f"cannot read {p}: {exc.strerror}") from None
        out[r.class_id] = r
    return out


def _token(path: Path) -> str:
    from ..errors import UsageError
    from ..keys import write_atomic

    if path.exists():
        token = path.read_text().strip()
        if len(token) < 16:
            raise UsageError(f"the token in {path} is shorter than 16 characters")
        return token
    token = secrets.token_urlsafe(24)
    write_atomic(path, (token + "\n").encode(), mode=0o600)
    echo(f"status token written to {path}")
    return token


def cmd_serve(a: argparse.Namespace) -> None:
    from ..errors import UsageError
    from ..fleet.app import serve

    if a.rollout_key is not None and a.repo is None:
        raise UsageError("--rollout-key needs --repo DIR (the repository whose rollouts it halts)")
    db = _open(a)
    token = _token(a.token_file)
    source = _source(a)
    source()  # unreadable rollouts fail here, before the port opens
    echo(f"fleet collector on http://{a.host}:{a.port}/ (reports: POST /v1/devices/ID/reports; page: /status)")
    serve(db, token, a.host, a.port, rollouts=source, repo_dir=a.repo, rollout_key=a.rollout_key,
          halt_interval=a.halt_interval)


def cmd_status(a: argparse.Namespace) -> None:
    from ..fleet.status import figures

    db = _open(a)
    fig = figures(db.devices(), db.releases(), db.reports(), _source(a)(), int(time.time()))
    if a.json:
        emit_json(fig)
        return
    echo(f"{fig['devices']} devices, {fig['reports']} reports")
    for cid, c in fig["classes"].items():
        ro = c["rollout"]
        echo(f"class {cid}" + ("" if ro is None else f": rollout of release {ro['release']} {ro['state']}"))
        if ro is not None and ro.get("halted_by"):
            echo(f"  halted by: {ro['halted_by']}")
        echo(f"  {'stage':<14}{'installed':>10}{'refused':>9}{'reverted':>9}{'pending':>9}")
        for stage, n in c["stages"].items():
            echo(f"  {stage:<14}{n['installed']:>10}{n['refused']:>9}{n['reverted']:>9}{n['pending']:>9}")
        if c["reasons"]:
            echo("  reasons: " + ", ".join(f"{r} {n}" for r, n in sorted(c["reasons"].items())))
        echo("  releases in the field: " + ", ".join(f"{v}: {n}" for v, n in c["versions"].items()))
    for m in fig["releases"]:
        med = "-" if m["median_seconds"] is None else f"{m['median_seconds']:.0f}s"
        p90 = "-" if m["p90_seconds"] is None else f"{m['p90_seconds']:.0f}s"
        share = "-" if m["still_on_share"] is None else f"{100 * m['still_on_share']:.1f}%"
        echo(f"release {m['release']} of {m['class_id']}: installed on {m['installed_devices']}, median {med}, "
             f"p90 {p90}, share of the class on it {share}")
