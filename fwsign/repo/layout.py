"""Repository layout, target path convention, hash-bin sizing and client size limits.

On disk::

    DIR/public/            the published tree, and the only part ever copied to a web server:
    DIR/public/metadata/   what clients fetch: N.root.json, timestamp.json,
                           N.snapshot.json, N.targets.json, N.<delegated>.json
    DIR/public/targets/    target files, stored as <dir>/<sha256>.<name> (consistent snapshots)
    DIR/repo.json          settings: expiry periods, signer URIs per key id, bins per role
    DIR/trusted-root.json  the root to embed in clients (refreshed after rotations)
    DIR/staged/            role versions edited but not yet published (pending signatures)
    DIR/keys/              generated private keys (0600, directory 0700)
    DIR/audit.log          the audit log and its signed head
    DIR/.lock              the publish lock (one writer at a time)

Clients use ``BASE/metadata/`` and ``BASE/targets/`` where ``BASE`` serves ``DIR/public/``;
everything outside ``public/`` stays on the signing machine (see docs/repo.md).
Repositories made before ``public/`` existed kept ``metadata/`` and ``targets/`` directly
in ``DIR``; :func:`migrate_legacy` moves them in the first time a command opens the
repository.

Target paths: every target of a device class lives under ``<class-id>/`` (the class id as a
UUID string), so a class delegation is a single path pattern:

* ``<class-id>/<sequence>.suit`` every release's envelope;
* ``<class-id>/latest.suit`` the newest release's envelope (same bytes), carrying the
  class's revocation floor; a client asks for this one path and never lists targets;
* ``<class-id>/payloads/<sha256>`` payloads, content-addressed.
"""

from __future__ import annotations

import math
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

#: python-tuf 7.0.1 ``UpdaterConfig`` defaults (REFERENCE.md section 2).
CLIENT_MAX_BYTES: dict[str, int] = {
    "root": 512_000,
    "timestamp": 16_384,
    "snapshot": 2_000_000,
    "targets": 5_000_000,
}
#: Warn when a metadata file passes this share of its client limit.
WARN_FRACTION = 0.8

#: Cost model for choosing the bin count (REFERENCE.md section 2, measured with tuf 7.0.1):
#: one target entry with our custom data ~227 B; one bin entry in snapshot ~29 B.
TARGET_ENTRY_BYTES = 227
SNAPSHOT_BIN_BYTES = 29
MAX_BIN_BITS = 14  # 16,384 bins, as PEP 458 uses for 2.27M targets

ROLES_TOP = ("root", "targets", "snapshot", "timestamp")
#: Expiry periods in days, in the spirit of PEP 458: offline roles (root, targets, class
#: roles and their bins) a year; online roles (snapshot, timestamp) a day, so a frozen
#: mirror is detected within a day.
DEFAULT_EXPIRY_DAYS: dict[str, int] = {"root": 365, "targets": 365, "snapshot": 1, "timestamp": 1, "delegated": 365}

LATEST = "latest.suit"
PAYLOADS = "payloads"


#: What a role name, a key file's stem or one segment of a target path may be: it becomes
#: part of a file name, so nothing that could climb out of its directory or hide (no '/',
#: no '\\', no leading '.', no '..').
SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,127}")
SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")
PUBLIC = "public"
PUBLISHED_DIRS = ("metadata", "targets")


def check_name(name: str, what: str) -> str:
    """``name`` if it is safe as a file name stem (lower-case letters, digits, '-', '_'), else UsageError."""
    from ..errors import UsageError

    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise UsageError(f"{what} {name!r} is not allowed: use 1-128 lower-case letters, digits, '-' or '_', "
                         "starting with a letter or digit")
    return name


def check_target_path(path: str) -> str:
    """A target path (``<class-id>/...``) whose every segment is safe as a file name, else UsageError."""
    from ..errors import UsageError

    parts = path.split("/")
    if len(path) > 1024 or not parts or any(not SAFE_SEGMENT.fullmatch(p) or ".." in p for p in parts):
        raise UsageError(f"target path {path!r} is not allowed: segments of letters, digits, '.', '-', '_' "
                         "separated by '/', none starting with '.'")
    return path


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def public(self) -> Path:
        """The published tree: the only directory a web server or bucket should get."""
        return self.root / PUBLIC

    @property
    def metadata(self) -> Path:
        return self.public / "metadata"

    @property
    def targets(self) -> Path:
        return self.public / "targets"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def staged(self) -> Path:
        return self.root / "staged"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def config(self) -> Path:
        return self.root / "repo.json"

    @property
    def trusted_root(self) -> Path:
        return self.root / "trusted-root.json"

    def versioned(self, role: str, version: int) -> Path:
        return self.metadata / f"{int(version)}.{check_name(role, 'role name')}.json"

    def staged_role(self, role: str) -> Path:
        return self.staged / f"{check_name(role, 'role name')}.json"

    def target_name(self, path: str, sha256: str) -> str:
        """A target's name in the published tree (``targets/<dir>/<sha256>.<base>``, consistent snapshots)."""
        from ..errors import UsageError

        check_target_path(path)
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise UsageError(f"target hash {sha256!r} is not a SHA-256 hex digest")
        dirname, _, base = path.rpartition("/")
        return f"targets/{dirname}/{sha256}.{base}" if dirname else f"targets/{sha256}.{base}"

    def target_file(self, path: str, sha256: str) -> Path:
        """Where a target is stored so a consistent-snapshot client finds it."""
        return self.public / self.target_name(path, sha256)

    def legacy(self) -> bool:
        """True for a repository laid out before ``public/``: ``metadata/`` directly in ``DIR``."""
        return any((self.root / d).is_dir() and not (self.public / d).exists() for d in PUBLISHED_DIRS)

    def served_root(self) -> Path:
        """What ``repo serve`` serves: ``public/``, or ``DIR`` itself for a not yet migrated repository."""
        return self.root if self.legacy() and not self.public.is_dir() else self.public


def migrate_legacy(layout: Layout) -> bool:
    """Move ``DIR/metadata`` and ``DIR/targets`` into ``DIR/public/`` (each one rename); True if anything moved.

    Each step is a rename within one file system, so an interruption leaves each directory
    either where it was or where it belongs, and the next run finishes the move.
    """
    moved = False
    for name in PUBLISHED_DIRS:
        old, new = layout.root / name, layout.public / name
        if old.is_dir() and not old.is_symlink() and not new.exists():
            layout.public.mkdir(mode=0o755, exist_ok=True)
            os.replace(old, new)
            moved = True
    if moved:
        fsync_dir(layout.public)
        fsync_dir(layout.root)
    return moved


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (new, renamed or removed files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def class_dir(class_id: bytes) -> str:
    return str(uuid.UUID(bytes=class_id))


def envelope_path(class_id: bytes, sequence: int) -> str:
    return f"{class_dir(class_id)}/{sequence}.suit"


def latest_path(class_id: bytes) -> str:
    return f"{class_dir(class_id)}/{LATEST}"


def payload_path(class_id: bytes, sha256: str) -> str:
    return f"{class_dir(class_id)}/{PAYLOADS}/{sha256}"


def class_patterns(class_id: bytes) -> list[str]:
    """Delegation path patterns for a class (a TUF ``*`` does not cross ``/``)."""
    return [f"{class_dir(class_id)}/*", f"{class_dir(class_id)}/{PAYLOADS}/*"]


def bin_bits_for(n_targets: int) -> int:
    """Bit length of the succinct bins for about ``n_targets`` targets (TAP 15).

    A cold client downloads snapshot (~29 B per bin) plus one bin (~227 B per target in
    it); the sum N*227/B + 29*B is smallest at B = sqrt(N*227/29). Of the two powers of two
    around that optimum, the one with the lower cost wins; at least 2 bins.
    """
    if n_targets <= 0:
        return 1
    best = math.sqrt(n_targets * TARGET_ENTRY_BYTES / SNAPSHOT_BIN_BYTES)
    low = max(1, min(MAX_BIN_BITS, math.floor(math.log2(best)) if best >= 2 else 1))
    high = min(MAX_BIN_BITS, low + 1)
    return min((low, high), key=lambda bits: cold_client_bytes(n_targets, bits))


def cold_client_bytes(n_targets: int, bits: int) -> float:
    """Modelled snapshot + one bin bytes a cold client downloads (REFERENCE.md section 2)."""
    bins = 1 << bits
    return n_targets * TARGET_ENTRY_BYTES / bins + SNAPSHOT_BIN_BYTES * bins


def bits_of_count(count: int) -> int:
    """Bit length for an explicit bin count, which must be a power of two >= 2."""
    if count < 2 or count & (count - 1) or count > 1 << MAX_BIN_BITS:
        raise ValueError(f"bin count must be a power of two between 2 and {1 << MAX_BIN_BITS}, got {count}")
    return count.bit_length() - 1


def limit_for(role_type: str) -> int:
    return CLIENT_MAX_BYTES.get(role_type, CLIENT_MAX_BYTES["targets"])


def size_warning(name: str, role_type: str, size: int) -> str | None:
    """A warning when ``size`` nears the default client limit for this kind of role."""
    limit = limit_for(role_type)
    if size > WARN_FRACTION * limit:
        return (f"{name} metadata is {size} bytes, {100 * size // limit}% of the default client limit of {limit} bytes; "
                "use hash bins (repo init/delegate --bins auto)")
    return None
