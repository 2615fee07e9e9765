"""Verify an envelope with the device's own C verifier (``fwsign verify --engine bootref``).

A gateway or a release pipeline can check an envelope with exactly the code a device
runs: ``bootloader-ref``'s verifier and interpreter, in host mode (conditions whose input
is not given are skipped, directives are reported, not executed), through the host library
that the simulated device loads. Both engines follow docs/processing-model.md and give the
same verdict and reason; this one reports the C verifier's own progress events as the
report's checks.

What the C verifier is given: the trusted keys (P-256, Ed25519, HMAC, HSS-LMS or ML-DSA, each
with fwsign's key id), the algorithms that must each have a verified signature (a hybrid
policy's "all of these algorithms" rule), the expected vendor and class ids, the anti-rollback minimum as its counter,
component 0's image, decryption keys, and the time for delegations. What it cannot take is
refused up front as a usage error: k-of-n thresholds, an algorithm allow-list, another
component than 0, a slot, and host limits other than the device's compiled ones.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..cose.algs import PQ_KINDS
from ..errors import (
    DecodeError,
    FwsignError,
    LimitError,
    UnsupportedError,
    UsageError,
    VerificationError,
)
from ..keys import SymmetricKey, encode_cose_key, public_pem
from ..suit.model import Envelope
from ..verify import Check, Policy, Report
from . import lib

_STATUS = {lib.EV_OK: True, lib.EV_SKIPPED: None, lib.EV_NOT_EXECUTED: None, lib.EV_FAILED: False}
#: Reasons whose errors are structure errors in the Python engine (exit code and class).
_STRUCTURE = {"malformed": DecodeError, "truncated": DecodeError, "limit-exceeded": LimitError,
              "unsupported": UnsupportedError}


def _refuse_unsupported(policy: Policy) -> None:
    if policy.threshold != 1:
        raise UsageError("--engine bootref verifies like a device: one trusted signature (no --threshold/k of n)")
    if policy.allowed_algs is not None:
        raise UsageError("--engine bootref has no algorithm allow-list (a --policy with algorithms)")
    if policy.component != 0:
        raise UsageError("--engine bootref checks component 0's image only (no --component)")
    if policy.slot is not None:
        raise UsageError("--engine bootref has no slot input (no --slot)")
    for k in policy.keys:
        if k.kind not in ("p256", "ed25519", "hmac", *PQ_KINDS):
            raise UsageError(f"--engine bootref accepts P-256, Ed25519, HMAC, HSS-LMS and ML-DSA keys, not {k.kind} ({k.label})")


def verify_with_bootref(data: bytes, policy: Policy, image: Path | None = None,
                        decrypt_keys: Sequence[Path] = ()) -> Report:
    """Verify ``data`` with bootloader-ref in host mode; never raises for a rejected envelope."""
    _refuse_unsupported(policy)
    with tempfile.TemporaryDirectory(prefix="fwsign-bootref-") as tmp, lib.HostPort() as host:
        for i, k in enumerate(policy.keys):
            path = Path(tmp) / f"key-{i}"
            if isinstance(k.key, SymmetricKey):
                # created 0600 in a 0700 directory, removed when verification ends
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(k.key.secret)
                host.add_hmac_file(path)
            elif k.kind in PQ_KINDS:
                path.write_bytes(encode_cose_key(k.key))
                host.add_key_file(path)
            else:
                path.write_bytes(public_pem(k.key))
                host.add_pem(path)
        for alg in sorted(policy.required_algs or ()):
            host.require_alg(alg)
        for path in decrypt_keys:
            host.add_decrypt_key(path)
        host.set_identity(vendor=policy.vendor_id, class_=policy.class_id)
        host.set_counter(policy.min_sequence or 0)
        host.set_time(policy.now)
        if image is not None:
            host.set_image(image)
        code, events = lib.Verifier(host).check_events(data)
    checks = tuple(Check(_name(e), _STATUS.get(e.status, False), _detail(e)) for e in events)
    if code == 0:
        return Report(checks, _envelope_of(data, policy), None, None)
    reason = lib.reason(code)
    failed = next((e for e in reversed(events) if e.status == lib.EV_FAILED), None)
    where = f" at {_name(failed)}" if failed is not None else ""
    cls = _STRUCTURE.get(reason, VerificationError)
    error: FwsignError = cls(f"{lib.err_name(code)}{where}", reason=reason)
    checks = (*checks, Check("bootref", False, error.describe(), reason))
    return Report(checks, _envelope_of(data, policy), None, error)


def _name(e: lib.Event) -> str:
    return e.what.replace("condition ", "").replace("directive ", "")


_SEQUENCE_NAMES = {16: "payload-fetch", 20: "install", 7: "validate", 8: "load", 9: "invoke", 23: "text"}


def _detail(e: lib.Event) -> str:
    parts = [e.note] if e.note else []
    if e.what == "authentication":
        parts.append(f"trusted key {e.component + 1}" if e.component >= 0 else "")
    elif e.what in ("sequence", "severed-member"):
        parts.append(_SEQUENCE_NAMES.get(e.value, str(e.value)))
    elif e.component >= 0:
        parts.append(f"component {e.component}")
    return ", ".join(p for p in parts if p) or e.what


def _envelope_of(data: bytes, policy: Policy) -> Envelope | None:
    """The envelope as the Python decoder reads it, for the report's sequence number and
    digest; None where it cannot be read."""
    from ..suit.decode import decode_envelope_parts, decode_manifest

    try:
        parts = decode_envelope_parts(data, policy.limits)
        return parts.with_manifest(decode_manifest(parts.manifest_bytes, policy.limits, lazy=True))
    except FwsignError:
        return None
