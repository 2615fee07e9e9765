"""Explicit limits for parsing untrusted bytes, kept together in one object.

Every limit is checked before the memory it guards is allocated: a length header is
compared with the limit and with the bytes actually left before anything is sliced.
The defaults are generous for real manifests (the SUIT specification's examples are
161-923 bytes) and tight enough that a hostile envelope cannot cost more than a few
hundred kilobytes of work.

The values come from fwsign/model_tables.toml, the one source of the processing model's
limits (docs/processing-model.md section 10), through the generated ``fwsign._tables``;
bootloader-ref's defaults (``bootref_limits.h``) are generated from the same source.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from fwsign import _tables


@dataclass(frozen=True)
class Limits:
    #: Whole envelope, including integrated payloads.
    max_envelope_bytes: int = _tables.MAX_ENVELOPE_BYTES
    #: Integrated payloads (envelope text keys such as "#firmware"), each.
    max_integrated_payload_bytes: int = _tables.MAX_INTEGRATED_PAYLOAD_BYTES
    #: Nesting depth of CBOR containers and of bstr-wrapped CBOR.
    max_depth: int = _tables.MAX_DEPTH
    #: Entries in one array or map.
    max_container_items: int = _tables.MAX_CONTAINER_ITEMS
    #: Components in the manifest's common section.
    max_components: int = _tables.MAX_COMPONENTS
    #: (label, argument) pairs in one command sequence.
    max_commands: int = _tables.MAX_COMMANDS
    #: One text or byte string (outside integrated payloads).
    max_string_bytes: int = _tables.MAX_STRING_BYTES
    #: Authentication blocks in the authentication wrapper.
    max_auth_blocks: int = _tables.MAX_AUTH_BLOCKS
    #: Nesting of try-each / run-sequence inside command sequences.
    max_sequence_depth: int = _tables.MAX_SEQUENCE_DEPTH
    #: Integers in one version (update management: parameter-version, set-version).
    max_version_parts: int = _tables.MAX_VERSION_PARTS

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"limit {f.name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS = Limits()

#: The reference bootloader's defaults (bootloader-ref/include/bootref_limits.h) as Limits;
#: a limit the device has no counterpart for keeps the host default. The Python verifier
#: runs with these to judge an envelope as the device would.
DEVICE_LIMITS = Limits(**_tables.DEVICE)
