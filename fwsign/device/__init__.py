"""A simulated device that runs the C reference verifier and boot flow (``bootloader-ref``).

:mod:`fwsign.device.flash` models NOR flash (sectors, erase-before-write, write units,
wear, power-fail injection) and the monotonic counter; :mod:`fwsign.device.lib` binds the
C library with ctypes; :mod:`fwsign.device.device` puts them together and keeps a
device's state in a directory. See docs/device.md.
"""

from __future__ import annotations

from .device import (
    BootOutcome,
    Device,
    DeviceConfig,
    Geometry,
    SlotStatus,
    create,
    new_device,
    open_device,
    register_report_key,
    report_verification_key,
    save,
)
from .flash import Counter, Flash, FlashViolation, PowerLost

__all__ = [
    "BootOutcome", "Counter", "Device", "DeviceConfig", "Flash", "FlashViolation", "Geometry", "PowerLost",
    "SlotStatus", "create", "new_device", "open_device", "register_report_key", "report_verification_key", "save",
]
