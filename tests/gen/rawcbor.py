"""A small CBOR emitter for what the project's encoder refuses on purpose.

fwsign.cbor.dumps always sorts map keys and SUIT's encoder never writes an empty command
sequence. The generator needs both (a correctly signed manifest with a map in another
order, or an empty sequence, must still be refused), so maps here keep the order they are
given in. Everything else is delegated to fwsign.cbor, so heads stay shortest-form.
"""

from __future__ import annotations

from dataclasses import dataclass

from fwsign import cbor


@dataclass(frozen=True)
class RawMap:
    """A map written in exactly the order of ``pairs`` (canonical or not)."""

    pairs: tuple[tuple[object, object], ...]

    @staticmethod
    def ordered(pairs: list[tuple[object, object]], canonical: bool = True) -> RawMap:
        """The pairs in canonical order, or (``canonical=False``) reversed from it: for two or
        more entries reversing a sorted order always gives a non-canonical one."""
        ranked = sorted(pairs, key=lambda kv: emit(kv[0]))
        return RawMap(tuple(ranked if canonical else ranked[::-1]))


@dataclass(frozen=True)
class Wrapped:
    """``bstr .cbor value``: the encoding of ``value`` inside a byte string."""

    value: object


@dataclass(frozen=True)
class Tagged:
    tag: int
    value: object


def emit(value: object) -> bytes:
    """Encode ``value``; plain dicts are written canonically, :class:`RawMap` as given."""
    if isinstance(value, RawMap):
        out = bytearray(cbor.encode_head(cbor.MT_MAP, len(value.pairs)))
        for k, v in value.pairs:
            out += emit(k)
            out += emit(v)
        return bytes(out)
    if isinstance(value, dict):
        return emit(RawMap.ordered(list(value.items())))
    if isinstance(value, Wrapped):
        return cbor.bstr(emit(value.value))
    if isinstance(value, Tagged):
        return cbor.encode_head(cbor.MT_TAG, value.tag) + emit(value.value)
    if isinstance(value, (list, tuple)):
        out = bytearray(cbor.encode_head(cbor.MT_ARRAY, len(value)))
        for v in value:
            out += emit(v)
        return bytes(out)
    return cbor.dumps(value)
