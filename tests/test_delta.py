"""The FWD1 patch format (fwsign.delta): round trips, the real firmware pair, and a
strict reader that refuses every malformed, truncated or mis-targeted patch."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwsign.delta import MAGIC, PatchError, apply_patch, make_patch, read_header

PAIR = Path(__file__).parent / "vectors" / "delta"


def _pair() -> tuple[bytes, bytes]:
    return (PAIR / "OLD.bin").read_bytes(), (PAIR / "NEW.bin").read_bytes()


def test_pair_matches_its_provenance() -> None:
    prov = json.loads((PAIR / "PROVENANCE.json").read_text())
    for name in ("OLD.bin", "NEW.bin"):
        data = (PAIR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == prov[name]["sha256"]
        assert len(data) == prov[name]["bytes"]


def test_real_firmware_pair_round_trips_and_is_small() -> None:
    old, new = _pair()
    patch = make_patch(old, new)
    assert apply_patch(old, patch) == new
    assert patch == (PAIR / "OLD-to-NEW.fwd1").read_bytes()  # the encoder is deterministic
    assert len(patch) < len(new) // 10


def test_stored_patch_applies() -> None:
    old, new = _pair()
    assert apply_patch(old, (PAIR / "OLD-to-NEW.fwd1").read_bytes()) == new


edits = st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 40), st.binary(max_size=40)), max_size=6)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.binary(max_size=2000), edits)
def test_round_trip_any_edit(source: bytes, changes: list[tuple[int, int, bytes]]) -> None:
    target = bytearray(source)
    for at, cut, ins in changes:
        at = min(at, len(target))
        target[at : at + cut] = ins
    patch = make_patch(source, bytes(target))
    assert read_header(patch).source_size == len(source)
    assert apply_patch(source, patch) == bytes(target)


def test_patch_for_another_source_size_is_refused() -> None:
    """A patch made for another release's image names that image's size."""
    old, new = _pair()
    with pytest.raises(PatchError, match="source"):
        apply_patch(old + b"\0", make_patch(old, new))


def test_every_truncation_is_refused() -> None:
    old, new = _pair()
    patch = make_patch(old, new)
    for n in range(len(patch)):
        with pytest.raises(PatchError):
            apply_patch(old, patch[:n])


def test_trailing_bytes_are_refused() -> None:
    old, new = _pair()
    with pytest.raises(PatchError, match="after the end"):
        apply_patch(old, make_patch(old, new) + b"\x01\x01")


def _hdr(src: int, tgt: int) -> bytes:
    return MAGIC + struct.pack("<II", src, tgt)


@pytest.mark.parametrize("body, why", [
    (b"\x05\x01", "unknown instruction"),
    (b"\x01\x00", "zero"),
    (b"\x01\x05", "past the target"),           # COPY more than the target holds
    (b"\x04\x02\x01\x04", "past the end of the source"),  # seek to 1, then copy 4 of 4
    (b"\x04\x0a", "seek leaves"),               # seek +5 in a 4-byte source
    (b"\x04\x01", "seek leaves"),               # seek -1 at 0
    (b"\x01\x82\x00", "shortest"),              # 2 encoded as two bytes
    (b"\x01\xff\xff\xff\xff\xff\x01", "longer than 5"),
    (b"\x01\xff\xff\xff\xff\x1f", "shortest-form 32-bit"),  # over 2**32 - 1
    (b"\x03\x04ab", "ends inside"),             # INSERT 4 with 2 bytes
])
def test_malformed_instructions_are_refused(body: bytes, why: str) -> None:
    with pytest.raises(PatchError, match=why):
        apply_patch(b"abcd", _hdr(4, 4) + body)


def test_bad_magic_and_oversized_target() -> None:
    with pytest.raises(PatchError, match="FWD1"):
        apply_patch(b"", b"BSDIFF40" + bytes(8))
    with pytest.raises(PatchError, match="allowed"):
        apply_patch(b"abcd", _hdr(4, 100) + b"\x03\x64" + bytes(100), max_target=99)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.data())
def test_mutated_patches_apply_or_raise_patch_error(data: st.DataObject) -> None:
    """Fuzz of the reader: any mutation either applies (to a result of the declared size)
    or is refused with PatchError, never another exception."""
    old, _new = _pair()
    patch = bytearray((PAIR / "OLD-to-NEW.fwd1").read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(patch) - 1))
        patch[i] = data.draw(st.integers(0, 255))
    try:
        out = apply_patch(old, bytes(patch), max_target=1 << 16)
    except PatchError:
        return
    assert len(out) == read_header(bytes(patch)).target_size
