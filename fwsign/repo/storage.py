"""Where the published tree lives: a small storage interface and the local file system.

The repository logic (:mod:`fwsign.repo.repository`) decides *what* to publish; a
:class:`Storage` only holds bytes under names relative to the published tree
(``metadata/N.role.json``, ``targets/<dir>/<sha256>.<name>``). The published tree is
static files, so the same layout is served unchanged by ``fwsign repo serve``, nginx, or
an object store behind a CDN (docs/repo.md): a storage for those only has to make each
``put`` whole-or-nothing and honour the order in which the repository writes (every file
a new ``timestamp.json`` points to is stored before it).

:class:`FileStorage` is the default: a temporary file, fsync, rename per file; the
directories that gained entries are synced by :meth:`FileStorage.flush`, and
:meth:`FileStorage.put_visible` (the timestamp, which makes a new state visible) is synced
with its directory at once.

Payloads are *ingested* before they are stored: :func:`ingest` copies a source file into
a private temporary file while hashing it, so the file is read once, and what the
repository verifies, signs and stores is that private copy, not a path someone else can
rewrite in between.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import RepoError, UsageError
from .layout import fsync_dir

CHUNK = 1 << 20


class Storage(Protocol):
    """The published tree: named byte strings, each written whole or not at all."""

    def read(self, name: str) -> bytes:
        """The bytes stored under ``name``; RepoError if there are none."""

    def exists(self, name: str) -> bool:
        """True if ``name`` is stored."""

    def list(self, directory: str) -> list[str]:
        """The names stored directly in ``directory`` (base names, sorted)."""

    def put(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name`` (durable by the next :meth:`flush`)."""

    def put_file(self, name: str, path: Path) -> None:
        """Store the private file ``path`` under ``name``; ``path`` is consumed."""

    def flush(self) -> None:
        """Make everything stored so far durable."""

    def put_visible(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name`` durably at once, after everything before it."""


def _checked(name: str) -> str:
    parts = name.split("/")
    if not name or any(p in ("", ".", "..") or p.startswith(".") for p in parts) or "\\" in name:
        raise UsageError(f"storage name {name!r} is not allowed")
    return name


class FileStorage:
    """The published tree as a directory on a local (POSIX) file system."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._unsynced: set[Path] = set()

    def path(self, name: str) -> Path:
        return self.root / _checked(name)

    def read(self, name: str) -> bytes:
        try:
            return self.path(name).read_bytes()
        except OSError as exc:
            raise RepoError(f"cannot read {self.path(name)}: {exc.strerror}") from None

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def list(self, directory: str) -> list[str]:
        d = self.path(directory)
        if not d.is_dir():
            return []
        return sorted(p.name for p in d.iterdir() if p.is_file() and not p.name.startswith("."))

    def _parent(self, dest: Path) -> None:
        parent = dest.parent
        while not parent.exists() and parent != self.root:
            self._unsynced.add(parent.parent)
            parent = parent.parent
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._unsynced.add(dest.parent)

    def put(self, name: str, data: bytes) -> None:
        dest = self.path(name)
        self._parent(dest)
        write_synced(dest, data)

    def put_file(self, name: str, path: Path) -> None:
        dest = self.path(name)
        self._parent(dest)
        try:
            os.chmod(path, 0o644)
            os.replace(path, dest)
        except OSError as exc:
            if exc.errno != 18:  # EXDEV: the staging area is on another file system; copy our own copy
                raise
            with open(path, "rb") as fh:
                write_synced(dest, iter(lambda: fh.read(CHUNK), b""))
            path.unlink(missing_ok=True)

    def flush(self) -> None:
        for d in sorted(self._unsynced, key=lambda p: len(p.parts), reverse=True):
            if d.is_dir():
                fsync_dir(d)
        self._unsynced.clear()

    def put_visible(self, name: str, data: bytes) -> None:
        self.flush()
        dest = self.path(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_synced(dest, data)
        fsync_dir(dest.parent)


def write_synced(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Temporary file, fsync, rename (the caller syncs the directory); ``data`` is the
    bytes, or chunks of them streamed in."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "xb") as fh:
            for chunk in (data,) if isinstance(data, bytes) else data:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Ingested:
    """A private copy of a payload: where it is, its SHA-256 and its length, from one read."""

    path: Path
    sha256: str
    length: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def ingest(source: Path, workdir: Path, *, max_bytes: int | None = None) -> Ingested:
    """Copy ``source`` into a new private file in ``workdir`` (0600), hashing it on the way."""
    workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = workdir / f"incoming-{secrets.token_hex(8)}.tmp"
    h = hashlib.sha256()
    n = 0
    try:
        src = open(source, "rb")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read payload {source}: {exc.strerror}") from None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with src, os.fdopen(fd, "wb") as out:
            while chunk := src.read(CHUNK):
                n += len(chunk)
                if max_bytes is not None and n > max_bytes:
                    raise UsageError(f"payload {source} is over {max_bytes} bytes")
                h.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return Ingested(tmp, h.hexdigest(), n)
