"""One writer at a time: an exclusive lock on ``DIR/.lock`` held across plan, sign and write.

Every command that changes a repository (init, add, publish, refresh, delegate, sign,
rotate, remove, revoke) holds it from the moment it reads the repository's state until
the last file is synced, so two publishers never build on the same state and neither
loses the other's release. The lock is ``flock(2)`` on a file outside the published tree:
it works across processes, is released by the kernel when a process dies (a crash never
leaves a stale lock), and is re-entrant within one process (the count is kept here, since
a second ``flock`` on a new descriptor would wait for itself).

A second writer waits up to ``timeout`` seconds (default :data:`DEFAULT_TIMEOUT`), then
fails with :class:`~fwsign.errors.RepoLocked` (exit 2) having changed nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import RepoLocked

#: Seconds a writer waits for another to finish before giving up (``--lock-timeout``).
DEFAULT_TIMEOUT = 300.0
_POLL = 0.02

_guard = threading.Lock()
_held: dict[str, tuple[int, int, threading.RLock]] = {}  # path -> (fd, depth, in-process lock)
_thread_locks: dict[str, threading.RLock] = {}


def _thread_lock(key: str) -> threading.RLock:
    with _guard:
        return _thread_locks.setdefault(key, threading.RLock())


@contextlib.contextmanager
def locked(path: Path, timeout: float = DEFAULT_TIMEOUT) -> Iterator[None]:
    """Hold the exclusive lock on ``path`` (created 0600 if missing) for the ``with`` block."""
    key = os.path.abspath(path)
    deadline = time.monotonic() + max(0.0, timeout)
    tlock = _thread_lock(key)
    if not tlock.acquire(timeout=max(0.0, timeout)):
        raise RepoLocked(_busy(path, timeout))
    try:
        with _guard:
            entry = _held.get(key)
            if entry is not None:
                _held[key] = (entry[0], entry[1] + 1, entry[2])
        if entry is not None:
            try:
                yield
            finally:
                with _guard:
                    fd, depth, lk = _held[key]
                    _held[key] = (fd, depth - 1, lk)
            return
        fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise RepoLocked(_busy(path, timeout)) from None
                    time.sleep(_POLL)
            with _guard:
                _held[key] = (fd, 1, tlock)
            try:
                yield
            finally:
                with _guard:
                    del _held[key]
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        tlock.release()


def held(path: Path) -> bool:
    """Whether this process holds the lock on ``path``."""
    with _guard:
        return os.path.abspath(path) in _held


def _busy(path: Path, timeout: float) -> str:
    return (f"another fwsign command is changing the repository ({path} is locked); waited {timeout:g} s. "
            "Try again when it has finished, or give --lock-timeout SECONDS")
