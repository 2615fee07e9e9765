"""A delta release: the patch from one image to the next and the manifest's image entry
that authenticates it (docs/delta.md)."""

from __future__ import annotations

import hashlib

from fwsign.suit.builder import ImageSpec
from fwsign.suit.codepoints import DigestAlg
from fwsign.suit.model import Digest

from .info import DeltaInfo, encode_delta_info
from .patch import FORMAT_FWD1, make_patch

#: The name of an integrated patch (``fwsign sign --delta-from ... --embed``).
EMBEDDED_PATCH = "#patch"


def _sha256(data: bytes) -> Digest:
    return Digest(DigestAlg.SHA256, hashlib.sha256(data).digest())


def delta_image(old: bytes, new: bytes, uri: str, slot: int | None = None,
                patch: bytes | None = None) -> tuple[ImageSpec, bytes]:
    """The image entry for ``new`` delivered as a patch from ``old`` (fetched from ``uri``),
    and the patch. The entry keeps ``new``'s digest and size (the result the device checks
    before marking the slot bootable), names ``old`` by digest and size (checked before
    anything is written) and the patch by size and digest (delta-info)."""
    if patch is None:
        patch = make_patch(old, new)
    info = encode_delta_info(DeltaInfo(FORMAT_FWD1, len(patch), _sha256(patch)))
    return ImageSpec(_sha256(new), len(new), slot, uri, None, info, (_sha256(old), len(old))), patch
