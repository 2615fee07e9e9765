"""A NOR-flash model with power-fail injection, and the device's monotonic counter.

Semantics the C boot flow must respect (violations are recorded, not silently allowed):

* erase works on whole sectors and sets them to 0xFF;
* a write covers whole write units (``write_size``-aligned address and length) that were
  erased since they were last written: no location is programmed twice;
* every erase and write counts one flash operation; so does raising the counter.

Power-fail injection: with ``cut_after=N`` the first N operations complete and power is
lost before operation N+1. With ``torn=True`` that operation is left half done (the first
half of its write units programmed, or the first half of its sector erased), as a real
part may leave it. After the cut every operation fails; the C code sees port errors and
stops, and the state the flash holds is what the next boot finds.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class PowerLost(Exception):
    """Raised inside a flash callback once the injected power cut has happened."""


class FlashViolation(Exception):
    """The code under test broke a flash rule (misaligned, not erased, out of range)."""


@dataclass
class Flash:
    size: int
    sector_size: int
    write_size: int
    data: bytearray = field(default_factory=bytearray)
    wear: list[int] = field(default_factory=list)
    #: ``written[i]`` is True when write unit i has been programmed since its last erase.
    written: bytearray = field(default_factory=bytearray)
    ops: int = 0
    cut_after: int | None = None
    torn: bool = False
    powered: bool = True
    violations: list[str] = field(default_factory=list)
    reads: int = 0

    def __post_init__(self) -> None:
        if self.size % self.sector_size or self.sector_size % self.write_size:
            raise ValueError("flash size must be whole sectors, sectors whole write units")
        if not self.data:
            self.data = bytearray(b"\xff" * self.size)
        if not self.wear:
            self.wear = [0] * (self.size // self.sector_size)
        if not self.written:
            self.written = bytearray(
                0 if all(b == 0xFF for b in self.data[i:i + self.write_size]) else 1
                for i in range(0, self.size, self.write_size)
            )

    # -- power -------------------------------------------------------------------------

    def _begin(self) -> bool:
        """Account one operation; False if power fails before it (torn: partly done)."""
        if not self.powered:
            raise PowerLost("no power")
        if self.cut_after is not None and self.ops >= self.cut_after:
            self.powered = False
            return False
        self.ops += 1
        return True

    def cut_now(self) -> None:
        self.powered = False

    # -- operations --------------------------------------------------------------------

    def read(self, addr: int, length: int) -> bytes:
        if not self.powered:
            raise PowerLost("no power")
        if addr < 0 or length < 0 or addr + length > self.size:
            self._violate(f"read {addr:#x}+{length} outside the flash")
        self.reads += 1
        return bytes(self.data[addr:addr + length])

    def erase(self, addr: int) -> None:
        if addr % self.sector_size or not 0 <= addr < self.size:
            self._violate(f"erase at {addr:#x}: not a sector start")
        complete = self._begin()
        sector = addr // self.sector_size
        end = addr + (self.sector_size if complete or not self.torn else self.sector_size // 2)
        if complete or self.torn:
            self.data[addr:end] = b"\xff" * (end - addr)
            ws = self.write_size
            self.written[addr // ws:end // ws] = bytes((end - addr) // ws)
            self.wear[sector] += 1
        if not complete:
            raise PowerLost(f"power cut during erase of sector {sector}")

    def write(self, addr: int, data: bytes) -> None:
        ws = self.write_size
        if addr % ws or len(data) % ws or not data:
            self._violate(f"write {addr:#x}+{len(data)}: not whole {ws}-byte write units")
        if addr < 0 or addr + len(data) > self.size:
            self._violate(f"write {addr:#x}+{len(data)} outside the flash")
        first = addr // ws
        units = len(data) // ws
        if any(self.written[first:first + units]):
            self._violate(f"write {addr:#x}+{len(data)}: location programmed twice without an erase")
        complete = self._begin()
        if not complete and not self.torn:
            raise PowerLost(f"power cut before write at {addr:#x}")
        n = units if complete else units // 2
        self.data[addr:addr + n * ws] = data[:n * ws]
        self.written[first:first + n] = b"\x01" * n
        if not complete:
            raise PowerLost(f"power cut during write at {addr:#x}")

    def _violate(self, what: str) -> None:
        self.violations.append(what)
        raise FlashViolation(what)

    def snapshot(self) -> Flash:
        """An independent copy (same contents, wear and rules), powered, no cut scheduled."""
        return Flash(self.size, self.sector_size, self.write_size, bytearray(self.data), list(self.wear),
                     bytearray(self.written), ops=self.ops)


@dataclass
class Counter:
    """Monotonic counter storage (OTP / RPMB / secure element): it only ever goes up."""

    value: int = 0

    def advance(self, flash: Flash, value: int) -> None:
        """Raise to ``value``; counts as one operation on the same power rail as the flash."""
        complete = flash._begin()
        if not complete:
            raise PowerLost("power cut before the counter write")
        self.value = max(self.value, value)
