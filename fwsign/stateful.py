"""Stateful HSS-LMS signing keys: the key file, its one-time-key state, and a safe signer.

A hash-based one-time key used twice can let anyone forge signatures, so the one rule
here is: **no one-time index is ever handed out twice**, whatever crashes, runs in
parallel or is killed. The state is the next unused index, kept in the key file itself:

1. A signer *reserves* a block of indices before it signs with any of them: under an
   exclusive ``flock(2)`` on ``KEY.lock`` it reads the key file, writes a new one whose
   next index is past the block (temporary file, ``fsync``, rename, ``fsync`` of the
   directory) and only then releases the lock. When :meth:`HssKeyFile.reserve` returns,
   the advanced state is on disk.
2. Only then does it sign, each index of its block once, in memory. A signer that crashes
   or is killed loses the rest of its block (those indices are skipped, never reused);
   two signers on one key get disjoint blocks.
3. A key whose indices are all reserved refuses with :class:`KeyExhausted` (reason
   ``key-exhausted``); from 90 % on, every reservation warns.

What the state cannot see: a *copy* of the key file (a backup restored, a file copied to a
second machine) carries the same next index, and signing from both copies reuses indices.
The audit log records the index of every HSS-LMS signature (``hss-index``) and
``fwsign audit verify`` refuses a log in which one key's index appears twice; docs/keys.md
says how to keep a key from being copied at all. SP 800-208 recommends generating and
using such keys inside a hardware module that never exports them.

Key file (mode 0600): a PEM block ``FWSIGN HSS-LMS PRIVATE KEY`` around a CBOR map
``{1: 1 (version), 2: [[lms-type, lmots-type], ...] (top level first), 3: I (16 bytes),
4: SEED (32 bytes), 5: HSS public key, 6: next unused index}``. The Merkle trees are
recomputed from SEED and I (and cached beside the key in ``KEY.trees``, which holds only
public hash values); every signature is verified before it is released, so a damaged
cache can never produce a bad signature.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from . import cbor
from .errors import FwsignError, KeyExhausted, KeyLoadError, KeyStateError, UsageError
from .pq import hsslms as H

log = logging.getLogger("fwsign.stateful")

PEM_LABEL: Final = "FWSIGN HSS-LMS PRIVATE KEY"
FORMAT_VERSION: Final = 1
#: Share of a key's one-time signatures after which every reservation warns.
WARN_FRACTION: Final = 0.9
#: Seconds a signer waits for another to finish its reservation.
LOCK_TIMEOUT: Final = 60.0
#: Largest total tree height offered for new keys (2^35 signatures); verification takes any RFC 8554 set.
MAX_TOTAL_HEIGHT: Final = 35
#: Tallest single tree a signer builds (2^21 nodes of 32 bytes, 64 MiB, for H20); H25 only verifies.
MAX_SIGNING_HEIGHT: Final = 20


# -- parameters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HssParams:
    """The levels of an HSS key, top level first: one (LMS type, LM-OTS type) per level."""

    levels: tuple[tuple[H.LmsType, H.LmotsType], ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.levels) <= H.MAX_LEVELS:
            raise UsageError(f"an HSS key has 1 to {H.MAX_LEVELS} levels")

    @staticmethod
    def of(height: int | Sequence[int], w: int = 4, levels: int = 1) -> HssParams:
        """``levels`` levels of LMS_SHA256_M32_H``height`` with LMOTS_SHA256_N32_W``w``.

        ``height`` may also list one height per level (top first).
        """
        heights = [height] * levels if isinstance(height, int) else list(height)
        if isinstance(height, int) and not 1 <= levels <= H.MAX_LEVELS:
            raise UsageError(f"--levels must be 1 to {H.MAX_LEVELS}")
        bad = [h for h in heights if h not in H.LMS_BY_H]
        if bad:
            raise UsageError(f"LMS tree height {bad[0]} is not defined; choose from {', '.join(map(str, sorted(H.LMS_BY_H)))}")
        if max(heights) > MAX_SIGNING_HEIGHT:
            raise UsageError(f"a signer holds each tree in memory (2^(H+1) x 32 bytes): heights up to {MAX_SIGNING_HEIGHT}; "
                             "for more signatures use more levels (--levels)")
        if w not in H.LMOTS_BY_W:
            raise UsageError(f"LM-OTS Winternitz parameter {w} is not defined; choose 1, 2, 4 or 8")
        if sum(heights) > MAX_TOTAL_HEIGHT:
            raise UsageError(f"total tree height {sum(heights)} is above {MAX_TOTAL_HEIGHT}")
        return HssParams(tuple((H.LMS_BY_H[h], H.LMOTS_BY_W[w]) for h in heights))

    @property
    def capacity(self) -> int:
        """How many messages the key can ever sign."""
        return 1 << sum(lms.h for lms, _ in self.levels)

    @property
    def signature_bytes(self) -> int:
        return H.hss_signature_bytes(self.levels)

    def describe(self) -> str:
        parts = [f"{lms.name}/{ots.name}" for lms, ots in self.levels]
        return f"HSS L={len(self.levels)} ({', '.join(parts)})"


# -- the key file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HssKeyState:
    """A key file's contents: the secret (never in reprs), the public key, the next free index."""

    params: HssParams
    i_id: bytes = field(repr=False)
    seed: bytes = field(repr=False)
    public_key: bytes
    next_index: int

    @property
    def remaining(self) -> int:
        return max(0, self.params.capacity - self.next_index)


def _encode(state: HssKeyState) -> bytes:
    body = cbor.dumps({
        1: FORMAT_VERSION,
        2: [[lms.code, ots.code] for lms, ots in state.params.levels],
        3: state.i_id,
        4: state.seed,
        5: state.public_key,
        6: state.next_index,
    })
    b64 = base64.encodebytes(body).decode()
    return f"-----BEGIN {PEM_LABEL}-----\n{b64}-----END {PEM_LABEL}-----\n".encode()


def is_hss_key_file(data: bytes) -> bool:
    return f"-----BEGIN {PEM_LABEL}-----".encode() in data


def decode_key(data: bytes, source: str = "key") -> HssKeyState:
    """Parse an HSS-LMS private key file strictly; errors never echo key material."""
    from .keys import pem_secret

    body = pem_secret(data, PEM_LABEL, "HSS-LMS private key")
    if body is None:
        raise KeyLoadError(f"{source} is not an HSS-LMS private key")
    try:
        doc = cbor.loads(body)
    except FwsignError:
        raise KeyStateError(f"{source}: the HSS-LMS key state is damaged (not strict CBOR)") from None
    if not isinstance(doc, cbor.FrozenMap) or set(doc.keys()) != {1, 2, 3, 4, 5, 6}:
        raise KeyStateError(f"{source}: the HSS-LMS key state is damaged (members missing or unknown)")
    if doc[1] != FORMAT_VERSION:
        raise KeyStateError(f"{source}: HSS-LMS key format version {doc[1]!r} is not supported")
    raw_levels = doc[2]
    if not isinstance(raw_levels, tuple) or not 1 <= len(raw_levels) <= H.MAX_LEVELS:
        raise KeyStateError(f"{source}: the HSS-LMS key state is damaged (levels)")
    levels = []
    for lv in raw_levels:
        lms = H.LMS_TYPES.get(lv[0]) if isinstance(lv, tuple) and len(lv) == 2 and isinstance(lv[0], int) else None
        ots = H.LMOTS_TYPES.get(lv[1]) if isinstance(lv, tuple) and len(lv) == 2 and isinstance(lv[1], int) else None
        if lms is None or ots is None:
            raise KeyStateError(f"{source}: the HSS-LMS key state names an unknown parameter set")
        levels.append((lms, ots))
    params = HssParams(tuple(levels))
    i_id, seed, pub, nxt = doc[3], doc[4], doc[5], doc[6]
    if not (isinstance(i_id, bytes) and len(i_id) == 16 and isinstance(seed, bytes) and len(seed) == 32):
        raise KeyStateError(f"{source}: the HSS-LMS key state is damaged (secret)")
    if not isinstance(pub, bytes):
        raise KeyStateError(f"{source}: the HSS-LMS key state is damaged (public key)")
    top = H.parse_hss_public(pub)
    if top is None or top[0] != len(levels) or (top[1], top[2]) != levels[0] or pub[12:28] != i_id:
        raise KeyStateError(f"{source}: the HSS-LMS key state is damaged (public key)")
    if not isinstance(nxt, int) or isinstance(nxt, bool) or not 0 <= nxt <= params.capacity:
        raise KeyStateError(f"{source}: the HSS-LMS key state is damaged (next index)")
    return HssKeyState(params, i_id, seed, pub, nxt)


def generate(params: HssParams) -> tuple[HssKeyState, H.LmsTree]:
    """A new key and its top tree: random I and SEED; building the tree is the costly part."""
    i_id, seed = secrets.token_bytes(16), secrets.token_bytes(32)
    lms, ots = params.levels[0]
    tree = H.LmsTree(lms, ots, i_id, seed)
    return HssKeyState(params, i_id, seed, H.hss_public_key(len(params.levels), tree.public_key), 0), tree


def keygen_files(base: str | Path, params: HssParams, *, force: bool = False) -> tuple[HssKeyState, list[Path]]:
    """``fwsign keygen --alg hss-lms``: BASE.hss (private key and state, 0600) and BASE.cose (public COSE_Key).

    The top tree goes into the tree cache (BASE.hss.trees), so the first signature does
    not build it again.
    """
    from .keys import HssLmsPublicKey, encode_cose_key, write_atomic

    files = [Path(f"{base}.hss"), Path(f"{base}.cose")]
    existing = [str(f) for f in files if f.exists()]
    if existing and not force:
        raise UsageError(f"refusing to overwrite {', '.join(existing)} (use --force): "
                         "replacing a stateful key's file loses its state")
    state, tree = generate(params)
    write_new_key(files[0], state, force=True)
    _write_durably(_cache_path(files[0]), cbor.dumps({1: state.public_key, 2: [[0, 0, tree.nodes]]}))
    write_atomic(files[1], encode_cose_key(HssLmsPublicKey(state.public_key)))
    return state, files


def _cache_path(key: Path) -> Path:
    return key.with_name(key.name + ".trees")


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    """Temporary file, fsync, rename, fsync of the directory: the new state is on disk on return."""
    directory = path.parent if str(path.parent) else Path(".")
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)


def write_new_key(path: Path, state: HssKeyState, *, force: bool = False) -> None:
    """Create the key file (0600); refuses to replace an existing one unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise UsageError(f"refusing to overwrite {path} (use --force): replacing a stateful key's file loses its state")
    _write_durably(path, _encode(state))


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise KeyStateError(f"cannot open the lock file {lock_path}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise KeyStateError(f"another signer holds {lock_path} for more than {timeout:g} s") from None
                time.sleep(0.005)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Reservation:
    """One-time indices [first, first + count) of a key, durably taken from its state."""

    first: int
    count: int
    capacity: int

    @property
    def end(self) -> int:
        return self.first + self.count

    @property
    def used_fraction(self) -> float:
        return self.end / self.capacity

    def warning(self) -> str | None:
        """The 90 % warning text, or None below it."""
        if self.used_fraction < WARN_FRACTION:
            return None
        left = self.capacity - self.end
        return (f"HSS-LMS key has used {100 * self.used_fraction:.1f} % of its {self.capacity} one-time signatures "
                f"({left} left): generate its successor and provision it before this key runs out")


class HssKeyFile:
    """An HSS-LMS key file and the only way to take one-time indices from it."""

    def __init__(self, path: Path | str, *, lock_timeout: float = LOCK_TIMEOUT,
                 after_reserve: Callable[[Reservation], None] | None = None) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        #: Called once a reservation is durable, before any index of it is used (crash tests hook in here).
        self.after_reserve = after_reserve

    def read(self) -> HssKeyState:
        from .keys import read_key_file

        return decode_key(read_key_file(self.path, "HSS-LMS private key"), str(self.path))

    def reserve(self, count: int = 1) -> Reservation:
        """Take ``count`` indices (fewer if fewer are left) and make that durable before returning."""
        if count < 1:
            raise UsageError("reserve at least one signature")
        with _locked(self.path, self.lock_timeout):
            state = self.read()
            if state.remaining == 0:
                raise KeyExhausted(f"{self.path}: all {state.params.capacity} one-time signatures of this HSS-LMS key "
                                   "are used; sign with its successor key")
            take = min(count, state.remaining)
            new = HssKeyState(state.params, state.i_id, state.seed, state.public_key, state.next_index + take)
            try:
                _write_durably(self.path, _encode(new))
            except OSError as exc:
                raise KeyStateError(f"cannot write the advanced state of {self.path}: {exc.strerror}; nothing was signed") from None
        res = Reservation(state.next_index, take, state.params.capacity)
        if self.after_reserve is not None:
            self.after_reserve(res)
        return res


# -- signing --------------------------------------------------------------------------------


class _Trees:
    """The LMS trees on the path to the current leaf, rebuilt or read from the cache as needed."""

    def __init__(self, state: HssKeyState, cache: Path | None) -> None:
        self.state = state
        self.cache = cache
        self.trees: list[tuple[int, H.LmsTree] | None] = [None] * len(state.params.levels)
        self._cached: dict[tuple[int, int], bytes] = self._load_cache()

    def _load_cache(self) -> dict[tuple[int, int], bytes]:
        if self.cache is None or not self.cache.is_file():
            return {}
        biggest = max(lms.h for lms, _ in self.state.params.levels)
        try:
            # the nodes of the tallest tree: 2^(H+1) x 32 bytes (2 MiB for H15)
            doc = cbor.loads(self.cache.read_bytes(), string_limit=(2 << biggest) * 32)
        except (OSError, FwsignError):
            return {}
        if not isinstance(doc, cbor.FrozenMap) or doc.get(1) != self.state.public_key:
            return {}
        out: dict[tuple[int, int], bytes] = {}
        items = doc.get(2)
        for item in items if isinstance(items, tuple) else ():
            if (isinstance(item, tuple) and len(item) == 3 and isinstance(item[0], int) and isinstance(item[1], int)
                    and isinstance(item[2], bytes)):
                out[(item[0], item[1])] = item[2]
        return out

    def _save_cache(self) -> None:
        if self.cache is None:
            return
        items = [[lv, prefix, t.nodes] for lv, entry in enumerate(self.trees) if entry is not None
                 for prefix, t in (entry,)]
        with contextlib.suppress(OSError):
            _write_durably(self.cache, cbor.dumps({1: self.state.public_key, 2: items}))

    def tree(self, level: int, prefix: int, i_id: bytes, seed: bytes) -> tuple[H.LmsTree, bool]:
        entry = self.trees[level]
        if entry is not None and entry[0] == prefix:
            return entry[1], False
        lms, ots = self.state.params.levels[level]
        nodes = self._cached.pop((level, prefix), None)
        try:
            t = H.LmsTree(lms, ots, i_id, seed, nodes)
        except ValueError:
            t = H.LmsTree(lms, ots, i_id, seed)
        self.trees[level] = (prefix, t)
        return t, nodes is None

    def sign(self, index: int, message: bytes) -> bytes:
        """The HSS signature of ``message`` with global one-time index ``index``."""
        params = self.state.params.levels
        heights = [lms.h for lms, _ in params]
        qs: list[int] = []
        rest = index
        for h in reversed(heights):
            qs.append(rest & ((1 << h) - 1))
            rest >>= h
        qs.reverse()
        i_id, seed = self.state.i_id, self.state.seed
        built = False
        parts: list[bytes] = []
        prefix = 0
        chain: list[H.LmsTree] = []
        for level in range(len(params)):
            t, new = self.tree(level, prefix, i_id, seed)
            built = built or new
            chain.append(t)
            i_id, seed = t.child(qs[level])
            prefix = (prefix << heights[level]) | qs[level]
        if chain[0].public_key != self.state.public_key[4:]:
            raise KeyStateError("the HSS-LMS key's secret does not match its public key; the key file is damaged")
        for level in range(len(params) - 1):
            child = chain[level + 1].public_key
            parts.append(chain[level].sign(qs[level], child))
            parts.append(child)
        parts.append(chain[-1].sign(qs[-1], message))
        if built:
            self._save_cache()
        return H._u32(len(params) - 1) + b"".join(parts)


class HssSigner:
    """A :class:`fwsign.keys.Signer` over an HSS-LMS key file (COSE alg -46, RFC 8778).

    Indices are reserved ``block`` at a time (:meth:`HssKeyFile.reserve`) and each is used
    once. Each signature is verified against the public key before it is returned. The
    index of the last signature is in :attr:`last_index` (the audit log records it).
    """

    alg: int = -46

    def __init__(self, path: Path | str, *, block: int = 1, kid: bool = True, cache: bool = True,
                 warn: Callable[[str], None] | None = None, lock_timeout: float = LOCK_TIMEOUT,
                 after_reserve: Callable[[Reservation], None] | None = None) -> None:
        if block < 1:
            raise UsageError("--reserve must be at least 1")
        self.file = HssKeyFile(path, lock_timeout=lock_timeout, after_reserve=after_reserve)
        state = self.file.read()
        self.public_key: bytes = state.public_key
        self.params = state.params
        self.kid: bytes | None = hss_key_id(state.public_key) if kid else None
        self.block = block
        self._warn = warn if warn is not None else log.warning
        self._pending: list[int] = []
        self._guard = threading.Lock()
        self._trees = _Trees(state, _cache_path(self.file.path) if cache else None)
        self.last_index: int | None = None
        self.kind_name = "local"

    def _next_index(self) -> int:
        if not self._pending:
            res = self.file.reserve(self.block)
            msg = res.warning()
            if msg is not None:
                self._warn(f"{self.file.path}: {msg}")
            self._pending = list(range(res.first, res.end))
        return self._pending.pop(0)

    def sign(self, data: bytes) -> bytes:
        with self._guard:
            return self._sign(data)

    def _sign(self, data: bytes) -> bytes:
        index = self._next_index()
        sig = self._trees.sign(index, data)
        if not H.hss_verify(self.public_key, data, sig):
            # A damaged tree cache (or a fault): rebuild from the secret and sign the same
            # index again, which yields the same one-time signature (deterministic C).
            self._trees = _Trees(self._trees.state, None)
            sig = self._trees.sign(index, data)
            if not H.hss_verify(self.public_key, data, sig):
                raise KeyStateError(f"{self.file.path}: the HSS-LMS signature for index {index} does not verify; "
                                    "nothing was released")
        self.last_index = index
        return sig

    def unused_reserved(self) -> int:
        """Indices reserved by this signer and not used (lost when it exits)."""
        return len(self._pending)


def hss_key_id(public_key: bytes) -> bytes:
    """fwsign's key id of an HSS-LMS public key (RFC 9679 thumbprint of its COSE_Key)."""
    from .cose import kid as _kid

    return _kid.kid_of({1: 5, -1: public_key})


def keygen_report(state: HssKeyState) -> dict[str, object]:
    """What ``fwsign keygen --alg hss-lms`` reports about a new key."""
    p = state.params
    return {"parameters": p.describe(), "capacity": p.capacity, "signature_bytes": p.signature_bytes,
            "public_key_bytes": len(state.public_key), "kid": hss_key_id(state.public_key).hex()}


__all__ = [
    "PEM_LABEL",
    "WARN_FRACTION",
    "HssKeyFile",
    "HssKeyState",
    "HssParams",
    "HssSigner",
    "KeyExhausted",
    "KeyStateError",
    "Reservation",
    "decode_key",
    "generate",
    "hss_key_id",
    "is_hss_key_file",
    "keygen_files",
    "keygen_report",
    "write_new_key",
]
