"""The audit log anchor a repository publishes, read back the way a client reads metadata.

:func:`published_anchor` refreshes a python-tuf ``ngclient.Updater`` against the
repository (a directory or a mirror URL), so the snapshot it reads the anchor from is
checked like any client's: signatures and thresholds from the trusted root, versions
against the metadata cache (a persistent ``cache_dir`` turns TUF's rollback protection on
for the verifier too), expiry unless ``now`` says otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tuf.api import exceptions as tuf_exc
from tuf.ngclient.fetcher import FetcherInterface

from ..audit import Anchor
from ..errors import AuditLogError, RepoError
from .layout import Layout
from .repository import AUDIT_ANCHOR

BASE = "fwsign-local://repo/"


class _LocalFetcher(FetcherInterface):
    """Serves ``metadata/`` of a repository directory to ngclient."""

    def __init__(self, metadata: Path) -> None:
        self.metadata = metadata

    def _fetch(self, url: str) -> Iterator[bytes]:
        name = url[len(BASE + "metadata/"):] if url.startswith(BASE + "metadata/") else ""
        if not name or "/" in name or name.startswith(".") or not (self.metadata / name).is_file():
            raise tuf_exc.DownloadHTTPError(f"{name or url} not found", 404)
        return iter([(self.metadata / name).read_bytes()])


def published_anchor(source: str | Path, trusted_root: bytes, *, cache_dir: Path | None = None,
                     now: dt.datetime | None = None) -> Anchor | None:
    """The audit head anchored in the newest snapshot of ``source`` (None if it carries none)."""
    from tuf.ngclient import Updater  # type: ignore[attr-defined]

    text = str(source)
    remote = text.startswith(("http://", "https://"))
    with tempfile.TemporaryDirectory(prefix="fwsign-anchor-") as tmp:
        meta_dir = (cache_dir / "metadata") if cache_dir is not None else Path(tmp)
        meta_dir.mkdir(parents=True, exist_ok=True)
        if remote:
            from ..client import CountingFetcher

            base = text if text.endswith("/") else text + "/"
            fetcher: FetcherInterface = CountingFetcher()
        else:
            base = BASE
            metadata = Layout(Path(text)).served_root() / "metadata"
            if not metadata.is_dir():
                raise RepoError(f"{text} is not a published repository (no public/metadata/)")
            fetcher = _LocalFetcher(metadata)
        try:
            updater = Updater(str(meta_dir), base + "metadata/", None, None, fetcher, bootstrap=trusted_root)
            if now is not None:
                updater._trusted_set.reference_time = now
            updater.refresh()
        except (tuf_exc.RepositoryError, tuf_exc.DownloadError, ValueError) as exc:
            raise AuditLogError(f"cannot read the anchor: the repository metadata does not verify "
                                f"({type(exc).__name__}: {exc})") from None
        snap = json.loads((meta_dir / "snapshot.json").read_bytes())["signed"]
    field = snap.get(AUDIT_ANCHOR)
    if field is None:
        return None
    try:
        seq, digest = int(field["seq"]), str(field["hash"])
    except (KeyError, TypeError, ValueError):
        raise AuditLogError(f"the anchor in snapshot v{snap.get('version')} is malformed") from None
    return Anchor(seq, digest, f"snapshot v{snap.get('version')}")
