"""The TUF repository engine behind ``fwsign repo``.

Built on python-tuf's Metadata API (``tuf.api.metadata``) and securesystemslib signers;
``tuf.repository.Repository`` is deliberately not used (it is not a stable API and its
model has no place for a pending version signed by several key holders in turn).

Model: the published state is what ``metadata/`` holds (timestamp -> snapshot -> the
targets roles, and the highest ``N.root.json``). Every change is first *staged*: the role
is copied with its version bumped and expiry set to now + its period, edited, and kept
in ``staged/<role>.json``. :meth:`Repository.publish` signs the staged roles with every
key the repository can use, and when each meets its threshold writes them (root first,
then targets and bins, then snapshot, then timestamp: a client that reads timestamp
always finds everything it points to), after a python-tuf client has refreshed against
the new state in memory. A role short of signatures stays staged until holders of
offline keys add theirs with :meth:`Repository.sign`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from securesystemslib.signer import Key, Signer  # type: ignore[attr-defined]
from tuf.api.metadata import (  # type: ignore[attr-defined]
    DelegatedRole,
    Delegations,
    Metadata,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from ..errors import MetadataTooLarge, RepoError, ThresholdNotMet, UsageError
from ..keys import write_atomic
from . import auditing, planner
from . import layout as L
from .auditing import AUDIT_ANCHOR
from .lock import DEFAULT_TIMEOUT, locked
from .seal import canonical_bytes, metadata_file, sign_bytes
from .signing import KeyRef, PendingKeys, load_signer, parse_key_spec
from .storage import FileStorage, Ingested, ingest, write_synced

Clock = Callable[[], dt.datetime]
SERIALIZER = JSONSerializer(compact=True)
ROLE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
CONFIG_FORMAT = 1
__all__ = ["AUDIT_ANCHOR", "SERIALIZER", "Config", "InitResult", "PublishResult", "Repository", "initialise"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass
class Config:
    """``repo.json``: what the metadata does not say (signer URIs, periods, bin owners)."""

    expiry_days: dict[str, int] = field(default_factory=lambda: dict(L.DEFAULT_EXPIRY_DAYS))
    signers: dict[str, str] = field(default_factory=dict)  # keyid -> signer URI
    parents: dict[str, str] = field(default_factory=dict)  # delegated role -> delegating role
    bins: dict[str, str] = field(default_factory=dict)  # bin name prefix -> owner role
    classes: dict[str, str] = field(default_factory=dict)  # class role -> class-id (UUID)

    def to_json(self) -> bytes:
        obj = {"format": CONFIG_FORMAT, "expiry_days": self.expiry_days, "signers": self.signers,
               "parents": self.parents, "bins": self.bins, "classes": self.classes}
        return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()

    @staticmethod
    def from_json(data: bytes) -> Config:
        try:
            obj = json.loads(data)
            if obj.get("format") != CONFIG_FORMAT:
                raise RepoError(f"repo.json has format {obj.get('format')!r}; this fwsign reads format {CONFIG_FORMAT}")
            return Config(dict(obj["expiry_days"]), dict(obj["signers"]), dict(obj["parents"]),
                          dict(obj["bins"]), dict(obj["classes"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RepoError(f"repo.json is malformed: {exc}") from None


@dataclass(frozen=True)
class PublishResult:
    published: bool
    written: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    versions: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"published": self.published, "written": list(self.written), "pending": list(self.pending),
                "warnings": list(self.warnings), "versions": self.versions}


def role_type(name: str) -> str:
    return name if name in L.ROLES_TOP else "targets"


class Repository:
    """A TUF repository in a directory (see :mod:`fwsign.repo.layout`).

    Changes are serialised by the repository lock (:mod:`fwsign.repo.lock`): open it with
    :meth:`open` to hold the lock from the first read to the last write, as every CLI
    command does; :meth:`save`, :meth:`publish` and :meth:`sign` take it themselves when
    the caller did not.
    """

    def __init__(self, directory: Path, *, now: Clock = utcnow, lock_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.layout = L.Layout(Path(directory))
        self.now = now
        self.lock_timeout = lock_timeout
        if not self.layout.config.is_file():
            raise RepoError(f"{directory} is not an fwsign repository (no repo.json); run fwsign repo init")
        self.config = Config.from_json(self.layout.config.read_bytes())
        #: True when this open moved a repository of the old layout into ``public/``.
        self.migrated = False
        if self.layout.legacy():
            with self.transaction():
                self.migrated = L.migrate_legacy(self.layout)
        self._published: dict[str, Metadata[Any]] = {}
        self._staged: dict[str, Metadata[Any]] = {}
        self._dirty: set[str] = set()
        self._signers: dict[str, Signer] = {}
        #: The published tree (``DIR/public``): metadata and target files.
        self.storage = FileStorage(self.layout.public)

    @classmethod
    @contextlib.contextmanager
    def open(cls, directory: Path, *, now: Clock = utcnow, lock_timeout: float = DEFAULT_TIMEOUT) -> Iterator[Repository]:
        """The repository with its lock held for the whole ``with`` block (read, change, publish)."""
        lay = L.Layout(Path(directory))
        if not lay.config.is_file():
            raise RepoError(f"{directory} is not an fwsign repository (no repo.json); run fwsign repo init")
        with locked(lay.lock, lock_timeout):
            yield cls(lay.root, now=now, lock_timeout=lock_timeout)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """The repository lock (re-entrant in this process)."""
        return locked(self.layout.lock, self.lock_timeout)

    # -- creation ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        directory: Path,
        keys: dict[str, list[KeyRef]],
        thresholds: dict[str, int],
        *,
        expiry_days: dict[str, int] | None = None,
        bin_bits: int = 0,
        bin_keys: Sequence[KeyRef] = (),
        now: Clock = utcnow,
    ) -> Repository:
        """Lay out a new repository and stage root v1, targets (and bins); publish separately."""
        lay = L.Layout(Path(directory))
        if lay.config.exists() or (lay.metadata.is_dir() and any(lay.metadata.iterdir())):
            raise RepoError(f"{directory} already holds a repository")
        for role in L.ROLES_TOP:
            if not keys.get(role):
                raise UsageError(f"role {role} needs at least one key")
            t = thresholds.get(role, 1)
            if not 1 <= t <= len(keys[role]):
                raise UsageError(f"{role} threshold {t} must be between 1 and its {len(keys[role])} key(s)")
        if bin_bits and not bin_keys:
            raise UsageError("hash bins need at least one bins key")
        config = Config()
        config.expiry_days.update(expiry_days or {})
        for role, days in config.expiry_days.items():
            if days < 1:
                raise UsageError(f"expiry period of {role} must be at least one day")
        for ref in [*(k for ks in keys.values() for k in ks), *bin_keys]:
            if ref.uri:
                config.signers[ref.keyid] = ref.uri
        for d in (lay.metadata, lay.targets, lay.staged):
            d.mkdir(parents=True, exist_ok=True)
        lay.keys.mkdir(mode=0o700, exist_ok=True)
        with locked(lay.lock):
            if lay.config.exists():
                raise RepoError(f"{directory} already holds a repository")
            write_atomic(lay.config, config.to_json())
            L.fsync_dir(lay.root)
            repo = cls(lay.root, now=now)
            repo._create(keys, thresholds, bin_bits, bin_keys)
        return repo

    def _create(self, keys: dict[str, list[KeyRef]], thresholds: dict[str, int], bin_bits: int,
                bin_keys: Sequence[KeyRef]) -> None:
        repo = self
        root = Root(version=1, expires=repo._expiry("root"), consistent_snapshot=True)
        for role in L.ROLES_TOP:
            for ref in keys[role]:
                root.add_key(ref.key, role)
            root.roles[role].threshold = thresholds.get(role, 1)
        repo._stage_new("root", Metadata(root))
        targets = Targets(version=1, expires=repo._expiry("targets"))
        repo._stage_new("targets", Metadata(targets))
        if bin_bits:
            repo._make_bins("targets", "bins", list(bin_keys), 1, bin_bits)
        repo.save()
        repo.audit("repo-init", key_ids=[ref.keyid for ks in keys.values() for ref in ks],
                   signers=[_signer_kind(ref.uri) for ks in keys.values() for ref in ks],
                   details={"thresholds": {r: thresholds.get(r, 1) for r in L.ROLES_TOP}})

    # -- audit log -----------------------------------------------------------------------

    @property
    def audit_log(self) -> Path:
        """``DIR/audit.log``: every repository action appends a record (see :mod:`fwsign.audit`)."""
        return self.layout.root / "audit.log"

    def audit(self, action: str, **fields: Any) -> None:
        """Append a record for a completed action (see :mod:`fwsign.repo.auditing`)."""
        auditing.record(self.layout.root, self.layout.keys, action, self.now, **fields)

    # -- loading -------------------------------------------------------------------------

    def _load_file(self, path: Path) -> Metadata[Any]:
        try:
            return Metadata.from_bytes(path.read_bytes())
        except OSError as exc:
            raise RepoError(f"cannot read {path}: {exc.strerror}") from None
        except Exception as exc:  # tuf's DeserializationError and friends
            raise RepoError(f"{path} is not valid TUF metadata: {exc}") from None

    def _load_published(self, name: str) -> Metadata[Any]:
        """Metadata file ``name`` (e.g. ``3.snapshot.json``) of the published tree, through the storage."""
        data = self.storage.read(f"metadata/{name}")
        try:
            return Metadata.from_bytes(data)
        except Exception as exc:  # tuf's DeserializationError and friends
            raise RepoError(f"published metadata/{name} is not valid TUF metadata: {exc}") from None

    def root_versions(self) -> list[int]:
        out = []
        for name in self.storage.list("metadata"):
            head, _, rest = name.partition(".")
            if rest == "root.json" and head.isdigit():
                out.append(int(head))
        return sorted(out)

    def published(self, role: str) -> Metadata[Any] | None:
        """The published version of ``role``, or None before its first publication."""
        if role in self._published:
            return self._published[role]
        md: Metadata[Any] | None = None
        if role == "root":
            versions = self.root_versions()
            md = self._load_published(f"{versions[-1]}.root.json") if versions else None
        elif role == "timestamp":
            md = self._load_published("timestamp.json") if self.storage.exists("metadata/timestamp.json") else None
        elif role == "snapshot":
            ts = self.published("timestamp")
            if ts is not None:
                md = self._load_published(f"{int(ts.signed.snapshot_meta.version)}.snapshot.json")
        else:
            snap = self.published("snapshot")
            if snap is not None:
                meta = snap.signed.meta.get(f"{L.check_name(role, 'role name')}.json")
                if meta is not None:
                    md = self._load_published(f"{int(meta.version)}.{role}.json")
        if md is not None:
            self._published[role] = md
        return md

    def staged_roles(self) -> list[str]:
        names = {p.name[: -len(".json")] for p in self.layout.staged.glob("*.json")} if self.layout.staged.is_dir() else set()
        return sorted(names | set(self._staged))

    def current(self, role: str) -> Metadata[Any]:
        """The staged version of ``role`` if there is one, else the published one."""
        if role in self._staged:
            return self._staged[role]
        p = self.layout.staged_role(role)
        if p.is_file():
            md = self._load_file(p)
            self._staged[role] = md
            return md
        md2 = self.published(role)
        if md2 is None:
            raise RepoError(f"role {role} does not exist in this repository")
        return md2

    def _expiry(self, role: str) -> dt.datetime:
        days = self.config.expiry_days.get(role_type(role) if role in L.ROLES_TOP else "delegated")
        if days is None:
            days = self.config.expiry_days.get("delegated", L.DEFAULT_EXPIRY_DAYS["delegated"])
        return self.now() + dt.timedelta(days=days)

    def _period(self, role: str) -> dt.timedelta:
        return self._expiry(role) - self.now()

    def edit(self, role: str) -> Metadata[Any]:
        """Stage ``role`` for change: next version, fresh expiry, signatures dropped."""
        if role in self._staged or self.layout.staged_role(role).is_file():
            md = self.current(role)
        else:
            pub = self.published(role)
            if pub is None:
                raise RepoError(f"role {role} does not exist in this repository")
            md = Metadata.from_bytes(pub.to_bytes(SERIALIZER))
            md.signed.version += 1
            self._staged[role] = md
        md.signed.expires = self._expiry(role)
        md.signatures.clear()
        self._dirty.add(role)
        return md

    def _stage_new(self, role: str, md: Metadata[Any]) -> None:
        self._staged[role] = md
        self._dirty.add(role)

    def save(self) -> None:
        """Write every role changed in this session to ``staged/``, durably (files and directories synced)."""
        with self.transaction():
            self.layout.staged.mkdir(parents=True, exist_ok=True)
            for role in sorted(self._dirty):
                write_synced(self.layout.staged_role(role), self._staged[role].to_bytes(SERIALIZER))
            L.fsync_dir(self.layout.staged)
            self.storage.flush()
            self._dirty.clear()

    def save_config(self) -> None:
        """Write ``repo.json`` (signer URIs, delegation parents) durably."""
        self._save_config()

    def expiry(self, role: str) -> dt.datetime:
        """When a new version of ``role`` made now expires (its period from ``repo.json``)."""
        return self._expiry(role)

    def stage_new(self, role: str, md: Metadata[Any]) -> None:
        """Stage the first version of a new role."""
        self._stage_new(role, md)

    def _save_config(self) -> None:
        with self.transaction():
            write_atomic(self.layout.config, self.config.to_json())
            L.fsync_dir(self.layout.root)

    # -- delegation structure ---------------------------------------------------------

    def parent_of(self, role: str) -> str:
        if role in L.ROLES_TOP:
            return "root"
        if role in self.config.parents:
            return self.config.parents[role]
        for prefix, owner in self.config.bins.items():
            if role.startswith(prefix + "-"):
                return owner
        raise RepoError(f"role {role} is not delegated in this repository")

    def targets_roles(self) -> list[str]:
        """Every targets-type role: targets, class roles and all bins."""
        out = ["targets", *self.config.parents]
        for prefix, owner in self.config.bins.items():
            d = self.current(owner).signed.delegations
            if d is not None and d.succinct_roles is not None and d.succinct_roles.name_prefix == prefix:
                out.extend(d.succinct_roles.get_roles())
        return out

    def owner_of(self, path: str) -> str:
        """The role that signs ``path``, following class delegations and hash bins."""
        role = "targets"
        for _ in range(4):
            d = self.current(role).signed.delegations
            if d is None:
                return role
            if d.succinct_roles is not None:
                return str(d.succinct_roles.get_role_for_target(path))
            nxt = next((r.name for r in (d.roles or {}).values() if r.is_delegated_path(path)), None)
            if nxt is None:
                return role
            role = nxt
        raise RepoError(f"delegation chain for {path} is deeper than fwsign builds")

    def _make_bins(self, owner: str, prefix: str, keys: list[KeyRef], threshold: int, bits: int) -> None:
        md = self.current(owner) if owner in self._staged else self.edit(owner)
        if md.signed.delegations is not None and md.signed.delegations.roles:
            raise RepoError(f"{owner} already delegates to named roles; hash bins go under a class role "
                            "(fwsign repo delegate --bins)")
        succinct = SuccinctRoles([k.keyid for k in keys], threshold, bits, prefix)
        md.signed.delegations = Delegations(keys={k.keyid: k.key for k in keys}, roles=None, succinct_roles=succinct)
        existing = dict(md.signed.targets)
        md.signed.targets = {}
        self.config.bins[prefix] = owner
        for k in keys:
            if k.uri:
                self.config.signers[k.keyid] = k.uri
        self._save_config()
        for name in succinct.get_roles():
            self._stage_new(name, Metadata(Targets(version=1, expires=self._expiry(name))))
        for path, tf in existing.items():
            self._staged[succinct.get_role_for_target(path)].signed.targets[path] = tf

    def check_class_delegation(self, name: str, class_id: bytes, keys: Sequence[KeyRef] | None = None,
                               threshold: int = 1) -> None:
        """Raise what :meth:`delegate_class` would refuse, changing nothing (so a command can check first)."""
        if not ROLE_NAME.fullmatch(name) or name in L.ROLES_TOP or name in ("bins", "rollout") or name in self.config.parents \
                or any(name.startswith(prefix + "-") for prefix in self.config.bins):
            raise UsageError(f"{name!r} cannot name a class role (lower-case letters, digits, '-', '_'; not a top-level "
                             "role name; not already delegated)")
        if keys is not None and (not keys or not 1 <= threshold <= len(keys)):
            raise UsageError(f"class role {name} needs keys and a threshold between 1 and {len(keys)}")
        d = self.current("targets").signed.delegations
        if d is not None and d.succinct_roles is not None:
            raise RepoError("top-level targets uses hash bins; class delegations need a repository created without "
                            "--bins (give the class role its own bins: fwsign repo delegate --bins)")
        patterns = L.class_patterns(class_id)
        if d is not None and any(patterns[0] in (r.paths or []) for r in (d.roles or {}).values()):
            raise RepoError(f"class {L.class_dir(class_id)} is already delegated")

    def delegate_class(self, name: str, class_id: bytes, keys: list[KeyRef], threshold: int = 1, bin_bits: int = 0) -> None:
        """Delegate every target under ``<class-id>/`` to a new role ``name`` (terminating)."""
        self.check_class_delegation(name, class_id, keys, threshold)
        top = self.edit("targets")
        d = top.signed.delegations
        if d is None:
            d = top.signed.delegations = Delegations(keys={}, roles={})
        assert d.roles is not None
        patterns = L.class_patterns(class_id)
        d.roles[name] = DelegatedRole(name, [k.keyid for k in keys], threshold, True, paths=patterns)
        for k in keys:
            d.keys[k.keyid] = k.key
            if k.uri:
                self.config.signers[k.keyid] = k.uri
        self.config.parents[name] = "targets"
        self.config.classes[name] = L.class_dir(class_id)
        self._save_config()
        role = Metadata(Targets(version=1, expires=self._expiry(name)))
        moved = {p: tf for p, tf in top.signed.targets.items() if p.startswith(L.class_dir(class_id) + "/")}
        for p in moved:
            del top.signed.targets[p]
        role.signed.targets.update(moved)
        self._stage_new(name, role)
        if bin_bits:
            self._make_bins(name, f"{name}-bins", keys, threshold, bin_bits)

    # -- targets -----------------------------------------------------------------------

    def get_target(self, path: str) -> TargetFile | None:
        return cast("TargetFile | None", self.current(self.owner_of(path)).signed.targets.get(path))

    def set_target(self, tf: TargetFile) -> str:
        """Add or replace one target entry in the role that owns its path; returns the role."""
        owner = self.owner_of(tf.path)
        md = self.current(owner) if owner in self._dirty else self.edit(owner)
        md.signed.targets[tf.path] = tf
        return owner

    def delete_target(self, path: str) -> str:
        owner = self.owner_of(path)
        md = self.current(owner)
        if path not in md.signed.targets:
            raise RepoError(f"target {path} is not in the repository")
        md = md if owner in self._dirty else self.edit(owner)
        del md.signed.targets[path]
        return owner

    def store_file(self, path: str, data: bytes | None = None, source: Ingested | None = None,
                   custom: dict[str, Any] | None = None) -> TargetFile:
        """Store a target's bytes under its hash-prefixed name and stage its entry.

        ``data`` is hashed here; an :class:`~fwsign.repo.storage.Ingested` payload was hashed
        while it was copied (:meth:`ingest`), and that private copy is what is stored, so the
        published bytes are the hashed bytes.
        """
        if data is not None:
            tf = TargetFile.from_data(path, data, ["sha256"])
        elif source is not None:
            tf = TargetFile(source.length, {"sha256": source.sha256}, path)
        else:
            raise UsageError("store_file needs data or an ingested file")
        name = self.layout.target_name(path, tf.hashes["sha256"])
        if self.storage.exists(name):
            if source is not None:
                source.discard()
        elif data is not None:
            self.storage.put(name, data)
        else:
            assert source is not None
            self.storage.put_file(name, source.path)
        if custom:
            tf.unrecognized_fields["custom"] = custom
        self.set_target(tf)
        return tf

    def ingest(self, source: Path, *, max_bytes: int | None = None) -> Ingested:
        """A private, hashed copy of ``source`` (read once) for :meth:`store_file`."""
        return ingest(source, self.layout.staged, max_bytes=max_bytes)

    def target_bytes(self, tf: TargetFile) -> bytes:
        return self.storage.read(self.layout.target_name(tf.path, tf.hashes["sha256"]))

    # -- signing and publishing ----------------------------------------------------------

    def _role_keys(self, role: str, root: Root) -> tuple[dict[str, Key], int]:
        parent = self.parent_of(role)
        if parent == "root":
            r = root.roles[role]
            return {k: root.keys[k] for k in r.keyids}, r.threshold
        d = self.current(parent).signed.delegations
        if d is None:
            raise RepoError(f"{parent} does not delegate {role}")
        dr = d.succinct_roles if d.succinct_roles is not None and d.succinct_roles.is_delegated_role(role) else (d.roles or {}).get(role)
        if dr is None:
            raise RepoError(f"{parent} does not delegate {role}")
        return {k: d.keys[k] for k in dr.keyids}, dr.threshold

    def _signable_keys(self, role: str, root: Root, prev_root: Root | None) -> dict[str, Key]:
        keys, _ = self._role_keys(role, root)
        if role == "root" and prev_root is not None:
            old = prev_root.roles["root"]
            keys = {**{k: prev_root.keys[k] for k in old.keyids}, **keys}
        return keys

    def _signers_for(self, role: str, md: Metadata[Any], root: Root, prev_root: Root | None) -> dict[str, Signer]:
        """The signers this repository can use for ``role`` that have not signed ``md`` yet."""
        out: dict[str, Signer] = {}
        for keyid, key in self._signable_keys(role, root, prev_root).items():
            uri = self.config.signers.get(keyid)
            if uri and keyid not in md.signatures:
                signer = self._signers.get(keyid)
                if signer is None:
                    signer = self._signers[keyid] = load_signer(uri, key, self.layout.root)
                out[keyid] = signer
        return out

    def _sign_available(self, role: str, md: Metadata[Any], root: Root, prev_root: Root | None) -> bytes:
        """Sign ``md`` with every available key of ``role``; returns its canonical signed bytes."""
        payload = canonical_bytes(md.signed.to_dict())
        sigs = sign_bytes(payload, self._signers_for(role, md, root, prev_root), md.signatures)
        md.signatures.clear()
        md.signatures.update(sigs)
        return payload

    def _verified(self, role: str, md: Metadata[Any], root: Root, prev_root: Root | None,
                  payload: bytes | None = None) -> tuple[bool, str]:
        if payload is None:
            payload = canonical_bytes(md.signed.to_dict())
        if role == "root":
            res = root.get_root_verification_result(prev_root, payload, md.signatures)
            missing = res.first.missing + res.second.missing
            return res.verified, f"root v{md.signed.version}: {missing} more signature(s) needed (old and new root thresholds)"
        parent = self.parent_of(role)
        delegator: Root | Targets = root if parent == "root" else self.current(parent).signed
        vres = delegator.get_verification_result(role, payload, md.signatures)
        return vres.verified, f"{role} v{md.signed.version}: {vres.missing} more signature(s) needed of {vres.threshold}"

    def sign(self, role: str, signer: Signer) -> None:
        """Add one key holder's signature to the pending version of ``role``."""
        with self.transaction():
            self._sign(role, signer)

    def _sign(self, role: str, signer: Signer) -> None:
        if not self.layout.staged_role(role).is_file():
            raise RepoError(f"no pending version of {role}; stage a change first (add, delegate, rotate, publish)")
        md = self.current(role)
        root_md = self.current("root")
        prev = self.published("root") if role == "root" and "root" in self.staged_roles() else None
        keys = self._signable_keys(role, root_md.signed, prev.signed if prev else None)
        keyid = signer.public_key.keyid
        if keyid not in keys:
            raise RepoError(f"key {keyid[:12]} is not a key of role {role}")
        md.sign(signer, append=True)
        self._dirty.add(role)
        self.save()
        self.audit("repo-sign", artifact=role, key_ids=[keyid], signers=[_signer_class(signer)],
                   details={"version": md.signed.version})

    def publish(self, *, check: bool = True, resign_online: bool = True) -> PublishResult:
        """Sign staged roles, then write them with a new snapshot and timestamp.

        Runs under the repository lock from planning to the last sync; when it returns,
        every file it wrote (targets, metadata, the audit record) is on stable storage.
        """
        with self.transaction():
            return self._publish(check=check, resign_online=resign_online)

    def _publish(self, *, check: bool, resign_online: bool) -> PublishResult:
        prev_root_md = self.published("root")
        staged = self.staged_roles()
        for role in staged:
            self.current(role)
        root_md = self.current("root")
        root = root_md.signed
        prev_root = prev_root_md.signed if prev_root_md is not None and "root" in staged else None
        if prev_root is not None:
            # A role whose keys or threshold changed is re-signed under the new root.
            old_t, new_t = prev_root.roles["targets"], root.roles["targets"]
            if (old_t.keyids, old_t.threshold) != (new_t.keyids, new_t.threshold) and "targets" not in self._staged:
                self.edit("targets")
            staged = self.staged_roles()
        # Each staged role is encoded once; its signatures, checks and file use those bytes.
        payloads: dict[str, bytes] = {}
        pending: list[str] = []
        for role in staged:
            md = self._staged[role]
            if not md.signatures:
                md.signed.expires = self._expiry(role)
            payloads[role] = self._sign_available(role, md, root, prev_root)
            ok, note = self._verified(role, md, root, prev_root, payloads[role])
            if not ok:
                pending.append(note)
        self._check_children(staged, payloads)
        if pending:
            self._dirty.update(staged)
            self.save()
            raise ThresholdNotMet("not published, pending signatures: " + "; ".join(pending)
                                  + " (run fwsign repo sign DIR ROLE --key ...)")
        if not staged and not resign_online:
            return PublishResult(False)
        files: dict[str, bytes] = {}
        versions: dict[str, int] = {}
        warnings: list[str] = []
        for role in staged:
            md = self._staged[role]
            data = metadata_file(payloads[role], md.signatures)
            self._check_size(role, data, warnings)
            files[f"{md.signed.version}.{role}.json"] = data
            versions[role] = md.signed.version
        old_snap = self.published("snapshot")
        changed = {r: self._staged[r].signed.version for r in staged if role_type(r) == "targets"}
        snap = planner.next_snapshot(old_snap.signed if old_snap is not None else None, changed,
                                     self._expiry("snapshot"), auditing.anchor(self.layout.root))
        snap_bytes = self._seal_online("snapshot", snap, root)
        self._check_size("snapshot", snap_bytes, warnings)
        files[f"{snap.version}.snapshot.json"] = snap_bytes
        old_ts = self.published("timestamp")
        ts = planner.next_timestamp(old_ts.signed.version if old_ts is not None else None, snap.version, snap_bytes,
                                    self._expiry("timestamp"))
        ts_bytes = self._seal_online("timestamp", ts, root)
        self._check_size("timestamp", ts_bytes, warnings)
        files["timestamp.json"] = ts_bytes
        versions["snapshot"], versions["timestamp"] = snap.version, ts.version
        if check:
            self._client_check(files, [r for r in staged if role_type(r) == "targets"])
        order = planner.write_order(files)
        # Target files and everything but timestamp go down first, each file and then the
        # directories synced; then timestamp, the only file that makes the new state
        # visible, is written and synced with its directory.
        for name in order[:-1]:
            self.storage.put(f"metadata/{name}", files[name])
        self.storage.put_visible(f"metadata/{order[-1]}", files[order[-1]])
        if "root" in staged:
            write_atomic(self.layout.trusted_root, files[f"{root.version}.root.json"])
            L.fsync_dir(self.layout.root)
        for role in staged:
            self.layout.staged_role(role).unlink(missing_ok=True)
        if self.layout.staged.is_dir():
            L.fsync_dir(self.layout.staged)
        self._staged.clear()
        self._published.clear()
        self.audit("publish", artifact=order[-1], artifact_bytes=files[order[-1]], details={"versions": versions})
        return PublishResult(True, tuple(order), (), tuple(warnings), versions)

    def _check_children(self, staged: Sequence[str], payloads: dict[str, bytes]) -> None:
        """Every role delegated by a changed delegator must still verify under it."""
        for role in staged:
            signed = self._staged[role].signed
            if not isinstance(signed, Targets) or signed.delegations is None:
                continue
            d = signed.delegations
            children = list(d.succinct_roles.get_roles()) if d.succinct_roles is not None else list(d.roles or {})
            for child in children:
                md = self._staged.get(child) or self.published(child)
                if md is None or (child in self._staged and not md.signatures):
                    continue
                payload = payloads.get(child) or canonical_bytes(md.signed.to_dict())
                if not signed.get_verification_result(child, payload, md.signatures).verified:
                    raise RepoError(f"{child} would no longer verify under the new {role} delegation; "
                                    f"stage and re-sign {child} too (not published)")

    def _seal_online(self, role: str, signed: Snapshot | Timestamp, root: Root) -> bytes:
        """Sign an online role (snapshot, timestamp) with its keys and return the file bytes."""
        md: Metadata[Any] = Metadata(signed)  # type: ignore[type-var]
        payload = self._sign_available(role, md, root, None)
        ok, note = self._verified(role, md, root, None, payload)
        if not ok:
            raise ThresholdNotMet(f"{note}: {role} is an online role; repo.json needs signer URIs for its keys")
        return metadata_file(payload, md.signatures)

    def _check_size(self, role: str, data: bytes, warnings: list[str]) -> None:
        kind = role_type(role)
        limit = L.limit_for(kind)
        if len(data) > limit:
            raise MetadataTooLarge(f"{role} metadata would be {len(data)} bytes, over the default python-tuf client "
                                   f"limit of {limit} bytes; use hash bins (fwsign repo init/delegate --bins auto)")
        w = L.size_warning(role, kind, len(data))
        if w:
            warnings.append(w)

    def _client_check(self, files: dict[str, bytes], changed: Iterable[str]) -> None:
        """Refresh a python-tuf client against the new state (in memory) before writing it."""
        from .check import client_check

        sample = planner.client_sample({role: self._staged[role].signed.targets for role in changed})
        client_check(self.layout, files, sample)

    def refresh(self, *, within_days: int = 7) -> PublishResult:
        """Re-sign snapshot and timestamp, and any role the repository can sign expiring within ``within_days``."""
        limit = self.now() + dt.timedelta(days=within_days)
        notes: list[str] = []
        for role in ["targets", *self.targets_roles()[1:]]:
            md = self.current(role)
            if md.signed.expires <= limit and role not in self.staged_roles():
                keys, threshold = self._role_keys(role, self.current("root").signed)
                if sum(1 for k in keys if k in self.config.signers) >= threshold:
                    self.edit(role)
                else:
                    notes.append(f"{role} expires {md.signed.expires:%Y-%m-%d} and needs offline keys: stage and sign it")
        self.save()
        res = self.publish()
        return PublishResult(res.published, res.written, res.pending, (*res.warnings, *notes), res.versions)

    # -- root rotation ----------------------------------------------------------------

    def rotate(self, role: str, *, add: Sequence[KeyRef] = (), remove: Sequence[str] = (), threshold: int | None = None) -> Root:
        """Stage a new root with ``role``'s keys or threshold changed (root, targets, snapshot or timestamp)."""
        if role not in L.ROLES_TOP:
            raise UsageError(f"rotate changes a top-level role (root, targets, snapshot, timestamp), not {role!r}; "
                             "for class roles use repo delegate")
        md = self.current("root") if "root" in self.staged_roles() else self.edit("root")
        root: Root = md.signed
        for keyid in remove:
            matches = [k for k in root.roles[role].keyids if k.startswith(keyid)]
            if len(matches) != 1:
                raise UsageError(f"key id {keyid!r} matches {len(matches)} key(s) of {role}")
            root.revoke_key(matches[0], role)
        for ref in add:
            root.add_key(ref.key, role)
            if ref.uri:
                self.config.signers[ref.keyid] = ref.uri
        if threshold is not None:
            root.roles[role].threshold = threshold
        r = root.roles[role]
        if not r.keyids or not 1 <= r.threshold <= len(r.keyids):
            raise UsageError(f"{role} would have {len(r.keyids)} key(s) and threshold {r.threshold}")
        md.signatures.clear()
        self._dirty.add("root")
        self._save_config()
        self.save()
        return root

    # -- reporting -----------------------------------------------------------------------

    def status(self, *, warn_days: int = 7) -> dict[str, Any]:
        now = self.now()
        root = self.current("root").signed
        roles: list[dict[str, Any]] = []
        warnings: list[str] = []
        names = [*L.ROLES_TOP, *self.config.parents]
        for name in names:
            md = self.published(name)
            if md is None:
                roles.append({"role": name, "published": False})
                continue
            keys, threshold = self._role_keys(name, root)
            left = md.signed.expires - now
            entry: dict[str, Any] = {
                "role": name, "version": md.signed.version, "expires": md.signed.expires.isoformat(),
                "expires_in_days": round(left.total_seconds() / 86400, 2), "threshold": threshold,
                "keys": [{"keyid": k, "scheme": v.scheme, "signer": "online" if k in self.config.signers else "offline"}
                         for k, v in keys.items()],
            }
            if isinstance(md.signed, Targets):
                entry["targets"] = len(md.signed.targets)
                d = md.signed.delegations
                if d is not None and d.succinct_roles is not None:
                    entry["bins"] = d.succinct_roles.number_of_bins
            if name in self.config.classes:
                entry["class_id"] = self.config.classes[name]
            roles.append(entry)
            if left <= dt.timedelta(0):
                warnings.append(f"{name} EXPIRED at {md.signed.expires:%Y-%m-%d %H:%M} UTC")
            elif left <= min(dt.timedelta(days=warn_days), self._period(name) / 2):
                warnings.append(f"{name} expires within {warn_days} days ({md.signed.expires:%Y-%m-%d %H:%M} UTC)")
            p = self.layout.metadata / "timestamp.json" if name == "timestamp" else self.layout.versioned(name, md.signed.version)
            w = L.size_warning(name, role_type(name), p.stat().st_size)
            if w:
                warnings.append(w)
        return {"directory": str(self.layout.root), "now": now.isoformat(), "roles": roles,
                "root_versions": self.root_versions(), "pending": self.staged_roles(), "warnings": warnings}


@dataclass(frozen=True)
class InitResult:
    """What :func:`initialise` made: the repository and its first publication (None while pending)."""

    repository: Repository
    published: PublishResult | None
    pending: str = ""


def initialise(
    directory: Path,
    key_specs: dict[str, Sequence[str]],
    thresholds: dict[str, int],
    *,
    key_counts: dict[str, int | None] | None = None,
    expiry_days: dict[str, int] | None = None,
    bin_bits: int = 0,
    bin_key_specs: Sequence[str] = (),
    now: Clock = utcnow,
) -> InitResult:
    """Create and publish a repository, all or nothing.

    Every key spec is loaded (and generated keys made in memory) before anything is
    written; if anything then fails, every file and directory this call created is removed
    again (``directory`` too, if it did not exist), so a failed init leaves the tree as it
    was. A first publication short of signatures (offline root keys) is not a failure: the
    repository stays, with root v1 pending (``InitResult.pending``).
    """
    directory = Path(directory)
    lay = L.Layout(directory)
    if lay.config.exists() or lay.legacy():
        raise UsageError(f"{directory} already holds a repository")
    counts = key_counts or {}
    pending_keys = PendingKeys(directory)
    keys: dict[str, list[KeyRef]] = {}
    for role in L.ROLES_TOP:
        specs = list(key_specs.get(role, ()))
        want = max(counts.get(role) or 0, len(specs), 1)
        specs += ["generate"] * (want - len(specs))
        keys[role] = [parse_key_spec(spec, directory, f"{role}-{i + 1}", pending_keys) for i, spec in enumerate(specs)]
    bin_keys: list[KeyRef] = []
    if bin_bits:
        bin_keys = [parse_key_spec(spec, directory, f"bins-{i + 1}", pending_keys)
                    for i, spec in enumerate(list(bin_key_specs) or ["generate"])]
    for role in L.ROLES_TOP:
        t = thresholds.get(role, 1)
        if not 1 <= t <= len(keys[role]):
            raise UsageError(f"{role} threshold {t} must be between 1 and its {len(keys[role])} key(s)")
    for role, days in (expiry_days or {}).items():
        if days < 1:
            raise UsageError(f"expiry period of {role} must be at least one day")
    existed = directory.exists()
    before = set(_listing(directory)) if existed else set()
    created_top = directory  # the highest directory this call creates, if any
    while not created_top.parent.exists() and created_top.parent != created_top:
        created_top = created_top.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        pending_keys.commit()
        repo = Repository.create(directory, keys, thresholds, expiry_days=expiry_days, bin_bits=bin_bits,
                                 bin_keys=bin_keys, now=now)
        try:
            res = repo.publish()
        except ThresholdNotMet as exc:
            return InitResult(repo, None, exc.message)
        return InitResult(repo, res)
    except BaseException:
        if existed:
            _remove_created(directory, before)
        else:
            shutil.rmtree(created_top, ignore_errors=True)
        raise


def _listing(directory: Path) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in dirnames + filenames:
            out.append(os.path.relpath(os.path.join(dirpath, name), directory))
    return out


def _remove_created(directory: Path, before: set[str]) -> None:
    """Undo a failed init in an existing directory: remove every path not in ``before``."""
    if not directory.exists():
        return
    for rel in sorted(set(_listing(directory)) - before, key=lambda r: r.count(os.sep), reverse=True):
        p = directory / rel
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        except FileNotFoundError:
            pass


def _signer_kind(uri: str | None) -> str:
    """The kind of a role key for the audit log: file, pkcs11, awskms, ... or offline."""
    return uri.split(":", 1)[0] if uri else "offline"


def _signer_class(signer: Signer) -> str:
    name = type(signer).__name__
    return {"CryptoSigner": "file", "TufPkcs11Signer": "pkcs11"}.get(name, name)
