"""Check a repository state the way a client sees it, before it is written.

:func:`client_check` runs a real python-tuf ``ngclient.Updater`` (bootstrapped with the
repository's first root, so the whole root chain is walked) against the files about to
be published, served from memory over the files already on disk. A state that a
default client would refuse (bad signatures, wrong versions, oversized files, a broken
delegation) is never written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence

from tuf.api import exceptions as tuf_exc
from tuf.ngclient import Updater  # type: ignore[attr-defined]
from tuf.ngclient.fetcher import FetcherInterface

from ..errors import RepoError
from .layout import Layout

BASE = "fwsign-check://repo/"


class OverlayFetcher(FetcherInterface):
    """Serves ``metadata/`` from an in-memory overlay, falling back to the directory."""

    def __init__(self, layout: Layout, overlay: Mapping[str, bytes]) -> None:
        self.layout = layout
        self.overlay = overlay

    def _fetch(self, url: str) -> Iterator[bytes]:
        if not url.startswith(BASE + "metadata/"):
            raise tuf_exc.DownloadHTTPError(f"unexpected url {url}", 404)
        name = url[len(BASE + "metadata/"):]
        if "/" in name or name.startswith("."):
            raise tuf_exc.DownloadHTTPError(f"unexpected url {url}", 404)
        if name in self.overlay:
            return iter([self.overlay[name]])
        path = self.layout.metadata / name
        if not path.is_file():
            raise tuf_exc.DownloadHTTPError(f"{name} not found", 404)
        return iter([path.read_bytes()])


def client_check(layout: Layout, files: Mapping[str, bytes], sample_targets: Sequence[str] = ()) -> None:
    """Refresh a fresh client against ``files`` over ``layout``; raise :class:`RepoError` if it fails."""
    first = files.get("1.root.json")
    if first is None:
        path = layout.metadata / "1.root.json"
        if not path.is_file():
            raise RepoError("the repository has no 1.root.json")
        first = path.read_bytes()
    with tempfile.TemporaryDirectory(prefix="fwsign-check-") as tmp:
        try:
            updater = Updater(tmp, BASE + "metadata/", None, None, OverlayFetcher(layout, files), bootstrap=first)
            updater.refresh()
            for target in sample_targets:
                if updater.get_targetinfo(target) is None:
                    raise RepoError(f"a client does not find target {target} in the new state; not published")
        except (tuf_exc.RepositoryError, tuf_exc.DownloadError, ValueError) as exc:
            raise RepoError(f"a python-tuf client refuses the new state ({type(exc).__name__}: {exc}); not published") from None
