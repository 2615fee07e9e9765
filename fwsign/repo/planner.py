"""What a publish changes, computed without I/O: snapshot, timestamp, write order, client sample.

Given the role versions staged for publication and the currently published snapshot and
timestamp, the planner says which files a publish writes and in which order, and builds
the new snapshot and timestamp contents. It reads no file and signs nothing; the
repository (:mod:`fwsign.repo.repository`) signs what it plans (:mod:`fwsign.repo.seal`)
and hands the files to the storage (:mod:`fwsign.repo.storage`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from tuf.api.metadata import MetaFile, Snapshot, Timestamp  # type: ignore[attr-defined]

from .auditing import AUDIT_ANCHOR

#: How many changed targets roles a publish looks a target up in with a real client
#: before writing (every role's signatures are checked in process in any case).
CLIENT_SAMPLE_ROLES = 8


def next_snapshot(old: Snapshot | None, changed: Mapping[str, int], expires: dt.datetime,
                  audit_head: Mapping[str, Any]) -> Snapshot:
    """The next snapshot: one version up, every changed targets role at its new version."""
    meta: dict[str, MetaFile] = {}
    version = 1
    unrecognized: dict[str, Any] = {}
    if old is not None:
        meta = {name: MetaFile(m.version, m.length, dict(m.hashes) if m.hashes else None) for name, m in old.meta.items()}
        version = old.version + 1
        unrecognized = dict(old.unrecognized_fields)
    for role, v in changed.items():
        meta[f"{role}.json"] = MetaFile(version=v)
    # Anchor the audit log's head in signed, version-numbered metadata (see auditing).
    unrecognized[AUDIT_ANCHOR] = dict(audit_head)
    return Snapshot(version=version, expires=expires, meta=meta, unrecognized_fields=unrecognized)


def next_timestamp(old_version: int | None, snapshot_version: int, snapshot_file: bytes, expires: dt.datetime) -> Timestamp:
    """The next timestamp, pinning the new snapshot file by version, length and SHA-256."""
    return Timestamp(version=1 if old_version is None else old_version + 1, expires=expires,
                     snapshot_meta=MetaFile(version=snapshot_version, length=len(snapshot_file),
                                            hashes={"sha256": hashlib.sha256(snapshot_file).hexdigest()}))


def write_rank(name: str) -> int:
    """Root first, then targets roles, then snapshot, timestamp last."""
    if name.endswith(".root.json"):
        return 0
    if name.endswith(".snapshot.json"):
        return 2
    if name == "timestamp.json":
        return 3
    return 1


def write_order(names: Iterable[str]) -> list[str]:
    """The order a publish writes metadata in: a client reading a new timestamp finds everything it names."""
    return sorted(names, key=lambda n: (write_rank(n), n))


def client_sample(changed: Mapping[str, Iterable[str]], limit: int = CLIENT_SAMPLE_ROLES) -> list[str]:
    """Targets to look up with a real client before writing: the first target of up to ``limit`` changed roles.

    ``changed`` maps each changed targets role to its target paths; the roles are taken in
    name order (a publish of thousands of bins checks a bounded, repeatable sample).
    """
    out: list[str] = []
    for role in sorted(changed):
        first = next(iter(changed[role]), None)
        if first is not None:
            out.append(first)
            if len(out) >= limit:
                break
    return out
