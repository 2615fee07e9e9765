"""Host-side apply step of a delta release: the patch checked against its delta-info, then
applied to the source image (docs/delta.md). Pure over bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from fwsign.errors import PatchError
from fwsign.limits import Limits

from .info import decode_delta_info
from .patch import apply_patch


def check_patch(patch: bytes, info_bytes: bytes, limits: Limits, where: str) -> None:
    """The patch is the one the manifest names: its size, then its SHA-256."""
    info = decode_delta_info(info_bytes, limits, f"{where}(delta-info)")
    if len(patch) != info.patch_size:
        raise PatchError(f"patch is {len(patch)} bytes, the delta-info says {info.patch_size}", path=where)
    if hashlib.sha256(patch).digest() != info.patch_digest.value:
        raise PatchError("patch SHA-256 differs from the delta-info's", path=where)


def patched(patch: Iterable[bytes] | bytes, source: bytes, info_bytes: bytes, limits: Limits, where: str) -> bytes:
    """The image a delta release makes from ``source``: the patch is authenticated first
    (nothing is applied otherwise), then applied strictly."""
    data = bytes(patch) if isinstance(patch, (bytes, bytearray)) else b"".join(patch)
    check_patch(data, info_bytes, limits, where)
    return apply_patch(source, data, max_target=limits.max_integrated_payload_bytes)
