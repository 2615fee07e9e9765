"""Device energy and cycle model for firmware updates.

Device and link profiles are TOML data files in which every constant carries its
source (``profiles/devices``, ``profiles/links``); instruction counts of the reference
verifier come from emulation (``data/device_counts.json``, written by
``benchmarks/emu/run.py``). :func:`update_cost` combines them into the energy of one
update per phase. Everything here is a pure function over frozen dataclasses; reading
files happens only in the ``load_*`` functions.
"""

from __future__ import annotations

from .measured import CoreCount, EnvelopeCount, Measured, load_measured, parse_measured
from .model import (
    MODES,
    OVERHEAD_TARGET,
    P256_REFERENCE,
    PARSE_TARGET,
    Phase,
    Scenario,
    TufRepo,
    UpdateCost,
    check_alg,
    cpu_energy,
    flash_erase_energy,
    flash_write_energy,
    radio_energy,
    update_cost,
    verify_seconds,
)
from .profiles import (
    Catalog,
    DeviceProfile,
    LinkProfile,
    ProfileError,
    SigImpl,
    Sourced,
    load_catalog,
    load_device,
    load_link,
    parse_device,
    parse_link,
)
from .units import format_size, parse_size

__all__ = [
    "MODES",
    "OVERHEAD_TARGET",
    "P256_REFERENCE",
    "PARSE_TARGET",
    "Catalog",
    "CoreCount",
    "DeviceProfile",
    "EnvelopeCount",
    "LinkProfile",
    "Measured",
    "Phase",
    "ProfileError",
    "Scenario",
    "SigImpl",
    "Sourced",
    "TufRepo",
    "UpdateCost",
    "check_alg",
    "cpu_energy",
    "flash_erase_energy",
    "flash_write_energy",
    "format_size",
    "load_catalog",
    "load_device",
    "load_link",
    "load_measured",
    "parse_device",
    "parse_link",
    "parse_measured",
    "parse_size",
    "radio_energy",
    "update_cost",
    "verify_seconds",
]
