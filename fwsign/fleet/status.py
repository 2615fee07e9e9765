"""The fleet's figures from what the database holds: pure, rows in, one JSON-able dict out.

What a device's reports say about the release its class is rolling out (the *target*: the
rollout's release, or the class's newest registered release without a rollout):

``installed``  its newest boot report names the target: the boot flow verified the new
               image and signed the report before starting it. Install reports (the
               download and the write to the staging slot) never count as installed.
``reverted``   a boot report named the target before, and a later one names another image:
               the trial boot failed its health check and the device fell back.
``refused``    it refused the target (an install report with a failure), with the reason.
``pending``    none of these yet.

The page (:mod:`.page`) and ``fwsign fleet status --json`` print the same dict.
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..repo.rollout import Rollout, cohort
from .db import DeviceRow, ReleaseRow, ReportRow

STATES: Final = ("installed", "refused", "reverted", "pending")


@dataclass(frozen=True)
class DeviceState:
    device_id: str
    class_id: str
    state: str
    reason: str | None
    stage: int | None  # 1-based stage that admits it; None: no rollout or not admitted yet
    release: int | None  # release it last booted; None: unknown
    last_seen: int | None
    installed_at: int | None  # first boot report naming the target


def _stage(r: Rollout | None, device_id: str, now: int) -> int | None:
    if r is None:
        return None
    try:
        point = cohort(bytes.fromhex(r.salt), uuid.UUID(device_id).bytes)
    except ValueError:
        return None
    # the stage in effect at ``now``, or at the pause or halt that froze the rollout
    t = min([now] + [x for x in (r.paused_at, r.halted_at) if x is not None])
    current = None
    for i, s in enumerate(r.stages):
        if s.start <= t:
            current = i
    for i, s in enumerate(r.stages):
        if point < s.bound or s.bound >= 1 << 32:
            return i + 1 if current is not None and i <= current else None
    return None


def device_states(devices: Sequence[DeviceRow], releases: Sequence[ReleaseRow], reports: Sequence[ReportRow],
                  rollouts: Mapping[str, Rollout], now: int) -> list[DeviceState]:
    by_digest = {r.digest: r for r in releases}
    newest: dict[str, ReleaseRow] = {}
    for rel in releases:
        if rel.class_id not in newest or rel.sequence > newest[rel.class_id].sequence:
            newest[rel.class_id] = rel
    per_device: dict[str, list[ReportRow]] = defaultdict(list)
    for rep in reports:
        per_device[rep.device_id].append(rep)
    out = []
    for d in devices:
        ro = rollouts.get(d.class_id)
        target: ReleaseRow | None = newest.get(d.class_id)
        if ro is not None:
            target = next((r for r in releases if r.class_id == d.class_id and r.sequence == ro.release), target)
        reps = per_device.get(d.device_id, [])
        boots = [r for r in reps if r.kind == "boot" and r.reason == "invoke-pending"]
        last_boot = boots[-1] if boots else None
        booted = by_digest.get(last_boot.digest) if last_boot else None
        state, reason, installed_at = "pending", None, None
        if target is not None:
            target_boots = [r for r in boots if r.digest == target.digest]
            if target_boots:
                installed_at = target_boots[0].received_at
            if last_boot is not None and last_boot.digest == target.digest:
                state = "installed"
            elif target_boots:
                state, reason = "reverted", "trial boot not confirmed"
            else:
                refusals = [r for r in reps if r.kind == "install" and r.reason not in ("ok", "invoke-pending")
                            and r.digest in (target.digest, target.envelope_digest)]
                if refusals:
                    state, reason = "refused", refusals[-1].reason
        elif reps and reps[-1].reason != "ok":
            reason = reps[-1].reason
        out.append(DeviceState(d.device_id, d.class_id, state, reason, _stage(ro, d.device_id, now),
                               booted.sequence if booted else None, reps[-1].received_at if reps else None, installed_at))
    return out


def _percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile by the nearest-rank method (no interpolation), or None for no values."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return float(s[int(k)])


def figures(devices: Sequence[DeviceRow], releases: Sequence[ReleaseRow], reports: Sequence[ReportRow],
            rollouts: Mapping[str, Rollout], now: int) -> dict[str, Any]:
    """Everything the status page and ``fleet status --json`` show."""
    states = device_states(devices, releases, reports, rollouts, now)
    classes: dict[str, Any] = {}
    for s in states:
        c = classes.setdefault(s.class_id, {"devices": 0, "totals": dict.fromkeys(STATES, 0), "stages": {},
                                            "reasons": {}, "versions": {}})
        c["devices"] += 1
        c["totals"][s.state] += 1
        stage_key = "not admitted" if s.stage is None else f"stage {s.stage}"
        if s.class_id not in rollouts:
            stage_key = "all"
        st = c["stages"].setdefault(stage_key, dict.fromkeys(STATES, 0))
        st[s.state] += 1
        if s.reason is not None and s.state in ("refused", "reverted"):
            c["reasons"][s.reason] = c["reasons"].get(s.reason, 0) + 1
        v = "unknown" if s.release is None else str(s.release)
        c["versions"][v] = c["versions"].get(v, 0) + 1
    for cid, c in classes.items():
        ro = rollouts.get(cid)
        c["rollout"] = None if ro is None else ro.status(now)
        c["stages"] = dict(sorted(c["stages"].items()))
        c["versions"] = dict(sorted(c["versions"].items()))
    # time from availability to installation, per release
    by_class = Counter(s.class_id for s in states)
    on_release = Counter((s.class_id, s.release) for s in states)
    first_boot: dict[tuple[str, str], int] = {}
    for rep in reports:
        if rep.kind == "boot" and rep.reason == "invoke-pending":
            first_boot.setdefault((rep.device_id, rep.digest), rep.received_at)
    running = {s.device_id: s.release for s in states}
    metrics = []
    for rel in releases:
        # installed: booted the release first at t, and still runs it or a newer one (a reverted trial does not count)
        waits = [t - rel.available_at for (dev, dig), t in first_boot.items()
                 if dig == rel.digest and (running.get(dev) or -1) >= rel.sequence]
        waits = [max(0, w) for w in waits]
        n = by_class.get(rel.class_id, 0)
        metrics.append({
            "class_id": rel.class_id, "release": rel.sequence, "available_at": rel.available_at,
            "installed_devices": len(waits),
            "median_seconds": None if not waits else float(statistics.median(waits)),
            "p90_seconds": _percentile(waits, 90),
            "still_on_share": None if n == 0 else on_release.get((rel.class_id, rel.sequence), 0) / n,
        })
    return {
        "generated_at": now,
        "devices": len(states),
        "reports": len(reports),
        "classes": dict(sorted(classes.items())),
        "releases": metrics,
        "device_list": [{"device_id": s.device_id, "class_id": s.class_id, "state": s.state, "reason": s.reason,
                         "stage": s.stage, "release": s.release, "last_seen": s.last_seen} for s in states],
    }


def timeline(device: DeviceRow, releases: Sequence[ReleaseRow], reports: Sequence[ReportRow]) -> list[dict[str, Any]]:
    """One device's accepted reports, oldest first, each with the release it names (if known)."""
    by_digest = {r.digest: r.sequence for r in releases}
    by_env = {r.envelope_digest: r.sequence for r in releases}
    return [{"received_at": r.received_at, "kind": r.kind, "reason": r.reason,
             "release": by_digest.get(r.digest, by_env.get(r.digest)), "digest": r.digest} for r in reports
            if r.device_id == device.device_id]
