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

Errors are :class:`fwsign.errors.FwsignError` subclasses: :class:`~fwsign.errors.TufRejected`
(exit 1, reasons ``tuf-signature``, ``tuf-expired``, ``tuf-rollback``,
``tuf-hash-mismatch``, ``tuf-too-large``, ``tuf-rejected``), the SUIT verifier's own
(exit 1: ``rollback``, ``image-mismatch``, ...), :class:`~fwsign.errors.NetworkError`
(exit 2) and :class:`~fwsign.errors.UsageError` (exit 2).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tuf.ngclient.fetcher import FetcherInterface

from .errors import FwsignError, LimitError, NetworkError, TufRejected, UsageError
from .limits import DEFAULT_LIMITS
from .verify import Policy, Report, TrustedKey, read_chunks, verify_envelope

#: Largest payload the client downloads unless told otherwise (TUF also checks the signed length).
DEFAULT_MAX_PAYLOAD = 256 * 1024 * 1024

Progress = Callable[[int, int], None]


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

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "updated" if self.updated else "up-to-date",
            "current_sequence": self.current_sequence,
            "sequence": self.sequence,
            "min_sequence": self.min_sequence,
            "envelope": str(self.envelope_path) if self.envelope_path else None,
            "payload": str(self.payload_path) if self.payload_path else None,
            "target": self.target,
            "downloaded_bytes": self.downloaded_bytes,
            "message": self.message,
            "verification": self.report.as_dict() if self.report is not None else None,
        }


class CountingFetcher(FetcherInterface):
    """Wraps a fetcher: counts bytes per URL and reports progress of the current download."""

    def __init__(self, inner: Any | None = None) -> None:
        if inner is None:
            from tuf.ngclient import Urllib3Fetcher  # type: ignore[attr-defined]

            inner = Urllib3Fetcher(app_user_agent="fwsign")
        self.inner = inner
        self.bytes_by_url: dict[str, int] = {}
        self.progress: Progress | None = None
        self.expected = 0

    @property
    def total(self) -> int:
        return sum(self.bytes_by_url.values())

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
        fetcher: a ``tuf.ngclient.FetcherInterface`` (default urllib3).
        progress: called with (bytes so far, expected bytes) while the payload downloads.
        suit_policy: the release policy's rule for this class (keys, threshold, algorithms);
            replaces ``suit_keys``/``suit_threshold`` when given.

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
    counting = fetcher if isinstance(fetcher, CountingFetcher) else CountingFetcher(fetcher)
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
            if info.length > DEFAULT_LIMITS.max_envelope_bytes:
                raise LimitError(f"envelope target is {info.length} bytes, over the {DEFAULT_LIMITS.max_envelope_bytes} limit")
            env_file = Path(updater.download_target(info, str(work / "envelope.suit")))
            envelope = env_file.read_bytes()
            pay_file: Path | None = None
            pay_name = meta.get("payload")
            if pay_name is not None:
                if not isinstance(pay_name, str) or not pay_name.startswith(latest_name.rsplit("/", 1)[0] + "/"):
                    raise TufRejected(f"payload path {pay_name!r} is outside the class directory")
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
        except tuf_exc.RepositoryError as exc:
            raise _tuf_error(exc) from None
        except tuf_exc.DownloadError as exc:
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
                            counting.total, f"updated {current_sequence} -> {seq}")
