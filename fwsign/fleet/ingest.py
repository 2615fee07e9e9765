"""Checking one posted report: pure, bytes and a registry entry in, a row or a refusal out.

The order is that of docs/reports.md: the device must be registered; the body is decoded
strictly (size, deterministic CBOR, the draft's shapes); the key id in its protected
header must be the one registered for the device the report is posted for (a report of
another device, or one re-signed with another key, is refused before any signature work);
the signature is checked with the registered key; the report must carry a nonce, and
its replay key (nonce + manifest) must not have been accepted before (the database's
unique index decides that atomically, see :meth:`Database.insert_reports`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from ..errors import FwsignError, LimitError, ReportReplayed, UnknownDevice, WrongDevice
from ..report import INVOKE_PENDING, MAX_REPORT_BYTES, Report, decode_signed, replay_key
from .db import DeviceRow, ReportRow

#: The media type of a COSE message (RFC 9052 section 11.2); reports are COSE_Sign1 or COSE_Mac0.
CONTENT_TYPE: Final = "application/cose"
MAX_BODY: Final = MAX_REPORT_BYTES

#: HTTP status of each refusal, by reason code.
STATUS: Final = {
    "unknown-device": 404,
    "wrong-device": 403,
    "signature-invalid": 403,
    "no-trusted-key": 403,
    "report-replayed": 409,
    "limit-exceeded": 413,
    "unsupported-media-type": 415,
    "database-unavailable": 503,
}


def status_of(exc: FwsignError) -> int:
    """The HTTP status for a refusal: the table above, else 400 (malformed, truncated, ...)."""
    return STATUS.get(exc.reason, 400)


def kind_of(report: Report) -> str:
    """``boot`` for a report the boot flow signed (an image about to start, or nothing to
    start), ``install`` otherwise."""
    f = report.failure
    if f is not None and ((f.reason == INVOKE_PENDING and f.code == 0) or f.fwsign_reason == "no-bootable-image"):
        return "boot"
    return "install"


@dataclass(frozen=True)
class Checked:
    row: ReportRow
    report: Report


def check(body: bytes, device_id: str, device: DeviceRow | None, key: object, now: int | None = None) -> Checked:
    """Authenticate ``body`` as a report of ``device_id``; raise a FwsignError naming the refusal."""
    from ..cose import verify
    from ..cose.messages import CoseMessage

    if device is None:
        raise UnknownDevice(f"device {device_id!r} is not registered (fwsign fleet register)")
    if len(body) > MAX_BODY:
        raise LimitError(f"report is {len(body)} bytes, more than {MAX_BODY}", path="report")
    signed = decode_signed(body)
    kid = (signed.kid or b"").hex()
    if kid != device.kid:
        raise WrongDevice(f"the report is signed with key {kid or '(none)'}, not device {device_id}'s key {device.kid}",
                          path="report.cose.protected")
    assert isinstance(signed.message, CoseMessage)
    verify(signed.message, key, signed.payload)  # type: ignore[arg-type]
    report = signed.report
    if report.nonce is None:
        raise ReportReplayed("the report has no nonce, so a replay cannot be told apart", path="report.nonce")
    row = ReportRow(device_id, int(time.time()) if now is None else now, replay_key(report).hex(), report.digest.hex(),
                    report.uri, kind_of(report), report.reason, body)
    return Checked(row, report)
