"""SUIT and COSE code points.

Core values from draft-ietf-suit-manifest-34 (IANA "SUIT" registries); extension values
from draft-ietf-suit-trust-domains (TD), draft-ietf-suit-update-management (UM) and
draft-ietf-suit-firmware-encryption (ENC), listed so that the decoder can name them
when it refuses them. COSE values from RFC 9052/9053 and RFC 9864 (fully specified
algorithms), defined in :mod:`fwsign.cose` and re-exported here. Display names are the
spec's names, without the ``suit-`` prefix.
"""

from __future__ import annotations

from enum import IntEnum

# COSE code points live with COSE (fwsign.cose); they are named here too for the SUIT code.
from ..cose.algs import CoseAlg as CoseAlg
from ..cose.headers import CoseHeader as CoseHeader
from ..cose.messages import TAG_COSE_ENCRYPT as TAG_COSE_ENCRYPT
from ..cose.messages import TAG_COSE_MAC as TAG_COSE_MAC
from ..cose.messages import TAG_COSE_MAC0 as TAG_COSE_MAC0
from ..cose.messages import TAG_COSE_SIGN as TAG_COSE_SIGN
from ..cose.messages import TAG_COSE_SIGN1 as TAG_COSE_SIGN1

# CBOR tags.
TAG_ENVELOPE = 107
TAG_MANIFEST = 1070
TAG_PEN = 112

MANIFEST_VERSION = 1


_DISPLAY: dict[str, str] = {}


def display(member: IntEnum) -> str:
    """Spec-style name of a code point: ``CONDITION_VENDOR_IDENTIFIER`` -> ``condition-vendor-identifier``."""
    name: str = member._name_
    shown = _DISPLAY.get(name)
    if shown is None:
        shown = _DISPLAY[name] = name.lower().replace("_", "-")
    return shown


class EnvelopeKey(IntEnum):
    DELEGATION = 1  # TD
    AUTHENTICATION_WRAPPER = 2
    MANIFEST = 3
    COSWID = 14  # extension
    DEPENDENCY_RESOLUTION = 15  # TD
    PAYLOAD_FETCH = 16
    CANDIDATE_VERIFICATION = 18  # TD
    INSTALL = 20
    TEXT = 23


class ManifestKey(IntEnum):
    ENCODING_VERSION = 1
    SEQUENCE_NUMBER = 2
    COMMON = 3
    REFERENCE_URI = 4
    MANIFEST_COMPONENT_ID = 5  # TD
    SET_VERSION = 6  # UM
    VALIDATE = 7
    LOAD = 8
    INVOKE = 9
    COSWID = 14  # extension
    DEPENDENCY_RESOLUTION = 15  # TD
    PAYLOAD_FETCH = 16
    CANDIDATE_VERIFICATION = 18  # TD
    INSTALL = 20
    TEXT = 23
    UNINSTALL = 24  # TD


#: Members that may be severed: in the manifest either the bstr-wrapped value or the
#: SUIT_Digest of it; in the envelope the bstr-wrapped value (draft section 8.4.8).
SEVERABLE = frozenset(
    {
        ManifestKey.COSWID,
        ManifestKey.DEPENDENCY_RESOLUTION,
        ManifestKey.PAYLOAD_FETCH,
        ManifestKey.CANDIDATE_VERIFICATION,
        ManifestKey.INSTALL,
        ManifestKey.TEXT,
    }
)

#: Manifest members holding a command sequence, in the order a processor runs them.
SEQUENCE_MEMBERS = (
    ManifestKey.DEPENDENCY_RESOLUTION,
    ManifestKey.PAYLOAD_FETCH,
    ManifestKey.CANDIDATE_VERIFICATION,
    ManifestKey.INSTALL,
    ManifestKey.VALIDATE,
    ManifestKey.LOAD,
    ManifestKey.INVOKE,
    ManifestKey.UNINSTALL,
)

EXTENSION_MANIFEST_KEYS = frozenset(
    {
        ManifestKey.MANIFEST_COMPONENT_ID,
        ManifestKey.COSWID,
        ManifestKey.DEPENDENCY_RESOLUTION,
        ManifestKey.CANDIDATE_VERIFICATION,
        ManifestKey.UNINSTALL,
        ManifestKey.SET_VERSION,
    }
)


class CommonKey(IntEnum):
    DEPENDENCIES = 1  # moved to TD
    COMPONENTS = 2
    SHARED_SEQUENCE = 4


class Command(IntEnum):
    CONDITION_VENDOR_IDENTIFIER = 1
    CONDITION_CLASS_IDENTIFIER = 2
    CONDITION_IMAGE_MATCH = 3
    CONDITION_USE_BEFORE = 4  # UM
    CONDITION_COMPONENT_SLOT = 5
    CONDITION_CHECK_CONTENT = 6
    CONDITION_DEPENDENCY_INTEGRITY = 7  # TD
    CONDITION_IS_DEPENDENCY = 8  # TD
    DIRECTIVE_PROCESS_DEPENDENCY = 11  # TD
    DIRECTIVE_SET_COMPONENT_INDEX = 12
    CONDITION_ABORT = 14
    DIRECTIVE_TRY_EACH = 15
    DIRECTIVE_WRITE = 18
    DIRECTIVE_SET_PARAMETERS = 19  # TD
    DIRECTIVE_OVERRIDE_PARAMETERS = 20
    DIRECTIVE_FETCH = 21
    DIRECTIVE_COPY = 22
    DIRECTIVE_INVOKE = 23
    CONDITION_DEVICE_IDENTIFIER = 24
    CONDITION_IMAGE_NOT_MATCH = 25  # UM
    CONDITION_MINIMUM_BATTERY = 26  # UM
    CONDITION_UPDATE_AUTHORIZED = 27  # UM
    CONDITION_VERSION = 28  # UM
    DIRECTIVE_WAIT = 29  # UM
    DIRECTIVE_SWAP = 31
    DIRECTIVE_RUN_SEQUENCE = 32
    DIRECTIVE_UNLINK = 33  # TD
    DIRECTIVE_OVERRIDE_MULTIPLE = 34  # UM
    DIRECTIVE_COPY_PARAMS = 35  # UM


CORE_COMMANDS = frozenset(
    {
        Command.CONDITION_VENDOR_IDENTIFIER,
        Command.CONDITION_CLASS_IDENTIFIER,
        Command.CONDITION_IMAGE_MATCH,
        Command.CONDITION_COMPONENT_SLOT,
        Command.CONDITION_CHECK_CONTENT,
        Command.DIRECTIVE_SET_COMPONENT_INDEX,
        Command.CONDITION_ABORT,
        Command.DIRECTIVE_TRY_EACH,
        Command.DIRECTIVE_WRITE,
        Command.DIRECTIVE_OVERRIDE_PARAMETERS,
        Command.DIRECTIVE_FETCH,
        Command.DIRECTIVE_COPY,
        Command.DIRECTIVE_INVOKE,
        Command.CONDITION_DEVICE_IDENTIFIER,
        Command.DIRECTIVE_SWAP,
        Command.DIRECTIVE_RUN_SEQUENCE,
    }
)


def command_origin(code: int) -> str:
    """Which document defines a command: core, TD, UM, custom or unknown."""
    if code < 0:
        return "custom"
    try:
        cmd = Command(code)
    except ValueError:
        return "unknown"
    if cmd in CORE_COMMANDS:
        return "core"
    td = {7, 8, 11, 19, 33}
    return "trust-domains" if code in td else "update-management"


class Parameter(IntEnum):
    VENDOR_IDENTIFIER = 1
    CLASS_IDENTIFIER = 2
    IMAGE_DIGEST = 3
    USE_BEFORE = 4  # UM
    COMPONENT_SLOT = 5
    STRICT_ORDER = 12
    SOFT_FAILURE = 13
    IMAGE_SIZE = 14
    CONTENT = 18
    ENCRYPTION_INFO = 19  # ENC
    URI = 21
    SOURCE_COMPONENT = 22
    INVOKE_ARGS = 23
    DEVICE_IDENTIFIER = 24
    FETCH_ARGUMENTS = 25  # UM
    MINIMUM_BATTERY = 26  # UM
    UPDATE_PRIORITY = 27  # UM
    VERSION = 28  # UM
    WAIT_INFO = 29  # UM
    COMPONENT_METADATA = 30  # UM


class TextKey(IntEnum):
    MANIFEST_DESCRIPTION = 1
    UPDATE_DESCRIPTION = 2
    MANIFEST_JSON_SOURCE = 3
    MANIFEST_YAML_SOURCE = 4


class TextComponentKey(IntEnum):
    VENDOR_NAME = 1
    MODEL_NAME = 2
    VENDOR_DOMAIN = 3
    MODEL_INFO = 4
    COMPONENT_DESCRIPTION = 5
    COMPONENT_VERSION = 6
    VERSION_REQUIRED = 7


class DigestAlg(IntEnum):
    SHA256 = -16
    SHAKE128 = -18
    SHA384 = -43
    SHA512 = -44
    SHAKE256 = -45


class ReportingPolicy(IntEnum):
    """Bits of SUIT_Rep_Policy (draft section 8.4.7)."""

    RECORD_ON_SUCCESS = 1
    RECORD_ON_FAILURE = 2
    SYSINFO_SUCCESS = 4
    SYSINFO_FAILURE = 8


def name_of(enum: type[IntEnum], code: int) -> str:
    """Display name for a code, or ``unknown(N)`` / ``custom(N)``."""
    member = enum._value2member_map_.get(code)
    if member is None or type(code) is bool:
        return f"custom({code})" if code < 0 else f"unknown({code})"
    return display(member)  # type: ignore[arg-type]


#: fwsign's delta-info parameter (a custom, negative label: draft section 8.4.8 leaves
#: nint parameters to implementers): on a directive-fetch it makes the fetched payload a
#: patch against the component named by source-component (docs/delta.md).
FWSIGN_DELTA_INFO = -257


# -- update management (draft-ietf-suit-update-management-14) ---------------------------


class WaitEvent(IntEnum):
    """Keys of SUIT_Wait_Event (parameter wait-info), UM section 4.5."""

    AUTHORIZATION = 1
    POWER = 2
    NETWORK = 3
    OTHER_DEVICE_VERSION = 4
    TIME = 5
    TIME_OF_DAY = 6
    DAY_OF_WEEK = 7
    TIME_OF_DAY_UTC = 8
    DAY_OF_WEEK_UTC = 9


class VersionComparison(IntEnum):
    """SUIT_Condition_Version_Comparison_Types, UM section 4.4."""

    GREATER = 1
    GREATER_EQUAL = 2
    EQUAL = 3
    LESSER_EQUAL = 4
    LESSER = 5


#: Wait events the processors implement (docs/processing-model.md section 14.4); the
#: others are decoded and shown, and refused as unsupported when a wait runs.
SUPPORTED_WAIT_EVENTS = frozenset({int(WaitEvent.AUTHORIZATION), int(WaitEvent.POWER)})
