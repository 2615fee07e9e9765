"""Figures this project measured and ships as data: emulated instruction counts of
bootloader-ref per core, and the byte counts of the artifacts the three update modes
send (fwsign envelopes, imgtool's header and TLV trailer).

The file ``data/device_counts.json`` is written by ``benchmarks/emu/run.py`` (cross-build
bootloader-ref, run it under the unicorn emulator, sign with fwsign and imgtool) and read
here. It is parsed strictly: a missing or mistyped field is a :class:`ProfileError`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .profiles import ALGORITHMS, CORES, ProfileError

DEFAULT_PATH = Path(__file__).parent / "data" / "device_counts.json"
MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class EnvelopeCount:
    """Instructions bootloader-ref executes on one envelope, by phase (no image hashing)."""

    label: str
    envelope_bytes: int
    #: bootref_verify_envelope minus the SHA-256 and signature port calls: CBOR, envelope, COSE, policy.
    parse_instr: int
    #: SHA-256 port calls inside bootref_verify_envelope: manifest digest (and severed members).
    digest_instr: int
    #: bootref_run minus image reading and hashing: the command interpreter.
    interp_instr: int

    @property
    def parse_policy_instr(self) -> int:
        """Parse plus command interpretation: everything but hashing and the signature."""
        return self.parse_instr + self.interp_instr


@dataclass(frozen=True)
class CoreCount:
    core: str
    #: Estimated cycles per instruction, calibrated so that the emulated soft SHA-256
    #: matches the published software SHA-256 cycles/byte for this core.
    cpi: float
    cpi_note: str
    #: Emulated instructions per image byte of image-match (read + SHA-256), large-image slope.
    hash_instr_per_byte: float
    envelopes: tuple[EnvelopeCount, ...]

    def envelope(self, label: str) -> EnvelopeCount:
        for e in self.envelopes:
            if e.label == label:
                return e
        raise ProfileError(f"no emulated count for envelope {label!r} on {self.core}")


@dataclass(frozen=True)
class Measured:
    generated: str
    toolchain: str
    cores: tuple[CoreCount, ...]
    #: fwsign's signed single-image envelope, bytes, per algorithm (with key id).
    suit_envelope_bytes: tuple[tuple[str, int], ...]
    #: imgtool: (header bytes, TLV trailer bytes) per algorithm.
    imgtool: tuple[tuple[str, int, int], ...]
    path: str = ""

    def core(self, core: str) -> CoreCount:
        for c in self.cores:
            if c.core == core:
                return c
        raise ProfileError(f"{self.path}: no emulated counts for core {core!r}; rerun benchmarks/emu/run.py")

    def envelope_bytes(self, alg: str) -> int:
        table = dict(self.suit_envelope_bytes)
        if alg not in table:
            raise ProfileError(f"{self.path}: suit_envelope_bytes has no figure for {alg}")
        return table[alg]

    def imgtool_overhead(self, alg: str) -> tuple[int, int]:
        table = {a: (h, t) for a, h, t in self.imgtool}
        if alg not in table:
            raise ProfileError(f"{self.path}: imgtool has no figure for {alg}")
        return table[alg]


def _int(where: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ProfileError(f"{where}: expected a non-negative integer, got {v!r}")
    return v


def _float(where: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
        raise ProfileError(f"{where}: expected a positive number, got {v!r}")
    return float(v)


def _str(where: str, v: object) -> str:
    if not isinstance(v, str):
        raise ProfileError(f"{where}: expected a string, got {v!r}")
    return v


def _dict(where: str, v: object) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ProfileError(f"{where}: expected an object")
    return v


def parse_measured(data: object, where: str = "<measured>") -> Measured:
    d = _dict(where, data)
    cores: list[CoreCount] = []
    for name, raw in _dict(f"{where}: cores", d.get("cores")).items():
        w = f"{where}: cores.{name}"
        if name not in CORES:
            raise ProfileError(f"{w}: unknown core")
        c = _dict(w, raw)
        envs = tuple(
            EnvelopeCount(
                label=label,
                envelope_bytes=_int(f"{w}.envelopes.{label}.envelope_bytes", e.get("envelope_bytes")),
                parse_instr=_int(f"{w}.envelopes.{label}.parse_instr", e.get("parse_instr")),
                digest_instr=_int(f"{w}.envelopes.{label}.digest_instr", e.get("digest_instr")),
                interp_instr=_int(f"{w}.envelopes.{label}.interp_instr", e.get("interp_instr")),
            )
            for label, e in ((k, _dict(f"{w}.envelopes.{k}", v)) for k, v in _dict(f"{w}.envelopes", c.get("envelopes")).items())
        )
        cores.append(CoreCount(
            core=name, cpi=_float(f"{w}.cpi", c.get("cpi")), cpi_note=_str(f"{w}.cpi_note", c.get("cpi_note")),
            hash_instr_per_byte=_float(f"{w}.hash_instr_per_byte", c.get("hash_instr_per_byte")), envelopes=envs,
        ))
    sizes = _dict(f"{where}: suit_envelope_bytes", d.get("suit_envelope_bytes"))
    imgtool = _dict(f"{where}: imgtool", d.get("imgtool"))
    for alg in ALGORITHMS:
        if alg not in sizes or alg not in imgtool:
            raise ProfileError(f"{where}: no byte counts for {alg}")
    return Measured(
        generated=_str(f"{where}: generated", d.get("generated")),
        toolchain=_str(f"{where}: toolchain", d.get("toolchain")),
        cores=tuple(cores),
        suit_envelope_bytes=tuple((a, _int(f"{where}: suit_envelope_bytes.{a}", v)) for a, v in sizes.items()),
        imgtool=tuple(
            (a, _int(f"{where}: imgtool.{a}.header_bytes", _dict(f"{where}: imgtool.{a}", v).get("header_bytes")),
             _int(f"{where}: imgtool.{a}.tlv_bytes", v.get("tlv_bytes")))
            for a, v in imgtool.items()
        ),
        path=where,
    )


def load_measured(path: Path | None = None) -> Measured:
    p = path or DEFAULT_PATH
    try:
        if p.stat().st_size > MAX_BYTES:
            raise ProfileError(f"{p}: larger than {MAX_BYTES} bytes")
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{p}: cannot read measured counts: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(f"{p}: malformed JSON: {exc}") from None
    return parse_measured(data, str(p))
