"""Signed staged rollouts (``fwsign rollout ...``): every command is one library call.

The logic lives in :mod:`fwsign.repo.rollout`; each command opens the repository with its
lock held, makes one change, and publishes it (``--no-publish`` only stages it, for a
rollout key held offline: ``fwsign repo sign DIR rollout --key ...`` then publishes).

Exit codes: 0 done, 1 a role short of signatures or a refused change of state
(``rollout-state``), 2 usage or unreadable input.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import add_command, echo, emit_json, non_negative

if TYPE_CHECKING:
    from ..repo.repository import Repository

ACTIONS = {"advance": "Start the next stage now (after the current one's minimum time).",
           "pause": "Freeze the rollout at the stage in effect.",
           "resume": "Continue a paused rollout; the next stage starts one period (--every) from now.",
           "halt": "Stop the rollout: no further device installs the release (fix forward with a newer release)."}
FAILURE_TYPES = ("refused", "reverted", "timed-out", "any")
_DURATION = re.compile(r"([0-9]{1,9})([smhdw]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def register(sub: Any) -> None:
    grp = add_command(sub, "rollout", _no_subcommand, "Signed staged rollouts per device class (TUF rollout role).")
    rs = grp.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(grp))

    p = add_command(rs, "init", cmd_init, "Delegate rollouts/* to the rollout role (its key held by field service).")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--key", action="append", default=[], metavar="SPEC",
                   help="Key of the rollout role: 'generate', a private PEM, URI@PUBLIC.pem, or a public PEM (offline); "
                        "repeatable (default: one generated key).")
    p.add_argument("--threshold", type=non_negative, default=1, metavar="N")
    _common(p)

    p = add_command(rs, "start", cmd_start, "Start a staged rollout of a class's newest release.")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("cls", metavar="CLASS", help="Class id (UUID) or the name of its class role.")
    p.add_argument("release", type=non_negative, metavar="RELEASE", help="Sequence number of the release.")
    p.add_argument("--stages", default="1,10,50,100", metavar="P,P,...",
                   help="Increasing percentages of the class's devices, one per stage (default 1,10,50,100).")
    p.add_argument("--every", type=duration, default=86400, metavar="DURATION",
                   help="Time from one stage to the next: 90s, 30m, 24h, 7d, 1w (default 24h).")
    p.add_argument("--min-stage", type=duration, metavar="DURATION",
                   help="Minimum time a stage runs before 'advance' may start the next (default 1h, at most --every).")
    p.add_argument("--fleet", type=Path, metavar="FILE",
                   help="Device inventory of the class (one device id UUID per line): each stage then admits exactly "
                        "its share of these devices (default: its share of the cohort space).")
    p.add_argument("--halt-above", type=percent, metavar="PCT",
                   help="Halt rule (read by fwsign fleet serve): halt when more than PCT%% of the admitted devices that "
                        "reached an outcome failed.")
    p.add_argument("--halt-on", action="append", choices=list(FAILURE_TYPES), metavar="TYPE",
                   help="Failure type the rule counts: refused, reverted, timed-out or any (default any); repeatable.")
    p.add_argument("--min-devices", type=non_negative, default=10, metavar="N",
                   help="A halt rule fires only once at least N devices reached an outcome (default 10).")
    p.add_argument("--report-timeout", type=duration, default=7200, metavar="DURATION",
                   help="An admitted device with no boot report this long after its stage started counts as timed out "
                        "(default 2h).")
    _common(p)

    for action, text in ACTIONS.items():
        p = add_command(rs, action, cmd_change, text)
        p.add_argument("dir", type=Path, metavar="DIR")
        p.add_argument("cls", metavar="CLASS", help="Class id (UUID) or the name of its class role.")
        p.set_defaults(action=action)
        _common(p)

    p = add_command(rs, "status", cmd_status, "Each class's rollout: release, stage, percent, next stage, state.")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("cls", nargs="?", metavar="CLASS", help="Only this class (default: every class with a rollout).")
    p.add_argument("--now", metavar="TIME", help="Evaluate at this time (seconds since the epoch or ISO 8601).")
    p.add_argument("--json", dest="json_out", action="store_true")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--now", metavar="TIME", help="Time of the change (seconds since the epoch or ISO 8601; default the clock).")
    p.add_argument("--no-publish", action="store_true", help="Only stage the change (publish later, or sign offline).")
    p.add_argument("--json", dest="json_out", action="store_true")
    p.add_argument("--lock-timeout", type=float, default=300.0, metavar="SECONDS",
                   help="Wait this long for another command changing the repository (default 300).")


def duration(text: str) -> int:
    """``90``, ``90s``, ``30m``, ``24h``, ``7d``, ``1w`` -> seconds."""
    m = _DURATION.fullmatch(text.strip())
    if m is None:
        raise argparse.ArgumentTypeError(f"expected a duration such as 90s, 30m, 24h, 7d, got {text!r}")
    return int(m.group(1)) * _UNIT[m.group(2)]


def percent(text: str) -> int:
    """``5%`` or ``5`` -> 5 (a whole percentage from 0 to 99)."""
    t = text.strip().removesuffix("%")
    if not t.isdigit() or not 0 <= int(t) <= 99:
        raise argparse.ArgumentTypeError(f"expected a whole percentage from 0 to 99, such as 5%, got {text!r}")
    return int(t)


def _no_subcommand(a: argparse.Namespace) -> int:
    from ..errors import UsageError

    raise UsageError("give a sub-command (fwsign rollout --help)")


def _now(a: argparse.Namespace) -> int:
    from .common import parse_now

    t = parse_now(a.now)
    return int(t.timestamp()) if t is not None else int(time.time())


def _class_id(repo: Repository, text: str) -> bytes:
    import uuid

    from ..errors import UsageError

    if text in repo.config.classes:
        text = repo.config.classes[text]
    try:
        return uuid.UUID(text).bytes
    except ValueError:
        raise UsageError(f"{text!r} is neither a class id (UUID) nor a class role of this repository") from None


def _finish(repo: Repository, a: argparse.Namespace, what: str, result: dict[str, Any]) -> int:
    from ..errors import ThresholdNotMet

    repo.save()
    published: dict[str, Any] | None = None
    code = 0
    if not a.no_publish:
        try:
            published = repo.publish().as_dict()
        except ThresholdNotMet as exc:
            result["pending"] = exc.message
            code = 1
    if a.json_out:
        emit_json({**result, "published": published})
    else:
        echo(what)
        if "pending" in result:
            echo(f"pending: {result['pending']}")
        elif published is None:
            echo(f"staged; run: fwsign repo publish {a.dir}")
    return code


def cmd_init(a: argparse.Namespace) -> int:
    from ..repo import rollout as R
    from ..repo.repository import Repository
    from ..repo.signing import PendingKeys, parse_key_spec

    with Repository.open(a.dir, lock_timeout=a.lock_timeout) as repo:
        pending = PendingKeys(a.dir)
        specs = a.key or ["generate"]
        keys = [parse_key_spec(s, a.dir, f"{R.ROLE}-{i + 1}", pending) for i, s in enumerate(specs)]
        R.check_delegation(repo, keys, a.threshold)
        pending.commit()
        try:
            R.delegate_role(repo, keys, a.threshold)
            repo.save()
        except BaseException:
            pending.rollback()
            raise
        repo.audit("rollout-init", artifact=R.ROLE, key_ids=[k.keyid for k in keys],
                   signers=[k.uri.split(":", 1)[0] if k.uri else "offline" for k in keys],
                   details={"threshold": a.threshold, "paths": [R.PATTERN]})
        return _finish(repo, a, f"delegated {R.PATTERN} to the {R.ROLE} role ({len(keys)} key(s), threshold {a.threshold})",
                       {"role": R.ROLE, "keys": [k.keyid for k in keys]})


def cmd_start(a: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..repo import rollout as R
    from ..repo.repository import Repository

    try:
        percents = [int(p) for p in a.stages.split(",")]
    except ValueError:
        raise UsageError(f"--stages must be comma-separated whole percentages, got {a.stages!r}") from None
    fleet = _fleet(a.fleet) if a.fleet is not None else []
    now = _now(a)
    with Repository.open(a.dir, lock_timeout=a.lock_timeout) as repo:
        cid = _class_id(repo, a.cls)
        min_stage = min(3600, a.every) if a.min_stage is None else a.min_stage
        rules = [] if a.halt_above is None else [
            R.HaltRule(t, a.halt_above, max(1, a.min_devices), a.report_timeout) for t in (a.halt_on or ["any"])]
        if a.halt_above is None and a.halt_on:
            raise UsageError("--halt-on needs --halt-above PCT")
        r = R.start(repo, cid, a.release, percents, a.every, min_stage, now, fleet=fleet, halt_rules=rules)
        repo.audit("rollout-start", artifact=R.rollout_path(cid), artifact_bytes=r.to_bytes(),
                   details={"release": r.release, "stages": percents, "every-seconds": r.every})
        return _finish(repo, a, f"rollout of release {r.release} started: stages {','.join(map(str, percents))}% "
                                f"every {r.every} s", r.status(now))


def _fleet(path: Path) -> list[bytes]:
    """Device ids from an inventory file: one UUID per line; blank lines and '#' comments ignored."""
    from ..errors import UsageError
    from .common import uuid_arg

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the fleet inventory {path}: {exc}") from None
    out = []
    for n, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if text:
            out.append(uuid_arg(text, f"{path}:{n}"))
    if not out:
        raise UsageError(f"the fleet inventory {path} lists no device")
    return out


def cmd_change(a: argparse.Namespace) -> int:
    from ..repo import rollout as R
    from ..repo.repository import Repository

    now = _now(a)
    with Repository.open(a.dir, lock_timeout=a.lock_timeout) as repo:
        cid = _class_id(repo, a.cls)
        r = R.change(repo, cid, a.action, now)
        repo.audit(f"rollout-{a.action}", artifact=R.rollout_path(cid), artifact_bytes=r.to_bytes(),
                   details={"release": r.release})
        st = r.status(now)
        return _finish(repo, a, f"rollout of release {r.release}: {a.action} done; now {st['state']} at {st['percent']}%", st)


def cmd_status(a: argparse.Namespace) -> int:
    from ..repo import rollout as R
    from ..repo.repository import Repository

    now = _now(a)
    repo = Repository(a.dir)
    cids = [_class_id(repo, a.cls)] if a.cls else R.classes(repo)
    rows = R.status(repo, cids, now)
    if a.json_out:
        emit_json({"now": now, "rollouts": rows})
        return 0
    if not rows:
        echo("no rollouts")
    for row in rows:
        if row["state"] == "none":
            echo(f"{row['class_id']}: no rollout")
            continue
        nxt = f", next stage at {row['next_stage_at']}" if row["next_stage_at"] is not None else ""
        stage = f"stage {row['stage']}/{row['stages']}" if row["stage"] is not None else "not started"
        echo(f"{row['class_id']}: release {row['release']} {row['state']}, {stage}, {row['percent']}% of devices{nxt}")
        for rule in row.get("halt_rules", []):
            echo(f"  halt rule: {rule['failure']} above {rule['above-percent']}% of at least {rule['min-devices']} devices, "
                 f"report timeout {rule['report-timeout']} s")
        if row.get("halted_by"):
            echo(f"  halted by: {row['halted_by']}")
    return 0
