"""The update client: a TUF walk with python-tuf's ngclient, then the SUIT check.

:func:`fetch_update` is the library entry point (used by ``fwsign update`` and by the
simulated device). It

1. starts a ``tuf.ngclient.Updater`` from the embedded bootstrap root, with a metadata
   cache that persists between runs when ``cache_dir`` is given (as a device keeps it);
2. refreshes root -> timestamp -> snapshot -> targets (signatures and thresholds,
   versions, expiry, lengths and hashes: rollback, freeze, mix-and-match, endless-data
   and key-compromise-below-threshold attacks fail here);
3. asks for the one target ``<class-id>/latest.suit`` (delegations and hash bins are
   walked by ngclient; nothing is listed) and reads its signed custom metadata: the
   newest sequence number and the class's revocation floor;
4. if that release is newer than the running one, downloads the envelope and its payload
   with TUF length and hash checks (arbitrary-software and malicious-mirror attacks fail
   here) into a private temporary directory;
5. verifies the envelope and the payload with :func:`fwsign.verify.verify_envelope`
   under the device's SUIT keys, vendor and class ids, and anti-rollback
   ``min_sequence = max(current + 1, floor)`` (a correctly TUF-signed but older envelope
   fails here);
6. only then writes ``firmware-<seq>.bin`` and ``firmware-<seq>.suit`` into ``out_dir``
   (temporary file + rename each; the envelope last, so its presence marks a complete
   download). A rejected update writes nothing there.

Every download, metadata and payload alike, goes through :class:`DeadlineFetcher`, which
bounds TUF's slow-retrieval attack (a mirror that trickles bytes to hold the client
forever): a minimum speed over a sliding window, a deadline per file and a deadline for
the whole update (:class:`TransferLimits`). Past any of them the client gives up with
:class:`~fwsign.errors.SlowRetrieval` naming the file; downloads land in unlinked
temporary files, so a refused or killed download leaves nothing behind.

Errors are :class:`fwsign.errors.FwsignError` subclasses: :class:`~fwsign.errors.TufRejected`
(exit 1, reasons ``tuf-signature``, ``tuf-expired``, ``tuf-rollback``,
``tuf-hash-mismatch``, ``tuf-too-large``, ``tuf-rejected``), the SUIT verifier's own
(exit 1: ``rollback``, ``image-mismatch``, ...), :class:`~fwsign.errors.NetworkError`
(exit 2) and :class:`~fwsign.errors.UsageError` (exit 2).
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import http.client
import io
import os
import shutil
import socket
import ssl
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tuf.ngclient.fetcher import FetcherInterface

from .errors import FwsignError, LimitError, NetworkError, RolloutInvalid, SlowRetrieval, TufRejected, UsageError
from .limits import DEFAULT_LIMITS
from .verify import Policy, Report, TrustedKey, read_chunks, verify_envelope

#: Largest payload the client downloads unless told otherwise (TUF also checks the signed length).
DEFAULT_MAX_PAYLOAD = 256 * 1024 * 1024

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TransferLimits:
    """Bounds on every download of one update (the defaults are documented in docs/repo.md).

    ``min_speed``: bytes per second that every ``speed_window`` seconds of a download must
    average once the first window has passed (0: no speed check);
    ``file_deadline``: seconds one file may take, from connecting to its last byte;
    ``update_deadline``: seconds the whole update (every metadata file and target) may take;
    ``connect_timeout``: seconds to open a connection.
    """

    min_speed: int = 1024
    speed_window: float = 30.0
    file_deadline: float = 1800.0
    update_deadline: float = 3600.0
    connect_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.min_speed < 0 or self.speed_window <= 0 or self.file_deadline <= 0 or self.update_deadline <= 0 \
                or self.connect_timeout <= 0:
            raise UsageError("transfer limits must be positive (the minimum speed may be 0 to turn it off)")


DEFAULT_TRANSFER = TransferLimits()
_MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


def _file_name(url: str) -> str:
    """The part of a URL an error names: the path below the repository (``metadata/timestamp.json``)."""
    path = urllib.parse.urlsplit(url).path
    parts = [p for p in path.split("/") if p]
    for anchor in ("metadata", "targets"):
        if anchor in parts:
            return "/".join(parts[len(parts) - 1 - parts[::-1].index(anchor):])
    return parts[-1] if parts else url


class _Clocked(io.RawIOBase):
    """A socket reader that enforces the deadline and the minimum speed on every receive.

    http.client reads the status line, the headers and the body through this, so a
    server trickling any of them is cut off; the socket timeout of each receive is the
    time left, at most one speed window (a window with no byte at all is too slow).
    """

    def __init__(self, sock: socket.socket, watch: _Watch) -> None:
        self._sock = sock
        self._watch = watch

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._sock.close()  # the reader owns the socket once http.client has one (as socket.makefile does)
        super().close()

    def readinto(self, b: Any) -> int:
        while True:
            self._sock.settimeout(self._watch.wait_for())
            try:
                n = self._sock.recv_into(b)
            except TimeoutError:
                self._watch.check(stalled=True)
                continue
            self._watch.received(n)
            return n


class _SockProxy:
    """What http.client needs of a socket, with reads going through :class:`_Clocked`."""

    def __init__(self, sock: socket.socket, watch: _Watch) -> None:
        self._sock = sock
        self._watch = watch
        self._readers = 0

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_Clocked(self._sock, self._watch), _CHUNK)

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._watch.wait_for())
        self._sock.sendall(data)

    def close(self) -> None:
        if not self._readers:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Watch:
    """Deadlines and the sliding speed window of one file."""

    def __init__(self, name: str, limits: TransferLimits, update_end: float, clock: Callable[[], float]) -> None:
        self.name = name
        self.limits = limits
        self.clock = clock
        self.start = clock()
        self.file_end = self.start + limits.file_deadline
        self.update_end = update_end
        self.total = 0
        self.window: collections.deque[tuple[float, int]] = collections.deque([(self.start, 0)])

    def wait_for(self) -> float:
        """Socket timeout for the next receive: the time left, at most one speed window."""
        self.check()
        left = min(self.file_end, self.update_end) - self.clock()
        return max(0.001, min(left, self.limits.speed_window))

    def received(self, n: int) -> None:
        self.total += n
        self.window.append((self.clock(), self.total))
        self.check()

    def check(self, *, stalled: bool = False) -> None:
        now = self.clock()
        lim = self.limits
        if now >= self.update_end:
            raise SlowRetrieval(f"{self.name}: the update took longer than its deadline of {lim.update_deadline:g} s "
                                f"({self.total} bytes of this file received); nothing was installed")
        if now >= self.file_end:
            raise SlowRetrieval(f"{self.name}: not complete within its deadline of {lim.file_deadline:g} s "
                                f"({self.total} bytes received); nothing was installed")
        if lim.min_speed <= 0 or now - self.start < lim.speed_window:
            return
        edge = now - lim.speed_window
        while len(self.window) > 1 and self.window[1][0] <= edge:
            self.window.popleft()
        got = self.total - self.window[0][1]
        if stalled or got < lim.min_speed * lim.speed_window:
            raise SlowRetrieval(f"{self.name}: slower than the minimum of {lim.min_speed} bytes/s "
                                f"({got} bytes in the last {lim.speed_window:g} s; {self.total} received); "
                                "nothing was installed")


class DeadlineFetcher(FetcherInterface):
    """An ngclient fetcher (HTTP/HTTPS, proxies from the environment) bounded by :class:`TransferLimits`.

    The update deadline runs from construction or from :meth:`begin_update`.
    """

    def __init__(self, limits: TransferLimits = DEFAULT_TRANSFER, *, clock: Callable[[], float] = time.monotonic,
                 user_agent: str = "fwsign") -> None:
        self.limits = limits
        self.clock = clock
        self.user_agent = user_agent
        self.update_end = clock() + limits.update_deadline
        self._ssl: ssl.SSLContext | None = None

    def begin_update(self) -> None:
        self.update_end = self.clock() + self.limits.update_deadline

    def _connect(self, url: urllib.parse.SplitResult, watch: _Watch) -> tuple[http.client.HTTPConnection, str]:
        if url.scheme not in ("http", "https") or not url.hostname:
            raise NetworkError(f"{watch.name}: only http and https URLs are fetched, not {url.scheme or 'relative'}:")
        port = url.port or (443 if url.scheme == "https" else 80)
        target = urllib.parse.urlunsplit(("", "", url.path or "/", url.query, ""))
        proxy = None if urllib.request.proxy_bypass(url.hostname) else urllib.request.getproxies().get(url.scheme)
        timeout = max(0.001, min(self.limits.connect_timeout, min(watch.file_end, watch.update_end) - self.clock()))
        conn: http.client.HTTPConnection
        if proxy:
            p = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
            if url.scheme == "https":
                conn = http.client.HTTPSConnection(p.hostname or "", p.port or 8080, timeout=timeout,
                                                   context=self._context())
                conn.set_tunnel(url.hostname, port)
            else:
                conn = http.client.HTTPConnection(p.hostname or "", p.port or 8080, timeout=timeout)
                target = urllib.parse.urlunsplit(url._replace(fragment=""))
        elif url.scheme == "https":
            conn = http.client.HTTPSConnection(url.hostname, port, timeout=timeout, context=self._context())
        else:
            conn = http.client.HTTPConnection(url.hostname, port, timeout=timeout)
        conn.connect()
        assert conn.sock is not None
        conn.sock = _SockProxy(conn.sock, watch)  # type: ignore[assignment]
        return conn, target

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    def _fetch(self, url: str) -> Iterator[bytes]:
        from tuf.api import exceptions as tuf_exc

        watch = _Watch(_file_name(url), self.limits, self.update_end, self.clock)
        for _ in range(_MAX_REDIRECTS + 1):
            parts = urllib.parse.urlsplit(url)
            try:
                conn, target = self._connect(parts, watch)
                conn.putrequest("GET", target, skip_accept_encoding=True)
                conn.putheader("User-Agent", self.user_agent)
                conn.putheader("Accept-Encoding", "identity")
                conn.endheaders()
                resp = conn.getresponse()
            except SlowRetrieval:
                raise
            except (OSError, http.client.HTTPException) as exc:
                raise NetworkError(f"{watch.name}: cannot fetch from the repository: {exc}") from None
            if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
                url = urllib.parse.urljoin(url, resp.getheader("Location", ""))
                resp.close()
                conn.close()
                continue
            if resp.status != 200:
                resp.close()
                conn.close()
                raise tuf_exc.DownloadHTTPError(f"HTTP error occurred with status {resp.status}", resp.status)
            return self._chunks(conn, resp, watch)
        raise NetworkError(f"{watch.name}: more than {_MAX_REDIRECTS} redirects")

    @staticmethod
    def _chunks(conn: http.client.HTTPConnection, resp: http.client.HTTPResponse, watch: _Watch) -> Iterator[bytes]:
        """The body as it arrives (``read1``: whatever one receive brings, so every receive is checked)."""
        try:
            while True:
                try:
                    chunk = resp.read1(_CHUNK)
                except SlowRetrieval:
                    raise
                except (OSError, http.client.HTTPException) as exc:
                    raise NetworkError(f"{watch.name}: the download broke off: {exc}") from None
                if not chunk:
                    return
                yield chunk
        finally:
            resp.close()
            conn.close()


@dataclass(frozen=True)
class UpdateResult:
    """What :func:`fetch_update` did.

    ``updated`` is False when the device is already up to date (the CLI's exit 3);
    then ``sequence`` is the newest sequence the repository offers (None if it has no
    release for the class) and no file was written.
    """

    updated: bool
    current_sequence: int
    sequence: int | None
    #: Revocation floor published for the class (0 when none).
    min_sequence: int = 0
    envelope_path: Path | None = None
    payload_path: Path | None = None
    #: The verified envelope bytes (empty when not updated).
    envelope: bytes = field(default=b"", repr=False)
    target: str | None = None
    report: Report | None = None
    downloaded_bytes: int = 0
    message: str = ""
    #: True when a newer release exists but the class's signed rollout holds this device back.
    held: bool = False
    #: The class's rollout as the device saw it (:meth:`fwsign.repo.rollout.Rollout.status`), if one applies.
    rollout: dict[str, Any] | None = None
    #: Delta releases (docs/delta.md): "patch" when the payload is a patch from the running
    #: image (payload_path is then the patch), "full" otherwise; why a patch was not used.
    delivery: str = "full"
    fallback: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "updated" if self.updated else "held" if self.held else "up-to-date",
            "rollout": self.rollout,
            "current_sequence": self.current_sequence,
            "sequence": self.sequence,
            "min_sequence": self.min_sequence,
            "envelope": str(self.envelope_path) if self.envelope_path else None,
            "payload": str(self.payload_path) if self.payload_path else None,
            "target": self.target,
            "downloaded_bytes": self.downloaded_bytes,
            "message": self.message,
            "verification": self.report.as_dict() if self.report is not None else None,
            "delivery": self.delivery,
            "fallback": self.fallback,
        }


class CountingFetcher(FetcherInterface):
    """Wraps a fetcher: counts bytes per URL and reports progress of the current download."""

    def __init__(self, inner: Any | None = None, limits: TransferLimits = DEFAULT_TRANSFER) -> None:
        if inner is None:
            inner = DeadlineFetcher(limits)
        self.inner = inner
        self.bytes_by_url: dict[str, int] = {}
        self.progress: Progress | None = None
        self.expected = 0

    @property
    def total(self) -> int:
        return sum(self.bytes_by_url.values())

    def begin_update(self) -> None:
        begin = getattr(self.inner, "begin_update", None)
        if begin is not None:
            begin()

    def _fetch(self, url: str) -> Iterator[bytes]:
        chunks = self.inner.fetch(url)
        return self._count(url, chunks)

    def _count(self, url: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        got = 0
        for chunk in chunks:
            got += len(chunk)
            self.bytes_by_url[url] = got
            if self.progress is not None:
                self.progress(got, self.expected)
            yield chunk


def _tuf_error(exc: BaseException) -> FwsignError:
    from tuf.api import exceptions as e

    text = f"{exc}" or type(exc).__name__
    if isinstance(exc, FwsignError):
        return exc
    if isinstance(exc.__cause__, FwsignError):  # ngclient wraps what a fetcher raises before the first byte
        return exc.__cause__
    if isinstance(exc, e.SlowRetrievalError):
        return SlowRetrieval(f"the repository is too slow: {text}")
    if isinstance(exc, e.UnsignedMetadataError):
        return TufRejected(f"metadata signature check failed: {text}", reason="tuf-signature")
    if isinstance(exc, e.ExpiredMetadataError):
        return TufRejected(f"{text} (the repository may be frozen or stale)", reason="tuf-expired")
    if isinstance(exc, e.BadVersionNumberError):
        return TufRejected(f"{text} (metadata older than trusted: rollback or mixed snapshots)", reason="tuf-rollback")
    if isinstance(exc, e.LengthOrHashMismatchError):
        return TufRejected(f"{text} (file differs from its signed metadata)", reason="tuf-hash-mismatch")
    if isinstance(exc, e.DownloadLengthMismatchError):
        return TufRejected(f"{text} (endless data)", reason="tuf-too-large")
    if isinstance(exc, e.RepositoryError):
        return TufRejected(text)
    if isinstance(exc, e.DownloadHTTPError):
        return NetworkError(f"HTTP {exc.status_code}: {text}")
    if isinstance(exc, e.DownloadError):
        cause = exc.__cause__ or exc.__context__
        return NetworkError(f"cannot fetch from the repository: {cause or text}")
    return TufRejected(f"{type(exc).__name__}: {text}")


def _rollout_for(updater: Any, class_id: bytes, work: Path) -> Any:
    """The class's signed rollout (:class:`fwsign.repo.rollout.Rollout`), or None when it has none.

    Found through the TUF delegations like any target (only the ``rollout`` role is trusted
    for ``rollouts/*``), downloaded with TUF's length and hash checks, then parsed strictly.
    """
    from .repo import rollout as R

    # Only a top-level targets role that delegates the rollout role by name can hold a
    # rollout; asking ngclient for the path otherwise would fetch a hash bin for nothing.
    # (Top-level targets is trusted and loaded: the latest pointer was looked up first.)
    delegations = updater._trusted_set.targets.delegations
    roles = delegations.roles if delegations is not None else None
    if not roles or R.ROLE not in roles:
        return None
    info = updater.get_targetinfo(R.rollout_path(class_id))
    if info is None:
        return None
    if info.length > R.MAX_FILE_BYTES:
        raise RolloutInvalid(f"{info.path} is {info.length} bytes, over the {R.MAX_FILE_BYTES}-byte limit")
    data = Path(updater.download_target(info, str(work / "rollout.json"))).read_bytes()
    r = R.parse(data)
    if r.class_id != str(uuid.UUID(bytes=class_id)):
        raise RolloutInvalid(f"{info.path} names class {r.class_id}")
    return r


def _payload_info(meta: dict[str, Any], path: str) -> Any:
    """The payload's TUF target info as the latest pointer's signed entry carries it, or None.

    The latest pointer and the payload's own entry are signed by the same role (a class's
    paths are delegated together), so the length and hash in the pointer are as trusted as
    the payload's entry, and the client needs no second bin.
    """
    from tuf.api.metadata import TargetFile  # type: ignore[attr-defined]

    length, sha = meta.get("payload-length"), meta.get("payload-sha256")
    if not isinstance(length, int) or isinstance(length, bool) or length < 0 or not isinstance(sha, str):
        return None
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise TufRejected(f"the latest pointer's payload-sha256 {sha[:80]!r} is not a SHA-256 hex digest")
    return TargetFile(length, {"sha256": sha}, path)


def _install(src: Path, dest: Path) -> None:
    tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        with open(src, "rb") as fi, open(tmp, "xb") as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)
            fo.flush()
            os.fsync(fo.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def fetch_update(
    repo_url: str,
    trusted_root: bytes,
    vendor_id: bytes,
    class_id: bytes,
    current_sequence: int,
    suit_keys: Sequence[TrustedKey],
    out_dir: Path,
    *,
    cache_dir: Path | None = None,
    suit_threshold: int = 1,
    now: dt.datetime | None = None,
    fetcher: Any | None = None,
    progress: Progress | None = None,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
    suit_policy: Policy | None = None,
    limits: TransferLimits = DEFAULT_TRANSFER,
    device_id: bytes | None = None,
    running_image: bytes | None = None,
) -> UpdateResult:
    """Fetch, check and store the newest release for one device class (see the module docstring).

    Args:
        repo_url: base URL of the repository (serving ``metadata/`` and ``targets/``).
        trusted_root: the bootstrap root.json bytes embedded in the device.
        vendor_id, class_id: the device's 16-byte SUIT identities.
        current_sequence: sequence number of the installed firmware.
        suit_keys: keys the SUIT envelope must be signed with (``suit_threshold`` of them).
        out_dir: where ``firmware-<seq>.suit`` and ``firmware-<seq>.bin`` are written.
        cache_dir: persistent TUF metadata cache (a fresh temporary one if None).
        now: reference time for expiry checks (tests; default the system clock).
        fetcher: a ``tuf.ngclient.FetcherInterface`` (default :class:`DeadlineFetcher` with ``limits``).
        progress: called with (bytes so far, expected bytes) while the payload downloads.
        suit_policy: the release policy's rule for this class (keys, threshold, algorithms);
            replaces ``suit_keys``/``suit_threshold`` when given.
        limits: minimum speed and deadlines of the downloads (:class:`TransferLimits`); a
            download past them raises :class:`~fwsign.errors.SlowRetrieval` naming the file.
        device_id: the device's identity, which places it in a rollout's cohorts; without
            it a device installs a release under a rollout only at its 100% stage.
        running_image: the image the device runs. When the release offers a patch from an
            image with its SHA-256 (docs/delta.md), the patch is fetched, checked and applied
            here first; the full image is fetched when none matches or the patch fails.

    Returns an :class:`UpdateResult`; raises :class:`fwsign.errors.FwsignError` on rejection.
    """
    from tuf.api import exceptions as tuf_exc

    if len(vendor_id) != 16 or len(class_id) != 16:
        raise UsageError("vendor and class ids must be 16-byte UUIDs")
    if current_sequence < 0:
        raise UsageError("current sequence must be non-negative")
    if not suit_keys and suit_policy is None:
        raise UsageError("give at least one SUIT key to verify the envelope with")
    base = repo_url if repo_url.endswith("/") else repo_url + "/"
    counting = fetcher if isinstance(fetcher, CountingFetcher) else CountingFetcher(fetcher, limits)
    counting.begin_update()
    with tempfile.TemporaryDirectory(prefix="fwsign-update-") as scratch:
        work = Path(scratch)
        meta_dir = cache_dir / "metadata" if cache_dir is not None else work / "metadata"
        meta_dir.mkdir(parents=True, exist_ok=True)
        try:
            from tuf.ngclient import Updater  # type: ignore[attr-defined]

            try:
                updater = Updater(str(meta_dir), base + "metadata/", str(work / "dl"), base + "targets/", counting,
                                  bootstrap=trusted_root)
            except (ValueError, tuf_exc.RepositoryError) as exc:
                raise UsageError(f"the trusted root is not valid TUF root metadata: {exc}") from None
            if now is not None:
                # ngclient reads the clock once per Updater; tests and devices with a trusted time source set it.
                updater._trusted_set.reference_time = now
            updater.refresh()
            from .repo.layout import latest_path, payload_path
            from .repo.releases import fwsign_custom

            latest_name = latest_path(class_id)
            info = updater.get_targetinfo(latest_name)
            if info is None:
                return UpdateResult(False, current_sequence, None, downloaded_bytes=counting.total,
                                    message=f"the repository has no release for class {uuid.UUID(bytes=class_id)}")
            meta = fwsign_custom(info)
            seq, floor = meta.get("sequence"), meta.get("min-sequence", 0)
            if not isinstance(seq, int) or not isinstance(floor, int) or seq < 0 or floor < 0:
                raise TufRejected(f"{latest_name} carries no valid fwsign sequence/min-sequence metadata")
            if seq <= current_sequence:
                return UpdateResult(False, current_sequence, seq, floor, target=latest_name, downloaded_bytes=counting.total,
                                    message=f"up to date: newest release is {seq}, running {current_sequence}")
            if seq < floor:
                raise TufRejected(f"the newest release {seq} is below the class's revocation floor {floor}", reason="rollback")
            rollout = _rollout_for(updater, class_id, work)
            if rollout is not None and rollout.gates(seq):
                at = int((now or dt.datetime.now(dt.UTC)).timestamp())
                state = rollout.status(at)
                if not rollout.admits(device_id, at):
                    why = "halted" if rollout.halted else f"at {state['percent']}% and this device's cohort is not in it yet"
                    return UpdateResult(False, current_sequence, seq, floor, target=latest_name,
                                        downloaded_bytes=counting.total, held=True, rollout=state,
                                        message=f"release {seq} is held back by its rollout (release {rollout.release}: {why})")
            fallback: str | None = None
            if running_image is not None:
                policy_ = _suit_policy(suit_keys, suit_threshold, suit_policy, vendor_id, class_id, current_sequence,
                                       floor, now)
                done = _delta_update(updater, meta, latest_name, running_image, policy_, seq, work, out_dir,
                                     counting, progress, max_payload)
                if isinstance(done, UpdateResult):
                    return replace(done, current_sequence=current_sequence, min_sequence=floor,
                                   message=f"updated {current_sequence} -> {seq}: {done.message}",
                                   downloaded_bytes=counting.total,
                                   rollout=rollout.status(int((now or dt.datetime.now(dt.UTC)).timestamp()))
                                   if rollout is not None and rollout.gates(seq) else None)
                fallback = done
            if info.length > DEFAULT_LIMITS.max_envelope_bytes:
                raise LimitError(f"envelope target is {info.length} bytes, over the {DEFAULT_LIMITS.max_envelope_bytes} limit")
            env_file = Path(updater.download_target(info, str(work / "envelope.suit")))
            envelope = env_file.read_bytes()
            pay_file: Path | None = None
            pay_name = meta.get("payload")
            if pay_name is not None:
                if not isinstance(pay_name, str) or not pay_name.startswith(latest_name.rsplit("/", 1)[0] + "/"):
                    raise TufRejected(f"payload path {pay_name!r} is outside the class directory")
                pinfo = _payload_info(meta, pay_name)
                if pinfo is None:  # a latest pointer without the payload's length and hash: its own entry
                    pinfo = updater.get_targetinfo(pay_name)
                if pinfo is None:
                    raise TufRejected(f"payload {pay_name} named by the release is not in the signed metadata")
                if pinfo.length > max_payload:
                    raise TufRejected(f"payload is {pinfo.length} bytes, over the client's limit of {max_payload}",
                                      reason="tuf-too-large")
                expected_name = payload_path(class_id, pinfo.hashes.get("sha256", ""))
                if pay_name != expected_name:
                    raise TufRejected(f"payload path {pay_name} does not match its content hash")
                counting.progress, counting.expected = progress, pinfo.length
                try:
                    pay_file = Path(updater.download_target(pinfo, str(work / "payload.bin")))
                finally:
                    counting.progress = None
        except (tuf_exc.RepositoryError, tuf_exc.DownloadError) as exc:
            raise _tuf_error(exc) from None
        # One clock for both layers: the TUF expiry checks above and SUIT delegation expiry.
        suit_now = int(now.timestamp()) if now is not None else None
        policy = Policy(keys=tuple(suit_keys), threshold=suit_threshold, vendor_id=vendor_id, class_id=class_id,
                        min_sequence=max(current_sequence + 1, floor), now=suit_now)
        if suit_policy is not None:
            policy = replace(suit_policy, vendor_id=vendor_id, class_id=class_id, min_sequence=policy.min_sequence,
                             now=suit_now if suit_now is not None else suit_policy.now)
        report = verify_envelope(envelope, policy, read_chunks(pay_file) if pay_file is not None else None)
        if report.error is not None:
            raise report.error
        assert report.envelope is not None
        if report.envelope.manifest.sequence_number != seq:
            raise TufRejected(f"envelope sequence {report.envelope.manifest.sequence_number} differs from the "
                              f"signed target metadata ({seq})")
        out_dir.mkdir(parents=True, exist_ok=True)
        env_out = out_dir / f"firmware-{seq}.suit"
        pay_out = out_dir / f"firmware-{seq}.bin" if pay_file is not None else None
        if pay_file is not None and pay_out is not None:
            _install(pay_file, pay_out)
        _install(env_file, env_out)
        return UpdateResult(True, current_sequence, seq, floor, env_out, pay_out, envelope, latest_name, report,
                            counting.total, f"updated {current_sequence} -> {seq}",
                            rollout=rollout.status(int((now or dt.datetime.now(dt.UTC)).timestamp()))
                            if rollout is not None and rollout.gates(seq) else None, fallback=fallback)


# --- delta releases (docs/delta.md) ------------------------------------------------------


def _suit_policy(suit_keys: Sequence[TrustedKey], threshold: int, suit_policy: Policy | None, vendor_id: bytes,
                 class_id: bytes, current_sequence: int, floor: int, now: dt.datetime | None) -> Policy:
    """The SUIT policy a release is verified under (as fetch_update builds it for the full image)."""
    suit_now = int(now.timestamp()) if now is not None else None
    policy = Policy(keys=tuple(suit_keys), threshold=threshold, vendor_id=vendor_id, class_id=class_id,
                    min_sequence=max(current_sequence + 1, floor), now=suit_now)
    if suit_policy is not None:
        policy = replace(suit_policy, vendor_id=vendor_id, class_id=class_id, min_sequence=policy.min_sequence,
                         now=suit_now if suit_now is not None else suit_policy.now)
    return policy


def _delta_target(entry: dict[str, Any], key: str, class_prefix: str) -> Any:
    """A delta file's TUF target info from the latest pointer's signed entry."""
    from tuf.api.metadata import TargetFile  # type: ignore[attr-defined]

    path, length, sha = entry.get(key), entry.get(f"{key}-length"), entry.get(f"{key}-sha256")
    if (not isinstance(path, str) or not path.startswith(class_prefix) or not isinstance(length, int)
            or isinstance(length, bool) or length < 0 or not isinstance(sha, str) or len(sha) != 64
            or any(c not in "0123456789abcdef" for c in sha)):
        raise TufRejected(f"the latest pointer's delta entry names no valid {key} target")
    return TargetFile(length, {"sha256": sha}, path)


def _delta_update(updater: Any, meta: dict[str, Any], latest_name: str, running: bytes, policy: Policy, seq: int,
                  work: Path, out_dir: Path, counting: CountingFetcher, progress: Progress | None,
                  max_payload: int) -> UpdateResult | str:
    """Fetch and check the patch from ``running`` to release ``seq``; the UpdateResult when it
    verifies (the patch applied gives the image the envelope names), else why not (the
    caller then fetches the full image)."""
    from tuf.api import exceptions as tuf_exc

    src = hashlib.sha256(running).hexdigest()
    entry = next((d for d in meta.get("deltas", []) if isinstance(d, dict) and d.get("source-sha256") == src), None)
    if entry is None:
        return f"no patch from the running image ({src[:16]}...)"
    prefix = latest_name.rsplit("/", 1)[0] + "/"
    try:
        einfo, pinfo = _delta_target(entry, "envelope", prefix), _delta_target(entry, "patch", prefix)
        if einfo.length > DEFAULT_LIMITS.max_envelope_bytes or pinfo.length > max_payload:
            return "the patch or its envelope is over the client's limits"
        env_file = Path(updater.download_target(einfo, str(work / "delta.suit")))
        counting.progress, counting.expected = progress, pinfo.length
        try:
            patch_file = Path(updater.download_target(pinfo, str(work / "patch.fwd1")))
        finally:
            counting.progress = None
    except (tuf_exc.RepositoryError, tuf_exc.DownloadError, FwsignError) as exc:
        return f"patch not fetched: {exc}"
    envelope = env_file.read_bytes()
    report = verify_envelope(envelope, policy, patch_file.read_bytes(), delta_source=running)
    if report.error is not None:
        return f"patch refused: {report.error.describe()}"
    assert report.envelope is not None
    if report.envelope.manifest.sequence_number != seq:
        return f"patch envelope sequence {report.envelope.manifest.sequence_number} differs from the release's ({seq})"
    out_dir.mkdir(parents=True, exist_ok=True)
    env_out, pay_out = out_dir / f"firmware-{seq}.suit", out_dir / f"firmware-{seq}.fwd1"
    _install(patch_file, pay_out)
    _install(env_file, env_out)
    return UpdateResult(True, 0, seq, 0, env_out, pay_out, envelope, str(entry["envelope"]), report, 0,
                        f"a patch of {pinfo.length} B from the running image", delivery="patch")
