"""Append-only, hash-chained audit log of signing and publishing actions, with a signed head.

The log is a text file of JSON lines, one record per action::

    {"action":"sign","artifact":"fw.suit","artifact_sha256":"...","key_ids":["..."],"manifest_digest":"...",
     "prev":"<sha256 of the previous line>","reason":null,"seq":1,"signers":["local"],"time":"2026-...Z"}

Each record carries its sequence number (from 1, no gaps) and the SHA-256 of the previous
record's exact line (64 zeros for the first), so editing, removing or reordering any
record breaks the chain at that record. The head, ``FILE.head``, states the last sequence
number and line hash and is signed (a COSE Sig_structure, RFC 9052 4.4) by the log's key, so
cutting records off the end, or rewriting the whole chain, is detected too when the
verifier knows the log's public key. The log's key is ``FWSIGN_AUDIT_KEY`` (any signer
spec) or a key generated beside the log on first use (``FILE.key.pem``, mode 0600); a
repository keeps it in ``DIR/keys/audit-log.pem``.

What this protects: after-the-fact edits by anyone without the log key, and accidental
loss. The signed head alone cannot show that the tail was cut off and an older head put
back (that head is genuinely signed), so a repository also *anchors* its log: every
snapshot it publishes carries the log's sequence number and line hash at that moment
(``"x-fwsign-audit-head"`` in the signed, version-numbered snapshot, which TUF's rollback
protection covers). :func:`verify_log` with that anchor refuses a log that ends before the
anchored record or whose anchored record differs. What it does not protect: records
written after the newest published snapshot (only the signed head covers those), and
someone holding both the log key and the snapshot key and rewriting both where no
verifier has seen a newer snapshot; verify against the published mirror with a
persistent cache (``fwsign audit verify --repo URL --cache DIR``) to rule that out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import AuditLogError, UsageError

GENESIS = "0" * 64
MAX_LINE = 64 * 1024
MAX_RECORDS = 10_000_000
FIELDS = ("action", "artifact", "artifact_sha256", "details", "key_ids", "manifest_digest", "prev", "reason", "seq",
          "signers", "time")
Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


@dataclass(frozen=True)
class Record:
    seq: int
    time: str
    action: str
    artifact: str | None
    artifact_sha256: str | None
    manifest_digest: str | None
    key_ids: tuple[str, ...]
    signers: tuple[str, ...]
    reason: str | None
    details: dict[str, Any]
    prev: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "action": self.action, "artifact": self.artifact,
                "artifact_sha256": self.artifact_sha256, "manifest_digest": self.manifest_digest,
                "key_ids": list(self.key_ids), "signers": list(self.signers), "reason": self.reason,
                "details": self.details, "prev": self.prev}


def _head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def default_key_path(path: Path) -> Path:
    return path.with_name(path.name + ".key.pem")


def _log_signer(key: str | Path | None, path: Path) -> Any:
    """The head signer: an explicit spec, FWSIGN_AUDIT_KEY, or a key generated beside the log."""
    from .keys import generate, private_pem, write_atomic
    from .signers import load_signer

    spec = key or os.environ.get("FWSIGN_AUDIT_KEY")
    if spec:
        return load_signer(spec)
    key_path = default_key_path(path)
    if not key_path.exists():
        write_atomic(key_path, private_pem(generate("ed25519")), mode=0o600)
    return load_signer(key_path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[Any]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(fd, "r+b", closefd=False) as fh:
            yield fh
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def append(
    path: Path,
    action: str,
    *,
    artifact: str | None = None,
    artifact_bytes: bytes | None = None,
    manifest_digest: str | None = None,
    key_ids: Sequence[str] = (),
    signers: Sequence[str] = (),
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    key: str | Path | None = None,
    now: Clock = utcnow,
) -> Record:
    """Append one record and re-sign the head. The log file is locked for the whole step."""
    path = Path(path)
    if reason is not None and ("\n" in reason or len(reason) > 1000):
        raise UsageError("the audit reason must be one line of at most 1000 characters")
    signer = _log_signer(key, path)
    with _locked(path) as fh:
        fh.seek(0)
        data = fh.read()
        last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1] if data.strip() else b""
        if last:
            try:
                prev_seq = int(json.loads(last)["seq"])
            except (ValueError, KeyError, TypeError):
                raise AuditLogError(f"{path}: the last record is malformed; run fwsign log verify") from None
            prev = line_hash(last)
        else:
            prev_seq, prev = 0, GENESIS
        rec = Record(
            seq=prev_seq + 1,
            time=now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            action=action,
            artifact=artifact,
            artifact_sha256=hashlib.sha256(artifact_bytes).hexdigest() if artifact_bytes is not None else None,
            manifest_digest=manifest_digest,
            key_ids=tuple(key_ids),
            signers=tuple(signers),
            reason=reason,
            details=dict(details or {}),
            prev=prev,
        )
        line = canonical(rec.as_dict())
        if data and not data.endswith(b"\n"):
            fh.write(b"\n")
        fh.write(line + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
        _write_head(path, rec.seq, line_hash(line), signer)
    return rec


def _head_payload(seq: int, digest: str) -> bytes:
    return canonical({"log-head": {"seq": seq, "hash": digest}})


def _write_head(path: Path, seq: int, digest: str, signer: Any) -> None:
    from . import cose
    from .keys import encode_cose_key, write_atomic
    from .signers import public_of_signer

    pub = public_of_signer(signer)
    if pub is None:
        raise UsageError("the audit log key must be an asymmetric signing key")
    protected = cose.protected_header(signer.alg, signer.kid)
    sig = signer.sign(cose.to_be_signed(18, protected, _head_payload(seq, digest)))
    head = {"seq": seq, "hash": digest, "alg": signer.alg, "kid": (signer.kid or b"").hex(), "signature": sig.hex(),
            "key": encode_cose_key(pub).hex()}
    write_atomic(_head_path(path), canonical(head) + b"\n")


# -- reading and verifying ------------------------------------------------------------------


def read_records(path: Path) -> list[tuple[bytes, Record]]:
    """Parse every line strictly (no chain checks): the raw line and its record."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read audit log {path}: {exc.strerror}") from None
    out: list[tuple[bytes, Record]] = []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if len(lines) > MAX_RECORDS:
        raise AuditLogError(f"{path} has more than {MAX_RECORDS} records")
    for i, line in enumerate(lines, start=1):
        out.append((line, _parse(line, i)))
    return out


def _parse(line: bytes, position: int) -> Record:
    where = f"record {position} (line {position})"
    if len(line) > MAX_LINE:
        raise AuditLogError(f"{where} is longer than {MAX_LINE} bytes")
    try:
        obj = json.loads(line)
    except ValueError:
        raise AuditLogError(f"{where} is not JSON: the log was edited or truncated") from None
    if not isinstance(obj, dict) or set(obj) != set(FIELDS):
        raise AuditLogError(f"{where} does not have the record fields: it was edited")
    if canonical(obj) != line:
        raise AuditLogError(f"{where} is not in canonical form: it was edited")
    try:
        return Record(int(obj["seq"]), str(obj["time"]), str(obj["action"]), obj["artifact"], obj["artifact_sha256"],
                      obj["manifest_digest"], tuple(obj["key_ids"]), tuple(obj["signers"]), obj["reason"],
                      dict(obj["details"]), str(obj["prev"]))
    except (TypeError, ValueError):
        raise AuditLogError(f"{where} has fields of the wrong type: it was edited") from None


def current_head(path: Path) -> tuple[int, str]:
    """The log's last sequence number and line hash right now ((0, GENESIS) for no log), read under its lock."""
    path = Path(path)
    if not path.exists():
        return 0, GENESIS
    with _locked(path) as fh:
        fh.seek(0)
        data = fh.read()
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1] if data.strip() else b""
    if not last:
        return 0, GENESIS
    try:
        return int(json.loads(last)["seq"]), line_hash(last)
    except (ValueError, KeyError, TypeError):
        raise AuditLogError(f"{path}: the last record is malformed; run fwsign audit verify") from None


@dataclass(frozen=True)
class Anchor:
    """A log head recorded in signed, version-numbered metadata: record ``seq`` has line hash ``hash``."""

    seq: int
    hash: str
    source: str  # what carried it, e.g. "snapshot v12"


@dataclass(frozen=True)
class LogReport:
    records: int
    head_kid: str
    head_key_pinned: bool
    anchor: Anchor | None = None

    def as_dict(self) -> dict[str, object]:
        return {"valid": True, "records": self.records, "head_kid": self.head_kid, "head_key_pinned": self.head_key_pinned,
                "anchored_records": self.anchor.seq if self.anchor else None,
                "anchor": self.anchor.source if self.anchor else None}


def _check_one_time_indices(records: Sequence[tuple[bytes, Record]]) -> None:
    """No HSS-LMS one-time index may appear twice (``details["hss-index"]``: kid -> index).

    Signers never reuse an index of one key file (fwsign.stateful), so a repeat means the
    key file was copied or restored and both copies signed: the key must be retired.
    """
    seen: dict[tuple[str, int], int] = {}
    for _line, rec in records:
        used = rec.details.get("hss-index") if isinstance(rec.details, dict) else None
        if not isinstance(used, dict):
            continue
        for kid, index in used.items():
            if not isinstance(index, int):
                continue
            first = seen.setdefault((str(kid), index), rec.seq)
            if first != rec.seq:
                raise AuditLogError(f"records {first} and {rec.seq}: HSS-LMS key {kid} used one-time index {index} twice; "
                                    "its key file was copied or restored. Retire the key (docs/keys.md section 7)",
                                    reason="key-state-invalid")


def verify_log(path: Path, trusted_key: Any | None = None, anchor: Anchor | None = None) -> LogReport:
    """Check the chain, the anchor and the signed head; raise AuditLogError naming the first bad record.

    ``trusted_key`` (a public key) pins the head's signer; without it the head is checked
    against the key it names, which shows consistency but not who wrote it. ``anchor``
    (from the repository's signed snapshot) catches a log cut short with an older, validly
    signed head put back.
    """
    from . import cose
    from .keys import decode_cose_key, key_id, verify_raw

    records = read_records(path)
    prev = GENESIS
    for i, (line, rec) in enumerate(records, start=1):
        if rec.seq != i:
            what = "removed" if rec.seq > i else "reordered or duplicated"
            raise AuditLogError(f"record {i}: expected sequence number {i}, found {rec.seq}: a record was {what}")
        if rec.prev != prev:
            raise AuditLogError(f"record {i - 1} was edited (record {i} no longer links to it)" if i > 1
                                else "record 1 was edited (it does not start the chain)")
        prev = line_hash(line)
    _check_one_time_indices(records)
    if anchor is not None and anchor.seq > 0:
        n = len(records)
        if anchor.seq > n:
            raise AuditLogError(f"the log was cut off: {anchor.source} anchors record {anchor.seq}, the log has {n}",
                                reason="audit-log-truncated")
        if line_hash(records[anchor.seq - 1][0]) != anchor.hash:
            raise AuditLogError(f"record {anchor.seq} differs from the one anchored in {anchor.source}: "
                                "the log was rewritten")
    head_file = _head_path(path)
    try:
        head = json.loads(head_file.read_bytes())
        seq, digest = int(head["seq"]), str(head["hash"])
        alg, kid = int(head["alg"]), bytes.fromhex(head["kid"])
        sig, key_bytes = bytes.fromhex(head["signature"]), bytes.fromhex(head["key"])
    except OSError:
        raise AuditLogError(f"the signed head {head_file} is missing") from None
    except (ValueError, KeyError, TypeError):
        raise AuditLogError(f"the signed head {head_file} is malformed") from None
    pub = trusted_key if trusted_key is not None else decode_cose_key(key_bytes)
    protected = cose.protected_header(alg, kid or None)
    if not verify_raw(pub, alg, cose.to_be_signed(18, protected, _head_payload(seq, digest)), sig):
        raise AuditLogError("the log head's signature does not verify" + (" with the given key" if trusted_key is not None else ""))
    n = len(records)
    if seq > n:
        raise AuditLogError(f"record {n + 1} and later were removed (the signed head covers {seq} records, the log has {n})")
    if seq < n:
        raise AuditLogError(f"record {seq + 1} was appended without updating the signed head")
    if n and digest != prev:
        raise AuditLogError(f"record {n} was edited (it does not match the signed head)")
    return LogReport(n, key_id(pub).hex(), trusted_key is not None, anchor)
