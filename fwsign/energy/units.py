"""Byte sizes as people write them: ``256KiB``, ``1 MiB``, ``4096``, ``64kB``."""

from __future__ import annotations

import re

from ..errors import UsageError

_UNITS = {
    "": 1, "b": 1,
    "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
    "k": 1 << 10, "m": 1 << 20, "g": 1 << 30,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3,
}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)")
#: Largest image the model accepts (beyond any microcontroller's flash).
MAX_SIZE = 1 << 30


def parse_size(text: str) -> int:
    """Bytes in ``text``; binary units (KiB, MiB, GiB, or K/M/G), SI units (kB, MB, GB)."""
    m = _SIZE.fullmatch(text.strip())
    unit = m.group(2).lower() if m else ""
    if m is None or unit not in _UNITS:
        raise UsageError(f"bad size {text!r}: use a number with an optional unit, e.g. 256KiB, 1MiB, 4096")
    value = float(m.group(1)) * _UNITS[unit]
    if value != int(value) or not 1 <= value <= MAX_SIZE:
        raise UsageError(f"bad size {text!r}: must be a whole number of bytes from 1 B to 1 GiB")
    return int(value)


def format_size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"
