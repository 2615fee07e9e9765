"""The FWD1 patch format: a bsdiff-style delta a microcontroller applies as it streams.

Layout (all integers little-endian; docs/delta.md has the reasoning and the figures):

    header   "FWD1" | source size u32 | target size u32
    body     instructions until the target is complete, then nothing:
      0x01 COPY   n        n source bytes from the source cursor; cursor += n
      0x02 ADD    n, d[n]  n bytes src[cursor + i] + d[i] (mod 256); cursor += n
      0x03 INSERT n, b[n]  n literal bytes; the cursor stays
      0x04 SEEK   z        cursor += zigzag-decoded z (may go back)

``n`` and ``z`` are unsigned LEB128 of at most 5 bytes, shortest form, value < 2**32;
``n`` >= 1. Every source read lies inside the source, the output never exceeds the
target size, and the body ends exactly when the target is complete. The differences
come from bsdiff4's suffix-sorting diff (its control, diff and extra blocks); the diff
block, mostly zeros on firmware, is split into COPY for runs of zeros and ADD for the
rest, which replaces a general-purpose decompressor with a few bytes of state.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from fwsign.errors import PatchError

MAGIC = b"FWD1"
#: The value of the delta-info's format field for this format.
FORMAT_FWD1 = 1
HEADER_BYTES = 12
OP_COPY, OP_ADD, OP_INSERT, OP_SEEK = 1, 2, 3, 4
#: A run of at least this many zero diff bytes becomes a COPY (a shorter one costs less
#: inside an ADD than as an instruction of its own).
ZERO_RUN = 4
_U32 = 0xFFFF_FFFF


@dataclass(frozen=True)
class PatchHeader:
    """The sizes a patch declares: the source it applies to and the image it makes."""

    source_size: int
    target_size: int


def _uleb(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _op(code: int, n: int) -> bytes:
    return bytes([code]) + _uleb(n)


def _decode_offtin(b: bytes) -> int:
    v = int.from_bytes(b[:7] + bytes([b[7] & 0x7F]), "little")
    return -v if b[7] & 0x80 else v


def _encode_add(out: bytearray, diff: bytes) -> None:
    """COPY for runs of ZERO_RUN or more zeros, ADD for everything between them."""
    i, n = 0, len(diff)
    while i < n:
        if diff[i] == 0:
            j = i
            while j < n and diff[j] == 0:
                j += 1
            if j - i >= ZERO_RUN or j == n or i == 0:
                out += _op(OP_COPY, j - i)
                i = j
                continue
        # an ADD up to the next run of ZERO_RUN zeros
        j = i
        while j < n:
            if diff[j] == 0:
                k = j
                while k < n and diff[k] == 0 and k - j < ZERO_RUN:
                    k += 1
                if k - j >= ZERO_RUN or k == n:
                    break
                j = k
            else:
                j += 1
        out += _op(OP_ADD, j - i) + diff[i:j]
        i = j


def make_patch(source: bytes, target: bytes) -> bytes:
    """A FWD1 patch that turns ``source`` into ``target`` (both at most 4 GiB - 1)."""
    import bsdiff4.core  # the diff itself; only the signing side needs it

    if len(source) > _U32 or len(target) > _U32:
        raise PatchError("source and target must each be smaller than 4 GiB")
    control, diff, extra = bsdiff4.core.diff(source, target)
    out = bytearray(MAGIC + struct.pack("<II", len(source), len(target)))
    doff = eoff = 0
    end = len(out)  # the end of the last instruction that makes output
    for k in range(0, len(control), 24):
        x = _decode_offtin(control[k : k + 8])
        y = _decode_offtin(control[k + 8 : k + 16])
        z = _decode_offtin(control[k + 16 : k + 24])
        if x:
            _encode_add(out, diff[doff : doff + x])
            doff += x
        if y:
            out += _op(OP_INSERT, y) + extra[eoff : eoff + y]
            eoff += y
        end = len(out)
        if z:
            out += _op(OP_SEEK, (z << 1) ^ (z >> 63) if z < 0 else z << 1)
    patch = bytes(out[:end])  # a seek after the last output would be trailing bytes
    if apply_patch(source, patch) != target:  # never ship a patch that does not round-trip
        raise PatchError("internal: the patch does not reproduce the target")
    return patch


def read_header(patch: bytes) -> PatchHeader:
    """The patch's declared sizes; ``PatchError`` if it has no FWD1 header."""
    if len(patch) < HEADER_BYTES:
        raise PatchError("patch is shorter than its 12-byte header", path="patch.header")
    if patch[:4] != MAGIC:
        raise PatchError("patch does not start with FWD1", path="patch.header")
    s, t = struct.unpack_from("<II", patch, 4)
    return PatchHeader(s, t)


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf = buf
        self.pos = pos

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            raise PatchError("patch ends inside an instruction", path=f"patch[{self.pos}]")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def uleb(self) -> int:
        at = self.pos
        v = 0
        for i in range(5):
            b = self.byte()
            v |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if (b == 0 and i > 0) or v > _U32:
                    raise PatchError("length is not a shortest-form 32-bit LEB128", path=f"patch[{at}]")
                return v
        raise PatchError("length is longer than 5 bytes", path=f"patch[{at}]")

    def take(self, n: int) -> bytes:
        if n > len(self.buf) - self.pos:
            raise PatchError("patch ends inside an instruction's data", path=f"patch[{self.pos}]")
        b = self.buf[self.pos : self.pos + n]
        self.pos += n
        return b


def apply_patch(source: bytes, patch: bytes, *, max_target: int = _U32) -> bytes:
    """Apply ``patch`` to ``source`` strictly (the rules of the module docstring).

    The declared source size must equal ``len(source)``; a target larger than
    ``max_target`` is refused before any output is made.
    """
    hdr = read_header(patch)
    if hdr.source_size != len(source):
        raise PatchError(f"patch is for a {hdr.source_size}-byte source, the source has {len(source)} bytes",
                         path="patch.header")
    if hdr.target_size > max_target:
        raise PatchError(f"patch makes {hdr.target_size} bytes, more than the {max_target} allowed",
                         path="patch.header")
    r = _Reader(patch, HEADER_BYTES)
    out = bytearray()
    cur = 0
    while len(out) < hdr.target_size:
        at = r.pos
        op = r.byte()
        n = r.uleb()
        if op == OP_SEEK:
            z = (n >> 1) ^ -(n & 1)
            if not 0 <= cur + z <= len(source):
                raise PatchError("seek leaves the source", path=f"patch[{at}]")
            cur += z
            continue
        if op not in (OP_COPY, OP_ADD, OP_INSERT):
            raise PatchError(f"unknown instruction {op}", path=f"patch[{at}]")
        if n == 0 or n > hdr.target_size - len(out):
            raise PatchError("instruction length is zero or runs past the target", path=f"patch[{at}]")
        if op == OP_INSERT:
            out += r.take(n)
            continue
        if n > len(source) - cur:
            raise PatchError("instruction reads past the end of the source", path=f"patch[{at}]")
        if op == OP_COPY:
            out += source[cur : cur + n]
        else:
            d = r.take(n)
            out += bytes((a + b) & 0xFF for a, b in zip(source[cur : cur + n], d, strict=True))
        cur += n
    if r.pos != len(patch):
        raise PatchError("bytes after the end of the target", path=f"patch[{r.pos}]")
    return bytes(out)
