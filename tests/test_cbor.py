"""The strict CBOR layer: what it refuses, and that encode/decode round-trip."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fwsign.cbor import FrozenMap, Tag, dumps, encode_head, loads
from fwsign.errors import DecodeError, LimitError, TruncatedError
from fwsign.limits import Limits

from .cbor_reference import reference_loads


@pytest.mark.parametrize(
    ("hexdata", "error", "fragment"),
    [
        ("1817", DecodeError, "non-shortest"),          # 23 in a 1-byte argument
        ("190017", DecodeError, "non-shortest"),        # 23 in a 2-byte argument
        ("1a000000ff", DecodeError, "non-shortest"),
        ("5f4101ff", DecodeError, "indefinite"),        # indefinite bstr
        ("9fff", DecodeError, "indefinite"),
        ("bf01f5ff", DecodeError, "indefinite"),
        ("a2010201 03", DecodeError, "duplicate"),      # {1: 2, 1: 3}
        ("a202010102", DecodeError, "canonical order"),  # {2: 1, 1: 2}
        ("0102", DecodeError, "trailing"),
        ("43 0102", TruncatedError, "needs 3 bytes"),
        ("83 01 02", TruncatedError, "cannot fit"),
        ("f93c00", DecodeError, "floating-point"),
        ("f7", DecodeError, "simple value"),            # undefined
        ("1c", DecodeError, "reserved"),
        ("62 c328", DecodeError, "UTF-8"),
        ("a1 f5 01", DecodeError, "not allowed"),       # bool key
    ],
)
def test_strict_decoder_refuses_ambiguous_or_broken_encodings(hexdata: str, error: type, fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        loads(bytes.fromhex(hexdata.replace(" ", "")))


def test_length_is_checked_against_limit_before_allocation() -> None:
    # A header announcing 4 GiB must fail on the limit, not on a memory allocation.
    with pytest.raises(LimitError):
        loads(bytes.fromhex("5affffffff"), Limits(max_string_bytes=1024))
    with pytest.raises(LimitError):
        loads(bytes.fromhex("9bffffffffffffffff"))


def test_container_count_cannot_exceed_remaining_bytes() -> None:
    with pytest.raises(TruncatedError):
        loads(bytes.fromhex("98ff01"))


def test_nesting_depth_is_limited() -> None:
    deep = bytes([0x81] * 40) + b"\x00"
    with pytest.raises(LimitError, match="nesting"):
        loads(deep, Limits(max_depth=16))


def test_error_carries_the_path() -> None:
    with pytest.raises(DecodeError) as info:
        loads(bytes.fromhex("a101 82 01 f9 3c00"), path="x")
    assert "x{1}[1]" in info.value.describe()


def test_head_encoding_is_shortest() -> None:
    assert encode_head(0, 23) == b"\x17"
    assert encode_head(0, 24) == b"\x18\x18"
    assert encode_head(0, 256) == b"\x19\x01\x00"
    assert encode_head(0, 2**32) == b"\x1b\x00\x00\x00\x01\x00\x00\x00\x00"


def test_map_keys_are_sorted_by_encoded_bytes() -> None:
    assert dumps({-1: 0, 24: 0, 1: 0, "a": 0}) == bytes.fromhex("a4" "0100" "181800" "2000" "616100")


cbor_values = st.recursive(
    st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20)
    | st.booleans()
    | st.none(),
    lambda children: st.lists(children, max_size=5).map(tuple)
    | st.dictionaries(st.integers(-30, 30) | st.text(max_size=5), children, max_size=5).map(FrozenMap)
    | st.builds(Tag, st.integers(0, 2000), children),
    max_leaves=30,
)


@given(cbor_values)
def test_encode_then_decode_is_identity(value: object) -> None:
    data = dumps(value)
    assert loads(data) == value
    assert dumps(loads(data)) == data


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_typed_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        loads(data)


# -- the decoder agrees with the reference oracle (tests/cbor_reference.py) -------------


def _outcome(decode: object, data: bytes, limits: Limits, **kw: object) -> tuple[object, ...]:
    """The value, or the error's class, message and path: all of it must agree."""
    try:
        return ("value", decode(data, limits, **kw))  # type: ignore[operator]
    except DecodeError as exc:
        return ("error", type(exc).__name__, exc.message, exc.path, str(exc))


def _agree(data: bytes, limits: Limits, **kw: object) -> None:
    mine = _outcome(loads, data, limits, **kw)
    ref = _outcome(reference_loads, data, limits, **kw)
    assert mine == ref, (data.hex(), mine, ref)


SMALL_LIMITS = Limits(max_depth=4, max_container_items=8, max_string_bytes=16)


@given(cbor_values)
def test_decoder_decodes_valid_items_exactly_as_the_reference(value: object) -> None:
    data = dumps(value)
    assert _outcome(loads, data, Limits()) == _outcome(reference_loads, data, Limits()) == ("value", loads(data))


@given(st.binary(max_size=64))
def test_decoder_and_reference_agree_on_random_bytes(data: bytes) -> None:
    for limits in (Limits(), SMALL_LIMITS):
        _agree(data, limits)
        _agree(data, limits, path="manifest", require_canonical=False)


@given(cbor_values, st.data())
def test_decoder_and_reference_agree_on_mutated_encodings(value: object, draw: st.DataObject) -> None:
    data = bytearray(dumps(value))
    for _ in range(draw.draw(st.integers(1, 3))):
        op = draw.draw(st.sampled_from(["flip", "insert", "delete"]))
        at = draw.draw(st.integers(0, len(data)))
        if op == "insert":
            data.insert(at, draw.draw(st.integers(0, 255)))
        elif data and at < len(data):
            if op == "flip":
                data[at] = draw.draw(st.integers(0, 255))
            else:
                del data[at]
    for limits in (Limits(), SMALL_LIMITS):
        _agree(bytes(data), limits, path="envelope")
        _agree(bytes(data), limits, require_canonical=False, string_limit=8)


def test_decoder_reports_the_precise_error() -> None:
    # Trailing bytes, non-canonical key order, a duplicate key, a float and an over-deep
    # array: each refused with its own error, its path and its offset.
    for hexdata, fragment in (("01 01", "trailing"), ("a202010101", "canonical"), ("a201010101", "duplicate"),
                              ("f93c00", "floating"), ("8181818181818181818181818181818181 00", "deeper")):
        data = bytes.fromhex(hexdata.replace(" ", ""))
        with pytest.raises(DecodeError, match=fragment):
            loads(data)
    with pytest.raises(DecodeError) as info:
        loads(bytes.fromhex("a2 01 82 01 f9 3c00 02 00".replace(" ", "")), path="manifest")
    assert info.value.path == "manifest{1}[1]" and str(info.value).startswith("malformed at manifest{1}[1]")


