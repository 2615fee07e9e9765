"""Explicit limits for parsing untrusted bytes, kept together in one object.

Every limit is checked before the memory it guards is allocated: a length header is
compared with the limit and with the bytes actually left before anything is sliced.
The defaults are generous for real manifests (the SUIT specification's examples are
161-923 bytes) and tight enough that a hostile envelope cannot cost more than a few
hundred kilobytes of work.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Limits:
    #: Whole envelope, including integrated payloads.
    max_envelope_bytes: int = 1 << 20
    #: Integrated payloads (envelope text keys such as "#firmware"), each.
    max_integrated_payload_bytes: int = 1 << 20
    #: Nesting depth of CBOR containers and of bstr-wrapped CBOR.
    max_depth: int = 16
    #: Entries in one array or map.
    max_container_items: int = 256
    #: Components in the manifest's common section.
    max_components: int = 16
    #: (label, argument) pairs in one command sequence.
    max_commands: int = 64
    #: One text or byte string (outside integrated payloads).
    max_string_bytes: int = 64 * 1024
    #: Authentication blocks in the authentication wrapper.
    max_auth_blocks: int = 8
    #: Nesting of try-each / run-sequence inside command sequences.
    max_sequence_depth: int = 4

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"limit {f.name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS = Limits()
