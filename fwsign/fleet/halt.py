"""Halt rules: decide from what the devices' signed reports say whether a rollout stops,
and publish the rollout role's signed halt when one fires.

A device admitted by the rollout (its cohort point is inside a stage that has started)
reaches an *outcome* when its reports say it installed (a boot report names the release),
refused it, or reverted from it (docs/fleet.md); one with none of these more than the
rule's report timeout after its stage started counts as ``timed-out``. A rule fires once at
least ``min_devices`` admitted devices reached an outcome and more than ``above_percent``
of them failed with the rule's failure type (``any``: refused, reverted or timed out), the
shape of AWS IoT Jobs' abort criteria (failure type, threshold percentage, minimum number
of executed things) with its timeout for devices that never answer.

:func:`evaluate` is pure; :func:`publish_halt` is the I/O: it opens the repository with its
lock, stages the halt with the rule that fired, signs the rollout role with the rollout
key (the only key the collector holds: it can stop a rollout, not widen one or add
firmware, docs/repo.md) and publishes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..repo.rollout import HaltRule, Rollout
from .status import DeviceState


@dataclass(frozen=True)
class Fired:
    class_id: str
    release: int
    rule: HaltRule
    failed: int
    reached: int
    admitted: int

    @property
    def detail(self) -> str:
        return (f"rule '{self.rule.describe()}' fired: {self.failed} of {self.reached} devices that reached an outcome "
                f"({100 * self.failed / self.reached:.1f}%) {self.rule.failure}; {self.admitted} admitted")

    def as_dict(self) -> dict[str, Any]:
        return {"class_id": self.class_id, "release": self.release, "rule": self.rule.describe(),
                "failed": self.failed, "reached": self.reached, "admitted": self.admitted, "detail": self.detail}


def outcome(state: DeviceState, rollout: Rollout, rule: HaltRule, now: int) -> str | None:
    """``installed``, ``refused``, ``reverted``, ``timed-out``, or None (still within its time)."""
    if state.state != "pending":
        return state.state
    if state.stage is None:
        return None
    started = rollout.stages[state.stage - 1].start
    return "timed-out" if now - started > rule.report_timeout else None


def evaluate(rollout: Rollout, states: Sequence[DeviceState], now: int) -> Fired | None:
    """The first of the rollout's rules that fires on ``states`` (the class's devices), or None."""
    if rollout.halted or not rollout.halt_rules:
        return None
    admitted = [s for s in states if s.class_id == rollout.class_id and s.stage is not None]
    for rule in rollout.halt_rules:
        outcomes = [o for o in (outcome(s, rollout, rule, now) for s in admitted) if o is not None]
        reached = len(outcomes)
        if reached < rule.min_devices:
            continue
        failed = sum(1 for o in outcomes if o != "installed" and (rule.failure == "any" or o == rule.failure))
        if failed * 100 > rule.above_percent * reached:
            return Fired(rollout.class_id, rollout.release, rule, failed, reached, len(admitted))
    return None


def publish_halt(repo_dir: Path, rollout_key: str, fired: Fired, now: int) -> dict[str, Any] | None:
    """Halt the class's rollout in the repository, signed with the rollout key, and publish.
    Returns what was published, or None when the rollout was already halted or replaced."""
    from ..repo import rollout as R
    from ..repo.repository import Repository
    from ..repo.signing import signer_from_spec

    cid = uuid.UUID(fired.class_id).bytes
    with Repository.open(repo_dir, lock_timeout=60) as repo:
        current = R.load(repo, cid)
        if current is None or current.halted or current.release != fired.release:
            return None
        r = R.change(repo, cid, "halt", now, by=fired.detail)
        repo.audit("rollout-halt", artifact=R.rollout_path(cid), artifact_bytes=r.to_bytes(),
                   details={"release": r.release, "halted-by": fired.detail})
        repo.save()
        repo.sign(R.ROLE, signer_from_spec(rollout_key, repo_dir))
        result = type(repo)(repo_dir, lock_timeout=60).publish()
    return result.as_dict()  # type: ignore[no-any-return]


def repo_rollouts(repo_dir: Path) -> dict[str, Rollout]:
    """Every class's rollout as the repository holds it (staged or published)."""
    from ..repo import rollout as R
    from ..repo.repository import Repository

    repo = Repository(repo_dir)
    out = {}
    for cid in R.classes(repo):
        r = R.load(repo, cid)
        if r is not None:
            out[r.class_id] = r
    return out
