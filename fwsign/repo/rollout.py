"""Signed staged rollouts: which share of a device class may install a release, and when.

A rollout is a small JSON file per device class, ``rollouts/<class-id>.json``, published as
a TUF target of its own delegated role ``rollout`` (paths ``rollouts/*`` only, terminating;
its key is held by field service). It names the release (sequence number), the stages (a
percentage of devices each, with a start time and a minimum duration), a cohort salt, and
whether the rollout is paused or halted.

Why this cannot widen what a release allows: the rollout role signs only files under
``rollouts/`` (a TUF client does not trust it for any other path), and a device installs
only what the class's ``latest.suit`` names, which the release roles sign. A rollout can
hold a release back from some or all devices; it cannot introduce, change or downgrade
firmware. Being TUF metadata, it is protected like the rest: a replayed older rollout file
fails the snapshot's version check (rollback), one signed by another key fails the
delegation's signature check (arbitrary software), and a mirror withholding a halt is
caught by timestamp expiry (freeze) at most one timestamp period later.

Cohorts: a device's point is ``HMAC-SHA-256(key = salt, message = "fwsign-rollout-v1" ||
device id)``, its first 4 bytes as a big-endian integer in [0, 2^32). A stage admits the
devices whose point is below its signed ``bound``. HMAC-SHA-256 is a pseudorandom
function: for any fixed set of device ids, the points under a fresh random salt are
indistinguishable from independent uniform draws, whatever the ids look like (serial
numbers, UUIDs), so the default bound ``p% of 2^32`` admits p% of any large fleet. For a
fleet of n devices that is p% on average with a spread of sqrt(p(1-p)/n) (3.5 percentage
points at 50% of 200 devices); when field service gives its device inventory, each
stage's bound is instead set just above the point of the ``round(p% * n)``-th device, so
exactly that share of the known fleet is admitted, and devices not in the inventory still
fall in uniformly. Stages are nested (a device in the 1% stage is in the 10% one),
cohorts are stable for the life of a rollout, and each rollout's own salt makes a
different set of devices go first next time.

Schedule: stage ``i`` starts at ``start_0 + i * every`` unless moved. ``advance`` starts the
next stage now (once the current one has run its minimum time); ``pause`` freezes the
stage in effect; ``resume`` keeps that stage and moves the later ones to start one period
after the resume; ``halt`` stops the rollout for good, on every device, whatever its
clock. A halted release is never rolled back (SUIT anti-rollback keeps devices from going
back): it is fixed forward, by a newer release and a new rollout.
A rollout also holds back every newer release of its class until a rollout for that
release starts, so publishing a fix does not send it to every device at once.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import RepoError, RolloutInvalid, RolloutStateError, UsageError

if TYPE_CHECKING:
    from .repository import Repository
    from .signing import KeyRef

ROLE = "rollout"
DIRECTORY = "rollouts"
PATTERN = f"{DIRECTORY}/*"
FORMAT = 1
TYPE = "fwsign-rollout"
#: Points are 32-bit: a stage's bound is a point in [0, 2^32].
SPACE = 1 << 32
COHORT_LABEL = b"fwsign-rollout-v1"
MAX_STAGES = 16
MAX_FILE_BYTES = 4096
MAX_TIME = 2**40  # seconds since the epoch (year ~36800): bounds every time field
_HEX64 = re.compile(r"[0-9a-f]{64}")


def rollout_path(class_id: bytes) -> str:
    """The rollout file's target path for a device class."""
    return f"{DIRECTORY}/{uuid.UUID(bytes=class_id)}.json"


def cohort(salt: bytes, device_id: bytes) -> int:
    """The device's point in [0, 2^32): HMAC-SHA-256 of its id under the rollout's salt (see module doc)."""
    if not device_id:
        raise UsageError("a device id is needed to place the device in a rollout cohort")
    mac = hmac.new(salt, COHORT_LABEL + device_id, hashlib.sha256).digest()
    return int.from_bytes(mac[:4], "big")


def default_bound(percent: int) -> int:
    """The bound admitting ``percent`` % of uniformly spread points."""
    return SPACE * percent // 100


def fleet_bounds(salt: bytes, fleet: Sequence[bytes], percents: Sequence[int]) -> list[int]:
    """Per stage, the bound admitting exactly ``round(p% * n)`` devices of ``fleet`` (n devices)."""
    points = sorted({cohort(salt, d) for d in fleet})
    if len(points) != len(set(fleet)):
        raise UsageError("two devices of the inventory share a cohort point; start the rollout again (new salt)")
    out = []
    for p in percents:
        k = (p * len(points) + 50) // 100
        out.append(SPACE if p == 100 or k >= len(points) else points[k])
    return out


@dataclass(frozen=True)
class Stage:
    """One stage: ``percent`` of the class's devices (points below ``bound``), from ``start`` (Unix seconds),
    for at least ``min_seconds``."""

    percent: int
    bound: int
    start: int
    min_seconds: int

    def as_dict(self) -> dict[str, int]:
        return {"percent": self.percent, "bound": self.bound, "start": self.start, "min-seconds": self.min_seconds}


#: Failure types a halt rule counts (the shape of AWS IoT Jobs' abort criteria).
FAILURE_TYPES = ("refused", "reverted", "timed-out", "any")


@dataclass(frozen=True)
class HaltRule:
    """Halt when more than ``above_percent`` of the devices admitted so far that reached an
    outcome failed with ``failure``, once at least ``min_devices`` reached one; a device that
    sends no report within ``report_timeout`` seconds of its stage's start counts as timed out."""

    failure: str
    above_percent: int
    min_devices: int
    report_timeout: int

    def as_dict(self) -> dict[str, Any]:
        return {"failure": self.failure, "above-percent": self.above_percent, "min-devices": self.min_devices,
                "report-timeout": self.report_timeout}

    def describe(self) -> str:
        return (f"{self.failure} above {self.above_percent}% of at least {self.min_devices} devices "
                f"(report timeout {self.report_timeout} s)")


@dataclass(frozen=True)
class Rollout:
    """The content of one rollout file (see the module doc); construct through :func:`parse` or :func:`plan`."""

    class_id: str
    release: int
    salt: str
    every: int
    stages: tuple[Stage, ...]
    paused_at: int | None = None
    halted_at: int | None = None
    #: Rules the fleet collector halts the rollout on (docs/fleet.md); optional keys of the file.
    halt_rules: tuple[HaltRule, ...] = ()
    #: Why the rollout was halted: the rule that fired and the counts, or who halted it.
    halted_by: str | None = None

    def __post_init__(self) -> None:
        _validate(self)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"format": FORMAT, "type": TYPE, "class-id": self.class_id, "release": self.release,
                             "salt": self.salt, "every-seconds": self.every, "stages": [s.as_dict() for s in self.stages],
                             "paused-at": self.paused_at, "halted-at": self.halted_at}
        if self.halt_rules:
            d["halt-rules"] = [h.as_dict() for h in self.halt_rules]
        if self.halted_by is not None:
            d["halted-by"] = self.halted_by
        return d

    def to_bytes(self) -> bytes:
        return (json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":")) + "\n").encode()

    @property
    def halted(self) -> bool:
        return self.halted_at is not None

    def stage_index(self, now: int) -> int | None:
        """The stage in effect at ``now`` (paused: at the pause), or None before the first or once halted."""
        if self.halted_at is not None:
            return None  # whatever the device's clock says
        t = min(now, self.paused_at) if self.paused_at is not None else now
        current = None
        for i, stage in enumerate(self.stages):
            if stage.start <= t:
                current = i
        return current

    def percent(self, now: int) -> int:
        i = self.stage_index(now)
        return 0 if i is None else self.stages[i].percent

    def admits(self, device_id: bytes | None, now: int) -> bool:
        """True when a device with ``device_id`` may install this rollout's release at ``now``."""
        i = self.stage_index(now)
        if i is None:
            return False
        bound = self.stages[i].bound
        if bound >= SPACE:
            return True
        if not device_id:
            return False  # a device without an identity waits for the stage that admits every point
        return cohort(bytes.fromhex(self.salt), device_id) < bound

    def gates(self, sequence: int) -> bool:
        """True when this rollout decides about a release of ``sequence``: its own, and any newer one."""
        return sequence >= self.release

    def status(self, now: int) -> dict[str, Any]:
        i = self.stage_index(now)
        state = "halted" if self.halted else "paused" if self.paused_at is not None else \
            "scheduled" if i is None else "complete" if i == len(self.stages) - 1 else "rolling-out"
        nxt = None
        if state == "rolling-out" and i is not None:
            nxt = self.stages[i + 1].start
        return {"class_id": self.class_id, "release": self.release, "state": state,
                "stage": None if i is None else i + 1, "stages": len(self.stages), "percent": self.percent(now),
                "next_stage_at": nxt, "paused_at": self.paused_at, "halted_at": self.halted_at,
                "halted_by": self.halted_by, "halt_rules": [h.as_dict() for h in self.halt_rules],
                "schedule": [s.as_dict() for s in self.stages]}


def _fail(msg: str) -> RolloutInvalid:
    return RolloutInvalid(f"rollout file: {msg}")


def _int(v: object, what: str, lo: int, hi: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise _fail(f"{what} must be an integer from {lo} to {hi}")
    return v


def _validate(r: Rollout) -> None:
    try:
        if str(uuid.UUID(r.class_id)) != r.class_id:
            raise ValueError
    except (ValueError, AttributeError, TypeError):
        raise _fail(f"class-id {r.class_id!r} is not a lower-case UUID") from None
    _int(r.release, "release", 0, 2**63 - 1)
    if not isinstance(r.salt, str) or not _HEX64.fullmatch(r.salt):
        raise _fail("salt must be 64 lower-case hex digits")
    _int(r.every, "every-seconds", 1, MAX_TIME)
    if not 1 <= len(r.stages) <= MAX_STAGES:
        raise _fail(f"a rollout has 1 to {MAX_STAGES} stages")
    prev_pct, prev_start, prev_bound = 0, 0, 0
    for i, s in enumerate(r.stages):
        _int(s.percent, f"stage {i + 1} percent", 1, 100)
        _int(s.bound, f"stage {i + 1} bound", 0, SPACE)
        if s.bound < prev_bound:
            raise _fail("stage bounds must not decrease")
        prev_bound = s.bound
        _int(s.start, f"stage {i + 1} start", 0, MAX_TIME)
        _int(s.min_seconds, f"stage {i + 1} min-seconds", 0, MAX_TIME)
        if s.percent <= prev_pct:
            raise _fail("stage percentages must increase")
        if s.start < prev_start:
            raise _fail("stage start times must not go backwards")
        prev_pct, prev_start = s.percent, s.start
    for what, t in (("paused-at", r.paused_at), ("halted-at", r.halted_at)):
        if t is not None:
            _int(t, what, 0, MAX_TIME)
    if len(r.halt_rules) > MAX_STAGES:
        raise _fail(f"a rollout has at most {MAX_STAGES} halt rules")
    for i, h in enumerate(r.halt_rules):
        if h.failure not in FAILURE_TYPES:
            raise _fail(f"halt rule {i + 1}: failure must be one of {', '.join(FAILURE_TYPES)}")
        _int(h.above_percent, f"halt rule {i + 1} above-percent", 0, 99)
        _int(h.min_devices, f"halt rule {i + 1} min-devices", 1, 2**31)
        _int(h.report_timeout, f"halt rule {i + 1} report-timeout", 1, MAX_TIME)
    if r.halted_by is not None and (not isinstance(r.halted_by, str) or len(r.halted_by) > 512 or r.halted_at is None):
        raise _fail("halted-by is a text of at most 512 characters, on a halted rollout only")


_KEYS = {"format", "type", "class-id", "release", "salt", "every-seconds", "stages", "paused-at", "halted-at"}
_OPTIONAL_KEYS = {"halt-rules", "halted-by"}
_STAGE_KEYS = {"percent", "bound", "start", "min-seconds"}
_RULE_KEYS = {"failure", "above-percent", "min-devices", "report-timeout"}


def parse(data: bytes) -> Rollout:
    """A rollout file, strictly: size, exact keys, types and ranges; RolloutInvalid otherwise."""
    if len(data) > MAX_FILE_BYTES:
        raise _fail(f"{len(data)} bytes, over the {MAX_FILE_BYTES}-byte limit")
    try:
        obj = json.loads(data.decode("utf-8"), parse_float=_no_float, parse_constant=_no_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail(f"not JSON: {exc}") from None
    if not isinstance(obj, dict) or not _KEYS <= set(obj) <= _KEYS | _OPTIONAL_KEYS:
        raise _fail(f"keys must be exactly {sorted(_KEYS)}, optionally with {sorted(_OPTIONAL_KEYS)}")
    if obj["format"] != FORMAT or obj["type"] != TYPE:
        raise _fail(f"format {obj['format']!r} / type {obj['type']!r}: this fwsign reads format {FORMAT} ({TYPE})")
    stages = obj["stages"]
    if not isinstance(stages, list) or not all(isinstance(s, dict) and set(s) == _STAGE_KEYS for s in stages):
        raise _fail(f"stages must be a list of objects with keys {sorted(_STAGE_KEYS)}")
    rules = obj.get("halt-rules", [])
    if not isinstance(rules, list) or (not rules and "halt-rules" in obj) or \
            not all(isinstance(h, dict) and set(h) == _RULE_KEYS for h in rules):
        raise _fail(f"halt-rules must be a non-empty list of objects with keys {sorted(_RULE_KEYS)}")
    return Rollout(obj["class-id"], obj["release"], obj["salt"], obj["every-seconds"],
                   tuple(Stage(s["percent"], s["bound"], s["start"], s["min-seconds"]) for s in stages),
                   obj["paused-at"], obj["halted-at"],
                   tuple(HaltRule(h["failure"], h["above-percent"], h["min-devices"], h["report-timeout"]) for h in rules),
                   obj.get("halted-by"))


def _no_float(text: str) -> Any:
    raise ValueError(f"number {text!r} is not an integer")


# --- the state changes field service makes (pure: old rollout + time -> new rollout) -------


def plan(class_id: bytes, release: int, percents: Sequence[int], every: int, min_seconds: int, now: int,
         salt: bytes | None = None, fleet: Sequence[bytes] = (), halt_rules: Sequence[HaltRule] = ()) -> Rollout:
    """A new rollout starting at ``now``: stage ``i`` at ``now + i * every``.

    With ``fleet`` (the class's device ids, from field service's inventory) each stage's
    bound admits exactly its share of those devices; otherwise ``p%`` of the point space.
    """
    if every < 1:
        raise UsageError("--every must be at least one second")
    if min_seconds < 0 or min_seconds > every:
        raise UsageError("the minimum stage time must be between 0 and --every")
    pcts = list(percents)
    if not pcts or any(not 1 <= p <= 100 for p in pcts) or any(b <= a for a, b in itertools.pairwise(pcts)):
        raise UsageError(f"--stages must be increasing percentages from 1 to 100 (got {','.join(map(str, pcts))})")
    if len(pcts) > MAX_STAGES:
        raise UsageError(f"at most {MAX_STAGES} stages")
    salt = salt if salt is not None else secrets.token_bytes(32)
    bounds = fleet_bounds(salt, fleet, pcts) if fleet else [default_bound(p) for p in pcts]
    stages = tuple(Stage(p, b, now + i * every, min_seconds) for i, (p, b) in enumerate(zip(pcts, bounds, strict=True)))
    try:
        return Rollout(str(uuid.UUID(bytes=class_id)), release, salt.hex(), every, stages, halt_rules=tuple(halt_rules))
    except RolloutInvalid as exc:
        raise UsageError(exc.message) from None


def _active(r: Rollout, what: str) -> None:
    if r.halted:
        raise RolloutStateError(f"the rollout of release {r.release} is halted; {what} needs a new rollout "
                        "(fix forward: add a newer release and start its rollout)")


def advanced(r: Rollout, now: int) -> Rollout:
    """Start the next stage now; refused while paused, at the last stage, or before the minimum time."""
    _active(r, "advancing")
    if r.paused_at is not None:
        raise RolloutStateError("the rollout is paused; resume it first")
    i = r.stage_index(now)
    if i is None:
        i = -1
    elif now - r.stages[i].start < r.stages[i].min_seconds:
        left = r.stages[i].min_seconds - (now - r.stages[i].start)
        raise RolloutStateError(f"stage {i + 1} ({r.stages[i].percent}%) has {left} s of its minimum time left")
    if i + 1 >= len(r.stages):
        raise RolloutStateError(f"the rollout is already at its last stage ({r.stages[-1].percent}%)")
    stages = list(r.stages[: i + 1])
    for j, s in enumerate(r.stages[i + 1:]):
        stages.append(replace(s, start=now + j * r.every))
    return replace(r, stages=tuple(stages))


def paused(r: Rollout, now: int) -> Rollout:
    _active(r, "pausing")
    if r.paused_at is not None:
        raise RolloutStateError("the rollout is already paused")
    return replace(r, paused_at=now)


def resumed(r: Rollout, now: int) -> Rollout:
    """Continue a paused rollout: the stage in effect at the pause stays, the later ones move to start from now."""
    _active(r, "resuming")
    if r.paused_at is None:
        raise RolloutStateError("the rollout is not paused")
    i = r.stage_index(r.paused_at)
    first_later = 0 if i is None else i + 1
    stages = list(r.stages[:first_later])
    for j, s in enumerate(r.stages[first_later:]):
        stages.append(replace(s, start=now + (j + (0 if i is None else 1)) * r.every))
    return replace(r, stages=tuple(stages), paused_at=None)


def halted(r: Rollout, now: int, by: str | None = None) -> Rollout:
    if r.halted:
        raise RolloutStateError("the rollout is already halted")
    return replace(r, halted_at=now, halted_by=by)


# --- in the repository -------------------------------------------------------------------


def has_role(repo: Repository) -> bool:
    return ROLE in repo.config.parents


def check_delegation(repo: Repository, keys: Sequence[KeyRef], threshold: int) -> None:
    """Raise what :func:`delegate_role` would refuse, changing nothing."""
    if has_role(repo):
        raise RepoError(f"the {ROLE} role is already delegated")
    if not keys or not 1 <= threshold <= len(keys):
        raise UsageError(f"the {ROLE} role needs keys and a threshold between 1 and {len(keys)}")
    d = repo.current("targets").signed.delegations
    if d is not None and d.succinct_roles is not None:
        raise RepoError("top-level targets uses hash bins; the rollout role needs a repository created without --bins "
                        "(give class roles their own bins with repo delegate --bins)")


def delegate_role(repo: Repository, keys: Sequence[KeyRef], threshold: int = 1) -> None:
    """Delegate ``rollouts/*`` (terminating) from top-level targets to the ``rollout`` role; stage both."""
    from tuf.api.metadata import DelegatedRole, Delegations, Metadata, Targets  # type: ignore[attr-defined]

    check_delegation(repo, keys, threshold)
    top = repo.edit("targets")
    d = top.signed.delegations
    if d is None:
        d = top.signed.delegations = Delegations(keys={}, roles={})
    assert d.roles is not None
    d.roles[ROLE] = DelegatedRole(ROLE, [k.keyid for k in keys], threshold, True, paths=[PATTERN])
    for k in keys:
        d.keys[k.keyid] = k.key
        if k.uri:
            repo.config.signers[k.keyid] = k.uri
    repo.config.parents[ROLE] = "targets"
    repo.save_config()
    repo.stage_new(ROLE, Metadata(Targets(version=1, expires=repo.expiry(ROLE))))


def load(repo: Repository, class_id: bytes) -> Rollout | None:
    """The class's current rollout (staged or published), or None."""
    tf = repo.get_target(rollout_path(class_id)) if has_role(repo) else None
    if tf is None:
        return None
    r = parse(repo.target_bytes(tf))
    if r.class_id != str(uuid.UUID(bytes=class_id)):
        raise RolloutInvalid(f"{rollout_path(class_id)} names class {r.class_id}")
    return r


def _require(repo: Repository, class_id: bytes) -> Rollout:
    r = load(repo, class_id)
    if r is None:
        raise RepoError(f"class {uuid.UUID(bytes=class_id)} has no rollout; start one with fwsign rollout start")
    return r


def store(repo: Repository, r: Rollout) -> str:
    """Stage the rollout file as a target of the rollout role; returns the role that signs it."""
    from .releases import CUSTOM

    if not has_role(repo):
        raise RepoError(f"the repository has no {ROLE} role; delegate it first (fwsign rollout init)")
    path = rollout_path(uuid.UUID(r.class_id).bytes)
    repo.store_file(path, data=r.to_bytes(), custom={CUSTOM: {"type": "rollout", "release": r.release}})
    owner = repo.owner_of(path)
    if owner != ROLE:
        raise RepoError(f"{path} would be signed by {owner}, not the {ROLE} role; check the delegations")
    return owner


def start(repo: Repository, class_id: bytes, release: int, percents: Sequence[int], every: int, min_seconds: int,
          now: int, fleet: Sequence[bytes] = (), halt_rules: Sequence[HaltRule] = ()) -> Rollout:
    """Start a rollout of ``release`` (the class's newest release) for ``class_id``; stage it."""
    from . import layout as L
    from .releases import fwsign_custom

    if not has_role(repo):
        raise RepoError(f"the repository has no {ROLE} role; delegate it first (fwsign rollout init)")
    latest = fwsign_custom(repo.get_target(L.latest_path(class_id)))
    if not latest:
        raise RepoError(f"class {uuid.UUID(bytes=class_id)} has no release in the repository")
    if repo.get_target(L.envelope_path(class_id, release)) is None:
        raise RepoError(f"release {release} of class {uuid.UUID(bytes=class_id)} is not in the repository")
    if int(latest["sequence"]) != release:
        raise RepoError(f"release {release} is not the class's newest release ({latest['sequence']}): devices install "
                        "only the newest, so a rollout names it")
    old = load(repo, class_id)
    if old is not None and old.release == release and not old.halted:
        raise RolloutStateError(f"release {release} is already rolling out; use advance, pause, resume or halt")
    if old is not None and old.release > release:
        raise RolloutStateError(f"a rollout of a newer release ({old.release}) exists; a rollout never goes back")
    r = plan(class_id, release, percents, every, min_seconds, now, fleet=fleet, halt_rules=halt_rules)
    store(repo, r)
    return r


def change(repo: Repository, class_id: bytes, action: str, now: int, by: str | None = None) -> Rollout:
    """Apply ``advance``, ``pause``, ``resume`` or ``halt`` to the class's rollout; stage it.
    ``by``: for a halt, why (the halt rule that fired)."""
    steps = {"advance": advanced, "pause": paused, "resume": resumed}
    if action == "halt":
        r = halted(_require(repo, class_id), now, by)
    elif action in steps:
        r = steps[action](_require(repo, class_id), now)
    else:
        raise UsageError(f"unknown rollout action {action!r}")
    store(repo, r)
    return r


def status(repo: Repository, class_ids: Sequence[bytes], now: int) -> list[dict[str, Any]]:
    """Each named class's rollout as of ``now`` (published or staged), in the order given."""
    out = []
    for cid in class_ids:
        r = load(repo, cid)
        entry: dict[str, Any] = {"class_id": str(uuid.UUID(bytes=cid)), "state": "none"} if r is None else r.status(now)
        out.append(entry)
    return out


def classes(repo: Repository) -> list[bytes]:
    """Every class with a rollout file in the repository."""
    if not has_role(repo):
        return []
    out = []
    for path in repo.current(ROLE).signed.targets:
        name = path.removeprefix(f"{DIRECTORY}/").removesuffix(".json")
        try:
            out.append(uuid.UUID(name).bytes)
        except ValueError:
            continue
    return sorted(out)
