"""The reference CBOR decoder, kept as a test oracle for fwsign.cbor.

fwsign decodes with one strict decoder (fwsign.cbor.loads). This is the straightforward,
slow decoder it was checked against when it was written: item by item, the path built as
it goes. The tests run both on valid, random and mutated input and require the same value
or the same error (class, message and path), so the product decoder has no behaviour of its
own.
"""

from __future__ import annotations

from fwsign.cbor import MT_ARRAY, MT_BSTR, MT_MAP, MT_NINT, MT_SIMPLE, MT_TAG, MT_TSTR, MT_UINT, CBORValue, Tag
from fwsign.cbor import _as_map_key as _as_map_key
from fwsign.errors import DecodeError, LimitError, TruncatedError
from fwsign.frozenmap import FrozenMap, MapKey
from fwsign.limits import DEFAULT_LIMITS, Limits


def _path_join(path: str, suffix: str) -> str:
    return f"{path}{suffix}" if path else suffix.lstrip(".")


class Decoder:
    """A pull decoder over one buffer. Positions are byte offsets into ``data``."""

    __slots__ = ("data", "limits", "pos", "require_canonical")

    def __init__(
        self,
        data: bytes,
        limits: Limits = DEFAULT_LIMITS,
        *,
        require_canonical: bool = True,
    ) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("CBOR input must be bytes")
        self.data = bytes(data)
        self.pos = 0
        self.limits = limits
        self.require_canonical = require_canonical

    # -- heads --------------------------------------------------------------------

    def _take(self, n: int, path: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise TruncatedError(
                f"needs {n} bytes at offset {self.pos}, only {len(self.data) - self.pos} left",
                path=path,
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def head(self, path: str) -> tuple[int, int, int]:
        """Read an item head; return (major type, additional info, argument)."""
        start = self.pos
        (ib,) = self._take(1, path)
        major, ai = ib >> 5, ib & 0x1F
        if ai < 24:
            return major, ai, ai
        if ai in (24, 25, 26, 27):
            size = 1 << (ai - 24)
            arg = int.from_bytes(self._take(size, path), "big")
            if major == MT_SIMPLE:
                # ai 24 = simple value, 25-27 = floats: neither is used by SUIT/COSE.
                return major, ai, arg
            # Shortest form (RFC 8949 section 4.2.1): the argument must not fit a
            # smaller head. Two encodings of one value would let signed bytes differ
            # from what a re-encoder produces.
            minimum = 24 if ai == 24 else 1 << (8 * (size >> 1))
            if arg < minimum:
                raise DecodeError(
                    f"non-shortest encoding of {arg} at offset {start}", path=path
                )
            return major, ai, arg
        if ai == 31:
            raise DecodeError(f"indefinite-length item at offset {start}", path=path)
        raise DecodeError(f"reserved additional information {ai} at offset {start}", path=path)

    def _length(self, arg: int, limit: int, what: str, path: str) -> int:
        if arg > limit:
            raise LimitError(f"{what} of {arg} exceeds the limit of {limit}", path=path)
        return arg

    # -- generic items ----------------------------------------------------------------

    def item(self, path: str = "", depth: int = 0, string_limit: int | None = None) -> CBORValue:
        """Decode one complete item of any type; ``string_limit`` applies to nested strings too."""
        if depth > self.limits.max_depth:
            raise LimitError(f"nesting deeper than {self.limits.max_depth}", path=path)
        max_str = self.limits.max_string_bytes if string_limit is None else string_limit
        major, ai, arg = self.head(path)
        if major == MT_UINT:
            return arg
        if major == MT_NINT:
            return -1 - arg
        if major == MT_BSTR:
            return self._take(self._length(arg, max_str, "byte string length", path), path)
        if major == MT_TSTR:
            raw = self._take(self._length(arg, max_str, "text string length", path), path)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DecodeError(f"text string is not valid UTF-8 ({exc.reason})", path=path) from None
        if major == MT_ARRAY:
            n = self._length(arg, self.limits.max_container_items, "array length", path)
            if n > len(self.data) - self.pos:
                raise TruncatedError(f"array of {n} items cannot fit in the bytes left", path=path)
            return tuple(self.item(f"{path}[{i}]", depth + 1, string_limit) for i in range(n))
        if major == MT_MAP:
            return self._map(arg, path, depth, string_limit)
        if major == MT_TAG:
            return Tag(arg, self.item(f"{path}<tag {arg}>", depth + 1, string_limit))
        # Major type 7.
        if ai == 20:
            return False
        if ai == 21:
            return True
        if ai == 22:
            return None
        if ai in (25, 26, 27):
            raise DecodeError("floating-point values are not allowed", path=path)
        raise DecodeError(f"simple value {arg} is not allowed", path=path)

    def _map(self, arg: int, path: str, depth: int, string_limit: int | None) -> FrozenMap:
        n = self._length(arg, self.limits.max_container_items, "map size", path)
        if 2 * n > len(self.data) - self.pos:
            raise TruncatedError(f"map of {n} entries cannot fit in the bytes left", path=path)
        out: dict[MapKey, CBORValue] = {}
        seen: set[bytes] = set()
        previous: bytes | None = None
        for _ in range(n):
            kstart = self.pos
            key = self.item(f"{path}{{key}}", depth + 1)
            kraw = self.data[kstart : self.pos]
            key = _as_map_key(key, path)
            if kraw in seen:
                raise DecodeError(f"duplicate map key {key!r}", path=path)
            if self.require_canonical and previous is not None and not previous < kraw:
                raise DecodeError(
                    f"map key {key!r} out of canonical order (RFC 8949 section 4.2.1)", path=path
                )
            seen.add(kraw)
            previous = kraw
            out[key] = self.item(f"{path}{{{key!r}}}", depth + 1, string_limit)
        return FrozenMap(out)

    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def expect_end(self, path: str = "") -> None:
        if self.pos != len(self.data):
            raise DecodeError(
                f"{len(self.data) - self.pos} trailing bytes after the item", path=path
            )




def reference_loads(data: bytes, limits: Limits = DEFAULT_LIMITS, *, path: str = "",
                    string_limit: int | None = None, require_canonical: bool = True) -> CBORValue:
    dec = Decoder(data, limits, require_canonical=require_canonical)
    value = dec.item(path, 0, string_limit)
    dec.expect_end(path)
    return value
