"""Strict CBOR (RFC 8949) decoding and deterministic encoding for SUIT and COSE.

General-purpose CBOR decoders accept things a security decoder must refuse: trailing
bytes, duplicate map keys, indefinite lengths, non-shortest integer forms and
out-of-order map keys. Each of those lets two different byte strings mean the same
thing, which is how signature-bypass and parser-differential bugs begin. This decoder
refuses all of them and checks every length against both the configured limit and the
bytes actually present *before* slicing.

Because heads are required in shortest form, re-encoding a decoded byte string's head
reproduces the original bytes exactly; the SUIT layer relies on that when it hashes a
bstr-wrapped member "header included".

Values map to Python as: unsigned/negative int -> ``int``, bstr -> ``bytes``, tstr ->
``str``, array -> ``tuple``, map -> :class:`FrozenMap`, tag -> :class:`Tag`,
false/true/null -> ``False``/``True``/``None``. Floats, undefined and other simple
values are refused: nothing in SUIT or COSE uses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Union

from .errors import DecodeError, LimitError, TruncatedError
from .frozenmap import FrozenMap as FrozenMap
from .frozenmap import MapKey as MapKey
from .limits import DEFAULT_LIMITS, Limits

CBORValue = Union[int, bytes, str, bool, None, "tuple[CBORValue, ...]", "FrozenMap", "Tag"]


@dataclass(frozen=True, init=False)
class Tag:
    """A tagged item (RFC 8949 section 3.4)."""

    tag: int
    value: CBORValue

    def __init__(self, tag: int, value: CBORValue) -> None:
        # Spelled out: a compiled build makes an explicit __init__ native.
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "value", value)


# Major types (RFC 8949 section 3.1).
MT_UINT: Final = 0
MT_NINT: Final = 1
MT_BSTR: Final = 2
MT_TSTR: Final = 3
MT_ARRAY: Final = 4
MT_MAP: Final = 5
MT_TAG: Final = 6
MT_SIMPLE: Final = 7


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
            if self.require_canonical and previous is not None and not _canonical_less(previous, kraw):
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


def _canonical_less(a: bytes, b: bytes) -> bool:
    # Bytewise lexicographic order of the deterministic encodings (RFC 8949 4.2.1).
    return a < b


def _as_map_key(key: CBORValue, path: str) -> MapKey:
    # bool/None keys are refused: Python would merge True with 1 in a dict, so a map
    # holding both could be read two ways. SUIT and COSE keys are ints, text, or (in
    # the SUIT text map) component identifiers, i.e. arrays of byte strings.
    if isinstance(key, bool) or key is None:
        raise DecodeError(f"map key {key!r} is not allowed", path=path)
    if isinstance(key, (int, str, bytes)):
        return key
    if isinstance(key, tuple):
        return tuple(_as_map_key(k, path) for k in key)
    raise DecodeError(f"map key of type {type(key).__name__} is not allowed", path=path)


def loads(
    data: bytes,
    limits: Limits = DEFAULT_LIMITS,
    *,
    path: str = "",
    string_limit: int | None = None,
    require_canonical: bool = True,
) -> CBORValue:
    """Decode exactly one item; trailing bytes are an error.

    Well-formed input takes a fast path (:func:`fast_loads`) that accepts exactly what
    :class:`Decoder` accepts; anything it refuses is decoded again by :class:`Decoder`,
    which is the reference and produces the typed error with its offset and path.
    """
    if require_canonical:
        try:
            return fast_loads(data, limits, string_limit)
        except _Refused:
            pass
    dec = Decoder(data, limits, require_canonical=require_canonical)
    value = dec.item(path, 0, string_limit)
    dec.expect_end(path)
    return value


class _Refused(Exception):
    """Internal: the fast path declines; the reference decoder reports why."""


_REFUSED = _Refused()


def fast_loads(data: bytes, limits: Limits = DEFAULT_LIMITS, string_limit: int | None = None) -> CBORValue:
    """Decode one canonical item with the same rules as :class:`Decoder`, or raise ``_Refused``.

    No per-item objects, no path strings, no slicing except for the strings returned.
    Map keys must be strictly increasing in bytewise order, which also rules out
    duplicates. The property tests check that this function and :class:`Decoder` agree
    on valid and mutated input.
    """
    if type(data) is not bytes:
        data = bytes(data)
    fast = _Fast(data, limits.max_depth, limits.max_container_items, limits.max_string_bytes)
    value = fast.item(0, limits.max_string_bytes if string_limit is None else string_limit)
    if fast.pos != fast.n:
        raise _REFUSED
    return value


def _small_int(b: int) -> int:
    """The value of a one-byte unsigned or negative integer head (``b < 0x18`` or ``0x20 <= b < 0x38``)."""
    return b if b < 0x18 else 0x1F - b


class _Fast:
    """The fast path's state: the buffer and the position (a class, so that compiled
    builds of this module call its methods natively)."""

    __slots__ = ("data", "default_str", "max_depth", "max_items", "n", "pos")

    def __init__(self, data: bytes, max_depth: int, max_items: int, default_str: int) -> None:
        self.data = data
        self.n = len(data)
        self.pos = 0
        self.max_depth = max_depth
        self.max_items = max_items
        self.default_str = default_str

    def item(self, depth: int, max_str: int) -> CBORValue:
        data = self.data
        n = self.n
        pos = self.pos
        if depth > self.max_depth or pos >= n:
            raise _REFUSED
        ib = data[pos]
        pos += 1
        major = ib >> 5
        arg = ib & 0x1F
        if arg >= 24:
            if arg == 24:
                if pos >= n:
                    raise _REFUSED
                arg = data[pos]
                pos += 1
                if arg < 24:
                    raise _REFUSED
            elif arg == 25:
                if pos + 2 > n:
                    raise _REFUSED
                arg = (data[pos] << 8) | data[pos + 1]
                pos += 2
                if arg < 0x100:
                    raise _REFUSED
            elif arg == 26 or arg == 27:
                size = 4 if arg == 26 else 8
                if pos + size > n:
                    raise _REFUSED
                arg = int.from_bytes(data[pos : pos + size], "big")
                pos += size
                if arg < (0x10000 if size == 4 else 0x100000000):
                    raise _REFUSED
            else:
                raise _REFUSED
            if major == MT_SIMPLE:
                raise _REFUSED  # simple values >= 24 and floats
        if major == MT_UINT:
            self.pos = pos
            return arg
        if major == MT_NINT:
            self.pos = pos
            return -1 - arg
        if major in (MT_BSTR, MT_TSTR):
            end = pos + arg
            if arg > max_str or end > n:
                raise _REFUSED
            raw = data[pos:end]
            self.pos = end
            if major == MT_BSTR:
                return raw
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _REFUSED from None
        if major == MT_ARRAY:
            if arg > self.max_items or arg > n - pos:
                raise _REFUSED
            child = depth + 1
            if child > self.max_depth:
                raise _REFUSED
            elements: list[CBORValue] = []
            for _ in range(arg):
                # Small integers inline: most SUIT array elements are command labels and
                # reporting policies, and a call per item would dominate.
                if pos < n:
                    b = data[pos]
                    if b < 0x18 or 0x20 <= b < 0x38:
                        pos += 1
                        elements.append(_small_int(b))
                        continue
                self.pos = pos
                elements.append(self.item(child, max_str))
                pos = self.pos
            self.pos = pos
            return tuple(elements)
        if major == MT_MAP:
            if arg > self.max_items or 2 * arg > n - pos:
                raise _REFUSED
            child = depth + 1
            if child > self.max_depth:
                raise _REFUSED
            out: dict[MapKey, CBORValue] = {}
            previous = b""
            for _ in range(arg):
                kstart = pos
                key: CBORValue
                if pos < n and (data[pos] < 0x18 or 0x20 <= data[pos] < 0x38):
                    key = _small_int(data[pos])
                    pos += 1
                else:
                    self.pos = pos
                    key = self.item(child, self.default_str)
                    pos = self.pos
                kraw = data[kstart:pos]
                if kraw <= previous:
                    raise _REFUSED  # duplicate or out of canonical order
                previous = kraw
                tk = type(key)
                if tk is not int and tk is not str and tk is not bytes:
                    if tk is not tuple:
                        raise _REFUSED  # bool, nil, map and tag keys
                    try:
                        key = _as_map_key(key, "")
                    except DecodeError:
                        raise _REFUSED from None
                if pos < n and (data[pos] < 0x18 or 0x20 <= data[pos] < 0x38):
                    out[key] = _small_int(data[pos])  # type: ignore[index]
                    pos += 1
                else:
                    self.pos = pos
                    out[key] = self.item(child, max_str)  # type: ignore[index]
                    pos = self.pos
            self.pos = pos
            return FrozenMap._wrap(out)
        if major == MT_TAG:
            self.pos = pos
            return Tag(arg, self.item(depth + 1, max_str))
        self.pos = pos
        if arg == 20:
            return False
        if arg == 21:
            return True
        if arg == 22:
            return None
        raise _REFUSED


# -- encoding ------------------------------------------------------------------------


def encode_head(major: int, arg: int) -> bytes:
    """The shortest head for a major type and argument."""
    if arg < 0:
        raise ValueError("CBOR head argument must be non-negative")
    mt = major << 5
    if arg < 24:
        return bytes([mt | arg])
    if arg < 0x100:
        return bytes([mt | 24, arg])
    if arg < 0x10000:
        return bytes([mt | 25]) + arg.to_bytes(2, "big")
    if arg < 0x100000000:
        return bytes([mt | 26]) + arg.to_bytes(4, "big")
    if arg < 0x10000000000000000:
        return bytes([mt | 27]) + arg.to_bytes(8, "big")
    raise ValueError(f"integer {arg} does not fit a CBOR head")


def bstr(content: bytes) -> bytes:
    """Encode ``content`` as a CBOR byte string (head + content)."""
    return encode_head(MT_BSTR, len(content)) + bytes(content)


def dumps(value: object) -> bytes:
    """Deterministic encoding (RFC 8949 section 4.2.1): shortest heads, sorted map keys."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def dumps_tagged(tag: int, value: object) -> bytes:
    """Encode ``value`` under ``tag``; for building messages from plain Python values
    (:class:`Tag` holds decoded values only)."""
    return encode_head(MT_TAG, tag) + dumps(value)


def _encode(value: object, out: bytearray) -> None:
    if value is False:
        out.append(0xF4)
    elif value is True:
        out.append(0xF5)
    elif value is None:
        out.append(0xF6)
    elif isinstance(value, int):
        if value >= 0:
            out += encode_head(MT_UINT, value)
        else:
            out += encode_head(MT_NINT, -1 - value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        out += encode_head(MT_BSTR, len(data))
        out += data
    elif isinstance(value, str):
        data = value.encode("utf-8")
        out += encode_head(MT_TSTR, len(data))
        out += data
    elif isinstance(value, (tuple, list)):
        out += encode_head(MT_ARRAY, len(value))
        for v in value:
            _encode(v, out)
    elif isinstance(value, Mapping):
        pairs = sorted(((dumps(k), v) for k, v in value.items()), key=lambda p: p[0])
        out += encode_head(MT_MAP, len(pairs))
        for kraw, v in pairs:
            out += kraw
            _encode(v, out)
    elif isinstance(value, Tag):
        out += encode_head(MT_TAG, value.tag)
        _encode(value.value, out)
    elif isinstance(value, RawCBOR):
        out += value.data
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as CBOR")


@dataclass(frozen=True)
class RawCBOR:
    """Already-encoded CBOR spliced into an encoding unchanged (kept signed bytes)."""

    data: bytes
