"""Repository layout, target path convention, hash-bin sizing and client size limits.

On disk::

    DIR/repo.json          settings: expiry periods, signer URIs per key id, bins per role
    DIR/trusted-root.json  the root to embed in clients (refreshed after rotations)
    DIR/metadata/          what clients fetch: N.root.json, timestamp.json,
                           N.snapshot.json, N.targets.json, N.<delegated>.json
    DIR/targets/           target files, stored as <dir>/<sha256>.<name> (consistent snapshots)
    DIR/staged/            role versions edited but not yet published (pending signatures)
    DIR/keys/              generated private keys (0600); keep them off the web server

Serving ``DIR`` over HTTP gives clients ``BASE/metadata/`` and ``BASE/targets/``; ``keys/``,
``staged/`` and ``repo.json`` must not be served (see docs/repo.md).

Target paths: every target of a device class lives under ``<class-id>/`` (the class id as a
UUID string), so a class delegation is a single path pattern:

* ``<class-id>/<sequence>.suit`` every release's envelope;
* ``<class-id>/latest.suit`` the newest release's envelope (same bytes), carrying the
  class's revocation floor; a client asks for this one path and never lists targets;
* ``<class-id>/payloads/<sha256>`` payloads, content-addressed.
"""

from __future__ import annotations

import math
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


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def metadata(self) -> Path:
        return self.root / "metadata"

    @property
    def targets(self) -> Path:
        return self.root / "targets"

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
        return self.metadata / f"{version}.{role}.json"

    def staged_role(self, role: str) -> Path:
        return self.staged / f"{role}.json"

    def target_file(self, path: str, sha256: str) -> Path:
        """Where a target is stored so a consistent-snapshot client finds it."""
        dirname, _, base = path.rpartition("/")
        return self.targets / dirname / f"{sha256}.{base}"


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
