"""Update management rules a release asks the device to enforce (draft-ietf-suit-update-
management; docs/processing-model.md section 14): the version encoding of the draft's
section 4.4, version ranges, and the minimum battery derived from the energy model.

Pure functions over values; the builder turns :class:`UpdateRules` into commands.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import UsageError

#: Pre-release classes of the draft's version encoding (section 4.4): rc, beta, alpha.
_PRE_RELEASE = {"rc": -1, "beta": -2, "alpha": -3}
_OPERATORS = {">": 1, ">=": 2, "=": 3, "<=": 4, "<": 5}
_SEMVER = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-(rc|beta|alpha)(?:\.(\d+))?)?")

#: The margin on the energy an update costs that --min-battery adds by default: the
#: device keeps enough for the update to fail once and be retried in full (factor 2).
MIN_BATTERY_MARGIN = 1.0
#: A joule in mWh (1 mWh = 3.6 J).
J_PER_MWH = 3.6


def encode_version(text: str) -> tuple[int, ...]:
    """A semantic version as the draft encodes it: ``1.2.3`` -> (1, 2, 3), ``1.2-rc.3`` ->
    (1, 2, -1, 3); build metadata is not allowed (section 4.4)."""
    m = _SEMVER.fullmatch(text.strip())
    if m is None:
        raise UsageError(f"{text!r} is not a version such as 1.2.3 or 2.0.0-rc.1 (no build metadata)")
    major, minor, patch, pre, pre_n = m.groups()
    out = [int(major)] + [int(x) for x in (minor, patch) if x is not None]
    if pre is not None:
        out.append(_PRE_RELEASE[pre])
        if pre_n is not None:
            out.append(int(pre_n))
    if len(out) > 8:
        raise UsageError(f"{text!r} has more than 8 parts")
    return tuple(out)


def parse_version_range(text: str) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """``>=1.2.5,<2`` -> ((2, (1, 2, 5)), (5, (2,))): one version condition each."""
    out: list[tuple[int, tuple[int, ...]]] = []
    for item in text.split(","):
        item = item.strip()
        m = re.fullmatch(r"(>=|<=|>|<|=)\s*(\S+)", item)
        if m is None:
            raise UsageError(f"--version-range wants comparisons such as '>=1.2.5,<2' (operators > >= = <= <), "
                             f"got {item!r}")
        out.append((_OPERATORS[m.group(1)], encode_version(m.group(2))))
    if not out:
        raise UsageError("--version-range is empty")
    return tuple(out)


def min_battery_mwh(update_joules: float, margin: float = MIN_BATTERY_MARGIN) -> int:
    """The minimum battery, in whole mWh, for an update that costs ``update_joules``: the
    cost times (1 + margin), rounded up."""
    if update_joules < 0 or margin < 0:
        raise UsageError("energy and margin must be non-negative")
    return math.ceil(update_joules * (1.0 + margin) / J_PER_MWH)


@dataclass(frozen=True)
class UpdateRules:
    """What the update (install) sequence checks before it fetches (section 14.3, 14.4)."""

    #: condition-minimum-battery, mWh
    min_battery: int | None = None
    #: condition-use-before, seconds since the epoch
    use_before: int | None = None
    #: wait for, then check, the application's authorization at this priority
    authorization_priority: int | None = None
    #: one condition-version per (comparison, version)
    version_range: tuple[tuple[int, tuple[int, ...]], ...] = ()
    #: suit-set-version of the manifest
    set_version: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for value, what in ((self.min_battery, "--min-battery"), (self.use_before, "--use-before")):
            if value is not None and not 0 <= value < 1 << 64:
                raise UsageError(f"{what} must be a non-negative integer")
        if self.authorization_priority is not None and not -(1 << 63) <= self.authorization_priority < 1 << 63:
            raise UsageError("--requires-authorization: the priority must fit in 64 bits")

    @property
    def empty(self) -> bool:
        return (self.min_battery is None and self.use_before is None and self.authorization_priority is None
                and not self.version_range and self.set_version is None)
