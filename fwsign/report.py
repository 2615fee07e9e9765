"""SUIT reports (draft-ietf-suit-report): what a device did with a manifest, signed by the device.

A SUIT_Report names the manifest it is about (suit-reference: the manifest's reference
URI and digest), may carry a nonce, lists SUIT_Records (the commands whose reporting
policy asked for a record: root manifest, command sequence, offset, component, measured
properties) and system-property claims, and gives the result: ``true``, or the
reason a processing failed (an implementation's code, the record of the command that
failed, and one of the draft's interoperable reasons). A capability report may say what
the manifest processor supports. For transport it is the payload of a COSE_Sign1 (the
device's signing key) or a COSE_Mac0 (a key the device shares with its verifier).

This module is pure: bytes in, values or errors out. It builds reports
(:func:`build_report`), encodes and signs them (:func:`encode_report`,
:func:`sign_report`), and decodes them strictly with the limits of
``fwsign/model_tables.toml`` (:func:`decode_report`, :func:`decode_signed`,
:func:`verify_report`). How fwsign's reason codes map onto the draft's result fields
is one table, :data:`fwsign._tables.REPORT_REASONS` (docs/reports.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from . import _tables, cbor
from .cbor import FrozenMap
from .errors import DecodeError, FwsignError, LimitError, ReportReplayed, UnsupportedError, VerificationError
from .limits import Limits

if TYPE_CHECKING:
    from .keys import PublicKey, Signer

#: Limits of one report (fwsign/model_tables.toml; the device's are in bootref_limits.h).
MAX_REPORT_BYTES: Final = 8192
MAX_RECORDS: Final = 64
MAX_NONCE_BYTES: Final = 64

#: CBOR limits the report decoder applies besides the three above.
REPORT_LIMITS: Final = Limits(max_envelope_bytes=MAX_REPORT_BYTES, max_depth=8, max_container_items=MAX_RECORDS,
                              max_string_bytes=1024)

# SUIT_Report map keys.
NONCE: Final = 2
RECORDS: Final = 3
RESULT: Final = 4
RESULT_CODE: Final = 5
RESULT_RECORD: Final = 6
RESULT_REASON: Final = 7
CAPABILITY_REPORT: Final = 8
REFERENCE: Final = 99
_REPORT_KEYS: Final = frozenset({NONCE, RECORDS, RESULT, CAPABILITY_REPORT, REFERENCE})

#: system-property-claims: the component identifier's key.
SYSTEM_COMPONENT_ID: Final = 0

# SUIT_Capability_Report keys.
CAP_COMPONENTS: Final = 1
CAP_COMMANDS: Final = 2
CAP_PARAMETERS: Final = 3
CAP_ALGORITHMS: Final = 4
CAP_OPTIONAL: Final = {5: "envelope", 6: "manifest", 7: "common", 8: "text", 9: "text-component", 10: "dependency"}

#: Manifest keys a record's section names (draft: "top level" command sequences), plus
#: fwsign's two: 0 for a refusal before any command ran (the envelope itself) and 3
#: (suit-common) for a command of the shared sequence.
SECTION_ENVELOPE: Final = 0
SECTION_COMMON: Final = 3
SECTIONS: Final = {0: "envelope", 3: "common (shared sequence)", 7: "validate", 8: "load", 9: "invoke",
                   15: "dependency-resolution", 16: "payload-fetch", 18: "candidate-verification", 20: "install"}

DRAFT_REASONS: Final = _tables.DRAFT_REASONS
DRAFT_REASON_NAMES: Final = {v: k for k, v in DRAFT_REASONS.items()}
REPORT_REASONS: Final = _tables.REPORT_REASONS
#: suit-report-result-code -> fwsign reason code.
REASON_OF_CODE: Final = {number: reason for reason, (number, _draft) in REPORT_REASONS.items()}

SHA256: Final = -16
#: suit-report-reason-invoke-pending: the boot flow signs a boot report before it starts the image.
INVOKE_PENDING: Final = 12

#: What fwsign's device (bootloader-ref's boot flow) supports: one component (index 0,
#: any identifier); the commands and parameters of docs/processing-model.md; COSE
#: algorithms ES256, ESP256, EdDSA, Ed25519, HMAC 256/256 and the SHA-256 digest. The C
#: report says the same (src/report.c); tests compare the two.
DEVICE_COMMANDS: Final = (1, 2, 3, 5, 6, 12, 14, 15, 19, 20, 21, 23, 24, 32)
DEVICE_PARAMETERS: Final = (1, 2, 3, 5, 12, 13, 14, 18, 19, 21, 22, 24)
DEVICE_ALGORITHMS: Final = (-19, -16, -9, -8, -7, 5)


def _fail(message: str, path: str) -> DecodeError:
    return DecodeError(message, path=path)


@dataclass(frozen=True)
class Record:
    """A SUIT_Record: where in which manifest a command ran, on which component."""

    section: int
    offset: int
    component: int
    manifest_id: tuple[int, ...] = ()
    properties: tuple[tuple[int, object], ...] = ()

    def encode_value(self) -> list[object]:
        return [list(self.manifest_id), self.section, self.offset, self.component, dict(self.properties)]

    def as_dict(self) -> dict[str, object]:
        return {"manifest_id": list(self.manifest_id), "section": self.section,
                "section_name": SECTIONS.get(self.section, "?"), "offset": self.offset, "component": self.component,
                "properties": {str(k): _jsonable(v) for k, v in self.properties}}


@dataclass(frozen=True)
class SystemProperties:
    """system-property-claims: measured or asserted parameters of one component."""

    component_id: tuple[bytes, ...]
    parameters: tuple[tuple[int, object], ...]

    def encode_value(self) -> dict[int, object]:
        return {SYSTEM_COMPONENT_ID: list(self.component_id), **dict(self.parameters)}

    def as_dict(self) -> dict[str, object]:
        return {"component_id": [c.hex() for c in self.component_id],
                "parameters": {str(k): _jsonable(v) for k, v in self.parameters}}


@dataclass(frozen=True)
class Failure:
    """suit-report-result when processing failed: fwsign's code, the record, the draft's reason."""

    code: int
    record: Record
    reason: int

    @property
    def fwsign_reason(self) -> str:
        """fwsign's reason code for ``code`` ("unknown" for a code fwsign does not define);
        "invoke-pending" for the draft's invoke-pending (code 0): not a failure, the
        report was signed before the image started."""
        if self.reason == INVOKE_PENDING and self.code == 0:
            return "invoke-pending"
        return REASON_OF_CODE.get(self.code, "unknown")

    @property
    def draft_reason(self) -> str:
        return DRAFT_REASON_NAMES.get(self.reason, f"unknown-{self.reason}")


@dataclass(frozen=True)
class Capabilities:
    """SUIT_Capability_Report: the three mandatory lists, components, and optional lists."""

    components: tuple[tuple[bytes | bool, ...], ...]
    commands: tuple[int, ...]
    parameters: tuple[int, ...]
    algorithms: tuple[int, ...]
    optional: tuple[tuple[int, tuple[int, ...]], ...] = ()

    def encode_value(self) -> dict[int, object]:
        out: dict[int, object] = {CAP_COMPONENTS: [list(c) for c in self.components], CAP_COMMANDS: list(self.commands),
                                  CAP_PARAMETERS: list(self.parameters), CAP_ALGORITHMS: list(self.algorithms)}
        for k, v in self.optional:
            out[k] = list(v)
        return out

    def as_dict(self) -> dict[str, object]:
        return {"components": [[c.hex() if isinstance(c, bytes) else c for c in comp] for comp in self.components],
                "commands": list(self.commands), "parameters": list(self.parameters),
                "algorithms": list(self.algorithms),
                **{CAP_OPTIONAL.get(k, str(k)): list(v) for k, v in self.optional}}


#: The capability report of fwsign's device.
DEVICE_CAPABILITIES: Final = Capabilities(((True,),), DEVICE_COMMANDS, DEVICE_PARAMETERS, DEVICE_ALGORITHMS)


@dataclass(frozen=True)
class Report:
    """One SUIT_Report."""

    uri: str
    digest: bytes
    records: tuple[Record | SystemProperties, ...] = ()
    failure: Failure | None = None
    nonce: bytes | None = None
    capabilities: Capabilities | None = None
    digest_alg: int = SHA256

    @property
    def ok(self) -> bool:
        """Processing succeeded (``true``), or it verified and the image is about to start."""
        return self.failure is None or self.failure.fwsign_reason == "invoke-pending"

    @property
    def reason(self) -> str:
        """fwsign's reason code of the result ("ok" for success)."""
        return "ok" if self.failure is None else self.failure.fwsign_reason

    def as_dict(self) -> dict[str, object]:
        f = self.failure
        return {
            "reference": {"uri": self.uri, "digest": [self.digest_alg, self.digest.hex()]},
            "nonce": None if self.nonce is None else self.nonce.hex(),
            "records": [r.as_dict() for r in self.records],
            "result": True if f is None else {"code": f.code, "reason": f.fwsign_reason,
                                              "draft_reason": f.draft_reason, "draft_reason_value": f.reason,
                                              "record": f.record.as_dict()},
            "capabilities": None if self.capabilities is None else self.capabilities.as_dict(),
        }


def _jsonable(v: object) -> object:
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, tuple | list):
        return [_jsonable(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


# -- building ---------------------------------------------------------------------------


def failure_for(reason: str, record: Record | None = None) -> Failure:
    """The result of a refusal with fwsign reason ``reason`` (table REPORT_REASONS)."""
    try:
        number, draft = REPORT_REASONS[reason]
    except KeyError:
        raise VerificationError(f"reason {reason!r} has no SUIT report code (fwsign/model_tables.toml)",
                                reason="usage") from None
    return Failure(number, record or Record(SECTION_ENVELOPE, 0, 0), DRAFT_REASONS[draft])


def reference_uri(manifest: bytes) -> str:
    """The manifest's suit-reference-uri (key 4), or "" when it has none or does not decode."""
    try:
        value = cbor.loads(manifest)
    except FwsignError:
        return ""
    uri = value.get(4) if isinstance(value, FrozenMap) else None
    return uri if isinstance(uri, str) else ""


def build_report(envelope: bytes, reason: str = "ok", *, manifest: bytes | None = None,
                 record: Record | None = None, records: Iterable[Record | SystemProperties] = (),
                 nonce: bytes | None = None, capabilities: Capabilities | None = None) -> Report:
    """The report of one processing of ``envelope`` that ended with ``reason``.

    ``manifest``: the manifest bytes (the content of the envelope's manifest bstr), given
    once the envelope was authenticated; the reference then names the manifest (the
    SHA-256 of the bstr-wrapped manifest, as in the authentication wrapper, and its
    reference URI). Without it the reference is the SHA-256 of the envelope as
    received and an empty URI: a refused envelope is never taken at its word.
    """
    if manifest is not None:
        uri, digest = reference_uri(manifest), hashlib.sha256(cbor.bstr(manifest)).digest()
    else:
        uri, digest = "", hashlib.sha256(envelope).digest()
    failure = None if reason == "ok" else failure_for(reason, record)
    return Report(uri, digest, tuple(records), failure, nonce, capabilities)


def encode_report(report: Report) -> bytes:
    """The deterministic CBOR encoding of a SUIT_Report."""
    if report.nonce is not None and len(report.nonce) > MAX_NONCE_BYTES:
        raise LimitError(f"nonce is longer than {MAX_NONCE_BYTES} bytes", path="report.nonce")
    if len(report.records) > MAX_RECORDS:
        raise LimitError(f"more than {MAX_RECORDS} records", path="report.records")
    value: dict[int, object] = {
        REFERENCE: [report.uri, [report.digest_alg, report.digest]],
        RECORDS: [r.encode_value() for r in report.records],
        RESULT: True if report.failure is None else {
            RESULT_CODE: report.failure.code, RESULT_RECORD: report.failure.record.encode_value(),
            RESULT_REASON: report.failure.reason},
    }
    if report.nonce is not None:
        value[NONCE] = report.nonce
    if report.capabilities is not None:
        value[CAPABILITY_REPORT] = report.capabilities.encode_value()
    data = cbor.dumps(value)
    if len(data) > MAX_REPORT_BYTES:
        raise LimitError(f"report is {len(data)} bytes, more than {MAX_REPORT_BYTES}", path="report")
    return data


def sign_report(report: Report | bytes, signer: Signer) -> bytes:
    """The report as the payload of a COSE_Sign1 (or COSE_Mac0 for a MAC key)."""
    from .cose import MAC_ALGS, TAG_COSE_MAC0, TAG_COSE_SIGN1, assemble, protected_header, to_be_signed

    payload = report if isinstance(report, bytes) else encode_report(report)
    tag = TAG_COSE_MAC0 if signer.alg in MAC_ALGS else TAG_COSE_SIGN1
    protected = protected_header(signer.alg, signer.kid)
    return assemble(tag, protected, signer.sign(to_be_signed(tag, protected, payload)), payload=payload)


def check_reference(report: Report, envelope: bytes) -> None:
    """Raise unless ``report`` is about ``envelope``: the reference names its manifest
    (digest of the authentication wrapper, reference URI), or, for a refusal before the
    envelope authenticated, the envelope itself (docs/reports.md)."""
    from .suit.decode import decode_envelope_parts

    if report.digest == hashlib.sha256(envelope).digest() and report.uri == "" and not report.ok:
        return
    try:
        manifest = decode_envelope_parts(envelope).manifest_bytes
    except FwsignError:
        manifest = None
    if manifest is not None and report.digest == hashlib.sha256(cbor.bstr(manifest)).digest():
        if report.uri != reference_uri(manifest):
            raise VerificationError("the report's reference URI is not the manifest's", path="report.reference",
                                    reason="report-mismatch")
        return
    raise VerificationError("the report is about another manifest (reference digest differs)",
                            path="report.reference", reason="report-mismatch")


# -- decoding ---------------------------------------------------------------------------


def _uint(v: object, path: str) -> int:
    if type(v) is not int or v < 0:
        raise _fail(f"expected uint, found {type(v).__name__}", path)
    return v


def _int(v: object, path: str) -> int:
    if type(v) is not int:
        raise _fail(f"expected int, found {type(v).__name__}", path)
    return v


def _ints(v: object, path: str, *, non_empty: bool = True) -> tuple[int, ...]:
    if not isinstance(v, tuple) or (non_empty and not v):
        raise _fail("expected a non-empty array of ints" if non_empty else "expected an array of ints", path)
    return tuple(_int(x, f"{path}[{i}]") for i, x in enumerate(v))


def _params(m: FrozenMap, path: str, skip: int | None = None) -> tuple[tuple[int, object], ...]:
    out: list[tuple[int, object]] = []
    for k, v in m.items():
        if k == skip:
            continue
        out.append((_int(k, f"{path}.key"), v))
    return tuple(out)


def _record(v: object, path: str) -> Record:
    if not isinstance(v, tuple):
        raise _fail("expected SUIT_Record (array)", path)
    if len(v) != 5:
        raise _fail(f"SUIT_Record has {len(v)} elements, not 5", path)
    mid, section, offset, comp, props = v
    if not isinstance(mid, tuple):
        raise _fail("expected manifest id (array of uint)", f"{path}[0]")
    if not isinstance(props, FrozenMap):
        raise _fail("expected record properties (map)", f"{path}[4]")
    return Record(_int(section, f"{path}[1]"), _uint(offset, f"{path}[2]"), _uint(comp, f"{path}[3]"),
                  tuple(_uint(x, f"{path}[0][{i}]") for i, x in enumerate(mid)), _params(props, f"{path}[4]"))


def _system(v: FrozenMap, path: str) -> SystemProperties:
    cid = v.get(SYSTEM_COMPONENT_ID)
    if not isinstance(cid, tuple) or not all(type(c) is bytes for c in cid):
        raise _fail("system-property-claims need a component identifier (array of bstr)", f"{path}{{0}}")
    if len(v) < 2:
        raise _fail("system-property-claims carry at least one parameter", path)
    return SystemProperties(tuple(c for c in cid if type(c) is bytes), _params(v, path, SYSTEM_COMPONENT_ID))


def _capabilities(v: object, path: str) -> Capabilities:
    if not isinstance(v, FrozenMap):
        raise _fail("expected SUIT_Capability_Report (map)", path)
    for key in (CAP_COMPONENTS, CAP_COMMANDS, CAP_PARAMETERS, CAP_ALGORITHMS):
        if key not in v:
            raise _fail(f"capability report lacks key {key}", path)
    comps = v[CAP_COMPONENTS]
    if not isinstance(comps, tuple) or not comps:
        raise _fail("expected a non-empty array of component capabilities", f"{path}{{1}}")
    components: list[tuple[bytes | bool, ...]] = []
    for i, c in enumerate(comps):
        p = f"{path}{{1}}[{i}]"
        if not isinstance(c, tuple):
            raise _fail("expected a component capability (array)", p)
        for j, part in enumerate(c):
            last = j == len(c) - 1
            if not (type(part) is bytes or (part is True and last)):
                raise _fail("a component capability is bstrs, optionally ended by true", f"{p}[{j}]")
        components.append(tuple(c))  # type: ignore[arg-type]
    optional: list[tuple[int, tuple[int, ...]]] = []
    for k, val in v.items():
        if k in (CAP_COMPONENTS, CAP_COMMANDS, CAP_PARAMETERS, CAP_ALGORITHMS):
            continue
        if k in CAP_OPTIONAL:
            optional.append((k, _ints(val, f"{path}{{{k}}}")))
        else:
            raise UnsupportedError(f"capability report key {k!r} is not understood", path=path)
    return Capabilities(tuple(components), _ints(v[CAP_COMMANDS], f"{path}{{2}}"),
                        _ints(v[CAP_PARAMETERS], f"{path}{{3}}"), _ints(v[CAP_ALGORITHMS], f"{path}{{4}}"),
                        tuple(optional))


def decode_report(data: bytes, path: str = "report") -> Report:
    """Strictly decode a SUIT_Report: deterministic CBOR, the draft's shape, fwsign's limits.

    Unknown keys are refused (``unsupported``): an extension this decoder does not know
    could change what the report means.
    """
    if len(data) > MAX_REPORT_BYTES:
        raise LimitError(f"report is {len(data)} bytes, more than {MAX_REPORT_BYTES}", path=path)
    value = cbor.loads(data, REPORT_LIMITS, path=path)
    if not isinstance(value, FrozenMap):
        raise _fail("expected SUIT_Report (map)", path)
    for k in value:
        if k not in _REPORT_KEYS:
            raise UnsupportedError(f"SUIT_Report key {k!r} is not understood", path=path)
    for k in (REFERENCE, RECORDS, RESULT):
        if k not in value:
            raise _fail(f"SUIT_Report lacks key {k}", path)
    ref = value[REFERENCE]
    rpath = f"{path}.reference"
    if not (isinstance(ref, tuple) and len(ref) == 2):
        raise _fail("expected SUIT_Reference [uri, digest]", rpath)
    uri, digest = ref
    if not isinstance(uri, str):
        raise _fail("expected the manifest URI (tstr)", f"{rpath}[0]")
    if not (isinstance(digest, tuple) and len(digest) == 2 and type(digest[0]) is int and type(digest[1]) is bytes):
        raise _fail("expected SUIT_Digest [alg, bstr]", f"{rpath}[1]")
    if digest[0] != SHA256 or len(digest[1]) != 32:
        raise UnsupportedError(f"digest algorithm {digest[0]} with {len(digest[1])} bytes (fwsign reads SHA-256)",
                               path=f"{rpath}[1]")
    nonce = value.get(NONCE)
    if nonce is not None:
        if type(nonce) is not bytes:
            raise _fail("expected the nonce (bstr)", f"{path}.nonce")
        if len(nonce) > MAX_NONCE_BYTES:
            raise LimitError(f"nonce is longer than {MAX_NONCE_BYTES} bytes", path=f"{path}.nonce")
    recs = value[RECORDS]
    if not isinstance(recs, tuple):
        raise _fail("expected the records (array)", f"{path}.records")
    records: list[Record | SystemProperties] = []
    for i, r in enumerate(recs):
        p = f"{path}.records[{i}]"
        records.append(_system(r, p) if isinstance(r, FrozenMap) else _record(r, p))
    res = value[RESULT]
    failure: Failure | None = None
    if res is not True:
        p = f"{path}.result"
        if not isinstance(res, FrozenMap):
            raise _fail("expected the result: true or a map", p)
        if set(res) != {RESULT_CODE, RESULT_RECORD, RESULT_REASON}:
            raise _fail("the result map has exactly the keys 5 (code), 6 (record), 7 (reason)", p)
        reason = _uint(res[RESULT_REASON], f"{p}.reason")
        if reason not in DRAFT_REASON_NAMES:
            raise UnsupportedError(f"result reason {reason} is not one of the draft's", path=f"{p}.reason")
        failure = Failure(_int(res[RESULT_CODE], f"{p}.code"), _record(res[RESULT_RECORD], f"{p}.record"), reason)
    caps = value.get(CAPABILITY_REPORT)
    return Report(uri, digest[1], tuple(records), failure, nonce,
                  None if caps is None else _capabilities(caps, f"{path}.capabilities"))


@dataclass(frozen=True)
class SignedReport:
    """A decoded COSE_Sign1 / COSE_Mac0 carrying a SUIT_Report (not yet verified)."""

    cose_tag: int
    alg: int
    kid: bytes | None
    payload: bytes = field(repr=False)
    report: Report
    message: object = field(repr=False)


def decode_signed(data: bytes) -> SignedReport:
    """Strictly decode a signed report: the COSE container, then the SUIT_Report inside."""
    from .cose.messages import decode_cose

    if len(data) > MAX_REPORT_BYTES:
        raise LimitError(f"signed report is {len(data)} bytes, more than {MAX_REPORT_BYTES}", path="report")
    msg = decode_cose(data, REPORT_LIMITS, "report.cose", attached=True, string_limit=MAX_REPORT_BYTES)
    assert msg.payload is not None and msg.alg is not None
    return SignedReport(msg.cose_tag, msg.alg, msg.kid, msg.payload, decode_report(msg.payload), msg)


def replay_key(report: Report) -> bytes:
    """What a collector remembers of an accepted report to refuse it a second time: its
    nonce and the manifest it is about (one operation's reports share a nonce and name
    different manifests). Empty for a report without a nonce."""
    if report.nonce is None:
        return b""
    return hashlib.sha256(cbor.dumps([report.nonce, report.digest])).digest()


def verify_report(data: bytes, key: PublicKey, *, nonce: bytes | None = None,
                  seen: Collection[bytes] | None = None) -> SignedReport:
    """Decode and authenticate a signed report with the device's key; raise unless it verifies.

    ``nonce``: the challenge this report must answer. ``seen``: a replay guard, the
    :func:`replay_key` of every report already accepted; a report repeating one is a
    replay, and one without a nonce cannot be told from a replay. Without either, a
    report's freshness is not checked (only its authenticity).
    """
    from .cose import verify
    from .cose.messages import CoseMessage

    signed = decode_signed(data)
    assert isinstance(signed.message, CoseMessage)
    verify(signed.message, key, signed.payload)
    got = signed.report.nonce
    if nonce is not None and got != nonce:
        raise ReportReplayed("the report does not answer this nonce (stale or replayed)", path="report.nonce")
    if seen is not None and got is None:
        raise ReportReplayed("the report has no nonce, so a replay cannot be told apart", path="report.nonce")
    if seen is not None and replay_key(signed.report) in seen:
        raise ReportReplayed("a report with this nonce about this manifest was accepted before (replay)",
                             path="report.nonce")
    return signed


__all__ = [
    "DEVICE_CAPABILITIES",
    "MAX_NONCE_BYTES",
    "MAX_RECORDS",
    "MAX_REPORT_BYTES",
    "Capabilities",
    "Failure",
    "Record",
    "Report",
    "SignedReport",
    "SystemProperties",
    "build_report",
    "check_reference",
    "decode_report",
    "decode_signed",
    "encode_report",
    "failure_for",
    "reference_uri",
    "replay_key",
    "sign_report",
    "verify_report",
]
