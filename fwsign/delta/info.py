"""The delta-info parameter (label -257, docs/delta.md): which patch a fetch consumes.

    delta-info = bstr .cbor [ format: uint, patch-size: uint, patch-digest: SUIT_Digest ]

Format 1 is FWD1 (fwsign.delta.patch). The value is read strictly (one CBOR item, shortest
forms, nothing after it) by the host processor and bootloader-ref alike: not a 3-array of
those types is ``malformed``, another format or digest algorithm is ``unsupported``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fwsign.cbor import encode_head
from fwsign.errors import DecodeError, UnsupportedError
from fwsign.limits import Limits
from fwsign.suit.model import Digest

from .patch import FORMAT_FWD1

_U32 = 0xFFFF_FFFF
_SHA256 = -16


@dataclass(frozen=True)
class DeltaInfo:
    """What a delta fetch's patch must be: its format, size and digest."""

    format: int
    patch_size: int
    patch_digest: Digest


def encode_delta_info(info: DeltaInfo) -> bytes:
    from fwsign.suit.encode import encode_digest

    return b"\x83" + encode_head(0, info.format) + encode_head(0, info.patch_size) + encode_digest(info.patch_digest)


def decode_delta_info(data: bytes, limits: Limits, path: str) -> DeltaInfo:
    """Parse and check a delta-info value (the bstr's contents)."""
    from fwsign.cbor import loads
    from fwsign.suit.decode import decode_digest_value

    value = loads(data, limits, path=path)
    if not isinstance(value, tuple) or len(value) != 3:
        raise DecodeError("delta-info must be [format, patch-size, patch-digest]", path=path)
    fmt, size, digest = value
    if type(fmt) is not int or fmt < 0 or type(size) is not int or size < 0 or size > _U32:
        raise DecodeError("delta-info's format and patch-size must be uints (patch-size < 2**32)", path=path)
    d = decode_digest_value(digest, f"{path}[2]")
    if d.alg != _SHA256:  # the one digest every device computes (bootloader-ref: SHA-256 only)
        raise UnsupportedError(f"patch digest algorithm {d.alg} is not supported (SHA-256: -16)", path=f"{path}[2][0]")
    if fmt != FORMAT_FWD1:
        raise UnsupportedError(f"delta format {fmt} is not supported (1: FWD1)", path=f"{path}[0]")
    return DeltaInfo(fmt, size, d)
