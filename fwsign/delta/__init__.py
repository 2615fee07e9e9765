"""Delta updates: patches in the FWD1 format (docs/delta.md) and their strict reader."""

from fwsign.delta.patch import (
    FORMAT_FWD1,
    MAGIC,
    PatchHeader,
    apply_patch,
    make_patch,
    read_header,
)
from fwsign.errors import PatchError

__all__ = ["FORMAT_FWD1", "MAGIC", "PatchError", "PatchHeader", "apply_patch", "make_patch", "read_header"]
