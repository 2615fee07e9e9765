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

    ``path`` names the item in errors (``manifest.common``); an error inside it names the
    element (``manifest.common{2}[0]``). ``string_limit`` replaces the limit's string size
    for the item and everything in it except map keys. ``require_canonical=False`` accepts
    map keys in any order (duplicates are still refused): only for structures that other
    generators write out of order and nothing signs as SUIT maps.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("CBOR input must be bytes")
    if type(data) is not bytes:
        data = bytes(data)
    dec = _Decoder(data, limits.max_depth, limits.max_container_items, limits.max_string_bytes, require_canonical)
    try:
        value = dec.item(0, limits.max_string_bytes if string_limit is None else string_limit)
        if dec.pos != dec.n:
            raise DecodeError(f"{dec.n - dec.pos} trailing bytes after the item", path="")
    except DecodeError as exc:
        # Paths are put together only on the way out of an error: the happy path builds none.
        exc.path = f"{path}{exc.path}" if path else exc.path.lstrip(".")
        exc.args = (exc.describe(),)
        raise
    return value


def _within(exc: DecodeError, suffix: str) -> DecodeError:
    """The error of an element, its path now starting with the element's place."""
    exc.path = suffix + exc.path
    return exc


def _small_int(b: int) -> int:
    """The value of a one-byte unsigned or negative integer head (``b < 0x18`` or ``0x20 <= b < 0x38``)."""
    return b if b < 0x18 else 0x1F - b


class _Decoder:
    """The one strict decoder: a buffer and a position (a class, so that compiled builds of
    this module call its methods natively). Every check is made before the bytes it guards
    are used; small integers, most of what SUIT holds, are read inline."""

    __slots__ = ("canonical", "data", "default_str", "max_depth", "max_items", "n", "pos")

    def __init__(self, data: bytes, max_depth: int, max_items: int, default_str: int, canonical: bool) -> None:
        self.data = data
        self.n = len(data)
        self.pos = 0
        self.max_depth = max_depth
        self.max_items = max_items
        self.default_str = default_str
        self.canonical = canonical

    def item(self, depth: int, max_str: int) -> CBORValue:
        data = self.data
        n = self.n
        pos = self.pos
        if depth > self.max_depth:
            raise LimitError(f"nesting deeper than {self.max_depth}", path="")
        if pos >= n:
            raise TruncatedError(f"needs 1 bytes at offset {pos}, only {n - pos} left", path="")
        start = pos
        ib = data[pos]
        pos += 1
        major = ib >> 5
        ai = ib & 0x1F
        arg = ai
        if ai >= 24:
            if ai <= 27:
                size = 1 << (ai - 24)
                if pos + size > n:
                    raise TruncatedError(f"needs {size} bytes at offset {pos}, only {n - pos} left", path="")
                if size == 1:
                    arg = data[pos]
                elif size == 2:
                    arg = (data[pos] << 8) | data[pos + 1]
                else:
                    arg = int.from_bytes(data[pos : pos + size], "big")
                pos += size
                # Shortest form (RFC 8949 section 4.2.1): the argument must not fit a
                # smaller head. Two encodings of one value would let signed bytes differ
                # from what a re-encoder produces. (Simple values and floats are refused
                # below, whatever their form.)
                if major != MT_SIMPLE and arg < (24 if size == 1 else 1 << (8 * (size >> 1))):
                    raise DecodeError(f"non-shortest encoding of {arg} at offset {start}", path="")
            elif ai == 31:
                raise DecodeError(f"indefinite-length item at offset {start}", path="")
            else:
                raise DecodeError(f"reserved additional information {ai} at offset {start}", path="")
        if major == MT_UINT:
            self.pos = pos
            return arg
        if major == MT_NINT:
            self.pos = pos
            return -1 - arg
        if major in (MT_BSTR, MT_TSTR):
            if arg > max_str:
                what = "byte string length" if major == MT_BSTR else "text string length"
                raise LimitError(f"{what} of {arg} exceeds the limit of {max_str}", path="")
            end = pos + arg
            if end > n:
                raise TruncatedError(f"needs {arg} bytes at offset {pos}, only {n - pos} left", path="")
            raw = data[pos:end]
            self.pos = end
            if major == MT_BSTR:
                return raw
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DecodeError(f"text string is not valid UTF-8 ({exc.reason})", path="") from None
        if major == MT_ARRAY:
            return self._array(arg, pos, depth + 1, max_str)
        if major == MT_MAP:
            return self._map(arg, pos, depth + 1, max_str)
        if major == MT_TAG:
            self.pos = pos
            try:
                return Tag(arg, self.item(depth + 1, max_str))
            except DecodeError as exc:
                raise _within(exc, f"<tag {arg}>") from None
        self.pos = pos
        if ai == 20:
            return False
        if ai == 21:
            return True
        if ai == 22:
            return None
        if ai == 25 or ai == 26 or ai == 27:
            raise DecodeError("floating-point values are not allowed", path="")
        raise DecodeError(f"simple value {arg} is not allowed", path="")

    def _array(self, count: int, pos: int, child: int, max_str: int) -> tuple[CBORValue, ...]:
        data = self.data
        n = self.n
        if count > self.max_items:
            raise LimitError(f"array length of {count} exceeds the limit of {self.max_items}", path="")
        if count > n - pos:
            raise TruncatedError(f"array of {count} items cannot fit in the bytes left", path="")
        # Small integers inline (most SUIT array elements are command labels and
        # reporting policies): only where the element's depth is allowed anyway.
        inline = child <= self.max_depth
        elements: list[CBORValue] = []
        i = 0
        try:
            while i < count:
                if inline and pos < n:
                    b = data[pos]
                    if b < 0x18 or 0x20 <= b < 0x38:
                        pos += 1
                        elements.append(_small_int(b))
                        i += 1
                        continue
                self.pos = pos
                elements.append(self.item(child, max_str))
                pos = self.pos
                i += 1
        except DecodeError as exc:
            raise _within(exc, f"[{i}]") from None
        self.pos = pos
        return tuple(elements)

    def _map(self, count: int, pos: int, child: int, max_str: int) -> FrozenMap:
        data = self.data
        n = self.n
        if count > self.max_items:
            raise LimitError(f"map size of {count} exceeds the limit of {self.max_items}", path="")
        if 2 * count > n - pos:
            raise TruncatedError(f"map of {count} entries cannot fit in the bytes left", path="")
        inline = child <= self.max_depth
        out: dict[MapKey, CBORValue] = {}
        previous = b""
        for _ in range(count):
            kstart = pos
            key: CBORValue
            if inline and pos < n and (data[pos] < 0x18 or 0x20 <= data[pos] < 0x38):
                key = _small_int(data[pos])
                pos += 1
            else:
                self.pos = pos
                try:
                    key = self.item(child, self.default_str)
                except DecodeError as exc:
                    raise _within(exc, "{key}") from None
                pos = self.pos
            kraw = data[kstart:pos]
            tk = type(key)
            if tk is not int and tk is not str and tk is not bytes:
                key = _as_map_key(key, "")
            if self.canonical:
                if kraw <= previous:  # not increasing: a repeat, or out of order
                    if key in out:  # type: ignore[operator]
                        raise DecodeError(f"duplicate map key {key!r}", path="")
                    raise DecodeError(f"map key {key!r} out of canonical order (RFC 8949 section 4.2.1)", path="")
                previous = kraw
            elif key in out:  # type: ignore[operator]
                raise DecodeError(f"duplicate map key {key!r}", path="")
            if inline and pos < n and (data[pos] < 0x18 or 0x20 <= data[pos] < 0x38):
                out[key] = _small_int(data[pos])  # type: ignore[index]
                pos += 1
            else:
                self.pos = pos
                try:
                    out[key] = self.item(child, max_str)  # type: ignore[index]
                except DecodeError as exc:
                    raise _within(exc, f"{{{key!r}}}") from None
                pos = self.pos
        self.pos = pos
        return FrozenMap._wrap(out)


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
