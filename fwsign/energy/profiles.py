"""Device and link profiles: TOML data files in which every constant names its source.

A profile file is parsed strictly: unknown keys, missing constants, non-numeric or
negative values and constants without a ``source`` are refused with a
:class:`ProfileError` naming the file and the key. The model never uses a figure
whose provenance it cannot print.

A constant is an inline table::

    clock_hz = { value = 64e6, unit = "Hz", kind = "datasheet", source = "nRF52840 PS v1.8, ..." }

``kind`` says how much to trust it: ``published`` (a measurement or datasheet figure
quoted with its source), ``derived`` (arithmetic on a published figure, shown in the
source text), ``spec`` (from a standard), ``estimate`` (a range or scaling, not a
measurement), ``assumption`` (a modelling choice), ``measured`` (measured by this
project) and ``unchecked`` (a vendor datasheet figure not yet re-checked against the
current revision: check before relying on it).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError

KINDS = ("published", "derived", "spec", "estimate", "assumption", "measured", "unchecked")
#: Largest profile file read (a profile is a few kilobytes).
MAX_PROFILE_BYTES = 64 * 1024
#: Profile names: lower case, digits and dashes (they are command-line values).
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")

BUILTIN_DIR = Path(__file__).parent / "profiles"

#: Signature algorithms the model knows (bootloader-ref verifies both).
ALGORITHMS = ("p256", "ed25519")
#: SHA-256 implementations a device profile may list (cycles per byte).
SHA_IMPLS = ("c", "asm", "hw")
#: Processor cores with emulated instruction counts (benchmarks/emu).
CORES = ("cortex-m0plus", "cortex-m4", "cortex-m33")


class ProfileError(UsageError):
    """A profile is unknown, unreadable or malformed (exit code 2)."""

    reason = "profile-invalid"


@dataclass(frozen=True)
class Sourced:
    """One constant of the model with its unit and where it comes from."""

    value: float
    unit: str
    source: str
    kind: str = "published"

    def __post_init__(self) -> None:
        if not math.isfinite(self.value) or self.value < 0:
            raise ValueError(f"value must be a finite non-negative number, got {self.value!r}")
        if not self.source.strip():
            raise ValueError("every constant needs a source")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")


@dataclass(frozen=True)
class SigImpl:
    """Cycles of one signature verification with one library on one device."""

    alg: str
    library: str
    cycles: Sourced


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    title: str
    core: str
    clock_hz: Sourced
    voltage_v: Sourced
    cpu_current_a: Sourced
    #: Scales the core's calibrated CPI for this part (flash wait states not hidden by a cache).
    cpi_scale: Sourced
    flash_page_bytes: Sourced
    flash_page_erase_s: Sourced
    flash_write_unit_bytes: Sourced
    flash_write_unit_s: Sourced
    flash_current_a: Sourced
    #: SHA-256 cycles per byte by implementation ("c", "asm", "hw").
    sha256: tuple[tuple[str, Sourced], ...]
    verify: tuple[SigImpl, ...]
    path: str = ""

    def sha_impl(self, impl: str | None) -> tuple[str, Sourced]:
        """The named SHA-256 implementation, or the fastest one listed."""
        table = dict(self.sha256)
        if impl is None:
            return min(self.sha256, key=lambda kv: kv[1].value)
        if impl not in table:
            raise ProfileError(f"device {self.name} has no SHA-256 implementation {impl!r} (has: {', '.join(table)})")
        return impl, table[impl]

    def sig_impl(self, alg: str, library: str | None) -> SigImpl:
        """The named signature library for ``alg``, or the fastest one listed."""
        impls = [s for s in self.verify if s.alg == alg]
        if not impls:
            raise ProfileError(f"device {self.name} has no {alg} verification figure")
        if library is None:
            return min(impls, key=lambda s: s.cycles.value)
        for s in impls:
            if s.library == library:
                return s
        raise ProfileError(
            f"device {self.name} has no {alg} library {library!r} (has: {', '.join(s.library for s in impls)})"
        )

    def constants(self) -> list[tuple[str, Sourced]]:
        """Every constant with a dotted name, for listing and for the source check."""
        out: list[tuple[str, Sourced]] = [(f, getattr(self, f)) for f in _DEVICE_CONSTANTS]
        out += [(f"sha256.{k}", v) for k, v in self.sha256]
        out += [(f"verify.{s.alg}.{s.library}", s.cycles) for s in self.verify]
        return out


@dataclass(frozen=True)
class LinkProfile:
    name: str
    title: str
    #: Energy per byte on air (payload and per-packet overhead alike).
    energy_per_byte_j: Sourced
    #: Application bytes carried per packet.
    packet_payload_bytes: Sourced
    #: Bytes on air per packet beyond the application payload (headers, MIC, CRC).
    packet_overhead_bytes: Sourced
    #: Fixed energy per transfer (connection set-up...).
    per_transfer_j: Sourced
    path: str = ""

    def constants(self) -> list[tuple[str, Sourced]]:
        return [(f, getattr(self, f)) for f in _LINK_CONSTANTS]


_DEVICE_CONSTANTS = (
    "clock_hz", "voltage_v", "cpu_current_a", "cpi_scale", "flash_page_bytes", "flash_page_erase_s",
    "flash_write_unit_bytes", "flash_write_unit_s", "flash_current_a",
)
_LINK_CONSTANTS = ("energy_per_byte_j", "packet_payload_bytes", "packet_overhead_bytes", "per_transfer_j")
#: Constants that must be strictly positive (they divide or scale everything).
_POSITIVE = {"clock_hz", "voltage_v", "cpi_scale", "flash_page_bytes", "flash_write_unit_bytes", "packet_payload_bytes"}


# -- parsing -----------------------------------------------------------------------------


def _fail(where: str, msg: str) -> ProfileError:
    return ProfileError(f"{where}: {msg}")


def _name(where: str, value: object, what: str) -> str:
    if not isinstance(value, str) or not value or not set(value) <= _NAME_CHARS or len(value) > 64:
        raise _fail(where, f"{what} must be lower-case letters, digits and dashes, got {value!r}")
    return value


def _text(where: str, value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{what} must be a non-empty string")
    return value


def _keys(where: str, table: dict[str, Any], allowed: set[str], required: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _fail(where, f"unknown key {unknown[0]!r}")
    missing = sorted(required - set(table))
    if missing:
        raise _fail(where, f"missing {missing[0]!r}")


def parse_constant(where: str, raw: object, *, positive: bool = False) -> Sourced:
    """One ``{value, unit, source[, kind]}`` table; refuses a constant without a source."""
    if not isinstance(raw, dict):
        raise _fail(where, "a constant must be a table {value = ..., unit = ..., source = ...}")
    _keys(where, raw, {"value", "unit", "source", "kind", "note"}, {"value", "unit"})
    if "source" not in raw:
        raise _fail(where, "constant has no source")
    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"value must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise _fail(where, f"value must be {'positive' if positive else 'non-negative'} and finite, got {value!r}")
    unit = _text(where, raw["unit"], "unit")
    source = _text(where, raw["source"], "source")
    kind = raw.get("kind", "published")
    if kind not in KINDS:
        raise _fail(where, f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return Sourced(value, unit, source, kind)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise _fail(str(path), f"larger than {MAX_PROFILE_BYTES} bytes")
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(str(path), f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise _fail(str(path), "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(str(path), f"malformed TOML: {exc}") from None


def parse_device(data: dict[str, Any], where: str = "<device>") -> DeviceProfile:
    _keys(where, data, {"name", "title", "core", "constants", "sha256", "verify"},
          {"name", "title", "core", "constants", "sha256", "verify"})
    name = _name(where, data["name"], "name")
    title = _text(where, data["title"], "title")
    core = data["core"]
    if core not in CORES:
        raise _fail(where, f"core must be one of {', '.join(CORES)}, got {core!r}")
    consts = data["constants"]
    if not isinstance(consts, dict):
        raise _fail(where, "[constants] must be a table")
    _keys(f"{where}: constants", consts, set(_DEVICE_CONSTANTS), set(_DEVICE_CONSTANTS))
    values = {k: parse_constant(f"{where}: constants.{k}", consts[k], positive=k in _POSITIVE) for k in _DEVICE_CONSTANTS}
    sha = data["sha256"]
    if not isinstance(sha, dict) or not sha:
        raise _fail(where, "[sha256] must list at least one implementation")
    _keys(f"{where}: sha256", sha, set(SHA_IMPLS), set())
    sha_t = tuple((k, parse_constant(f"{where}: sha256.{k}", v, positive=True)) for k, v in sha.items())
    ver = data["verify"]
    if not isinstance(ver, dict) or not ver:
        raise _fail(where, "[verify] must list at least one algorithm")
    _keys(f"{where}: verify", ver, set(ALGORITHMS), set())
    impls: list[SigImpl] = []
    for alg, libs in ver.items():
        if not isinstance(libs, dict) or not libs:
            raise _fail(f"{where}: verify.{alg}", "must list at least one library")
        for lib, raw in libs.items():
            lw = f"{where}: verify.{alg}.{lib}"
            impls.append(SigImpl(alg, _name(lw, lib, "library name"), parse_constant(lw, raw, positive=True)))
    return DeviceProfile(name=name, title=title, core=core, sha256=sha_t, verify=tuple(impls), path=where, **values)


def parse_link(data: dict[str, Any], where: str = "<link>") -> LinkProfile:
    _keys(where, data, {"name", "title", "constants"}, {"name", "title", "constants"})
    name = _name(where, data["name"], "name")
    title = _text(where, data["title"], "title")
    consts = data["constants"]
    if not isinstance(consts, dict):
        raise _fail(where, "[constants] must be a table")
    _keys(f"{where}: constants", consts, set(_LINK_CONSTANTS), set(_LINK_CONSTANTS))
    values = {k: parse_constant(f"{where}: constants.{k}", consts[k], positive=k in _POSITIVE) for k in _LINK_CONSTANTS}
    return LinkProfile(name=name, title=title, path=where, **values)


def load_device(path: Path) -> DeviceProfile:
    return parse_device(_read_toml(path), str(path))


def load_link(path: Path) -> LinkProfile:
    return parse_link(_read_toml(path), str(path))


@dataclass(frozen=True)
class Catalog:
    """All profiles found: the built-in ones, then those of extra directories (which override)."""

    devices: tuple[DeviceProfile, ...]
    links: tuple[LinkProfile, ...]

    def device(self, name: str) -> DeviceProfile:
        for d in self.devices:
            if d.name == name:
                return d
        raise ProfileError(f"unknown device {name!r}; known: {', '.join(d.name for d in self.devices)}")

    def link(self, name: str) -> LinkProfile:
        for lk in self.links:
            if lk.name == name:
                return lk
        raise ProfileError(f"unknown link {name!r}; known: {', '.join(lk.name for lk in self.links)}")


def load_catalog(extra_dirs: tuple[Path, ...] = ()) -> Catalog:
    """Read ``devices/*.toml`` and ``links/*.toml`` under the built-in directory and each extra one.

    An extra directory may hold ``devices/`` and ``links/`` sub-directories or the TOML
    files directly (a file with a ``core`` key is a device, otherwise a link). A profile
    in an extra directory replaces a built-in one of the same name.
    """
    devices: dict[str, DeviceProfile] = {}
    links: dict[str, LinkProfile] = {}
    for p in sorted((BUILTIN_DIR / "devices").glob("*.toml")):
        d = load_device(p)
        devices[d.name] = d
    for p in sorted((BUILTIN_DIR / "links").glob("*.toml")):
        lk = load_link(p)
        links[lk.name] = lk
    for base in extra_dirs:
        if not base.is_dir():
            raise ProfileError(f"{base}: profile directory does not exist")
        for p in sorted((base / "devices").glob("*.toml")):
            d = load_device(p)
            devices[d.name] = d
        for p in sorted((base / "links").glob("*.toml")):
            lk = load_link(p)
            links[lk.name] = lk
        for p in sorted(base.glob("*.toml")):
            data = _read_toml(p)
            if "core" in data:
                d = parse_device(data, str(p))
                devices[d.name] = d
            else:
                lk = parse_link(data, str(p))
                links[lk.name] = lk
    return Catalog(tuple(devices.values()), tuple(links.values()))
