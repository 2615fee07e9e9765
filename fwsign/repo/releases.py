"""Releases as TUF targets: verified SUIT envelopes, their payloads, the latest pointer, revocation.

Every envelope is verified with :func:`fwsign.verify.verify_envelope` before it enters the
repository (signature by the trusted SUIT keys, digest, severed members, the payload
against image-digest and image-size), so a repository never distributes what a device
would refuse. Its target entry carries custom metadata under ``"fwsign"``.

Every entry (release envelope ``<class-id>/<seq>.suit``, payload, latest pointer):

``type``            ``"suit-envelope"``, ``"suit-latest"`` or ``"payload"``
``sequence``        the manifest sequence number
``payload``         (envelope, latest) target path of the payload, or null

The latest pointer ``<class-id>/latest.suit``, the one entry a client reads, also has:

``vendor-id``       vendor UUID (component 0's vendor-identifier condition)
``class-id``        class UUID (component 0's class-identifier condition)
``component-ids``   each component id as a list of hex strings
``manifest-digest`` ``"<alg>:<hex>"`` of the manifest (the SUIT_Digest value)
``payload-length``, ``payload-sha256``  the payload's length and hash, as its own entry has
                    them, so a client finds everything it downloads in the one bin that
                    holds the latest pointer (the same role signs both entries)
``min-sequence``    revocation floor for the class
``releases``        sequence numbers of the class's releases
``envelope``        target path of the release envelope it points to

A release envelope's own entry stays small (its hash already pins the manifest): at 100k
releases the size of each entry is what a client's bin download is made of.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuf.api.metadata import TargetFile  # type: ignore[attr-defined]

from ..errors import RepoError, UsageError
from ..suit.codepoints import Command, DigestAlg, Parameter
from ..suit.decode import decode_envelope
from ..suit.model import Envelope
from ..verify import Policy, Report, TrustedKey, read_chunks, verify_envelope
from . import layout as L
from .repository import Repository
from .storage import Ingested

CUSTOM = "fwsign"


@dataclass(frozen=True)
class AddResult:
    envelope_path: str
    payload_path: str | None
    sequence: int
    class_id: str
    vendor_id: str
    latest: bool
    roles: tuple[str, ...]
    report: Report

    def as_dict(self) -> dict[str, object]:
        return {"envelope": self.envelope_path, "payload": self.payload_path, "sequence": self.sequence,
                "class_id": self.class_id, "vendor_id": self.vendor_id, "latest": self.latest,
                "roles": list(self.roles), "verification": self.report.as_dict()}


def fwsign_custom(tf: TargetFile | None) -> dict[str, Any]:
    if tf is None:
        return {}
    custom = tf.unrecognized_fields.get("custom")
    if not isinstance(custom, dict):
        return {}
    inner = custom.get(CUSTOM)
    return inner if isinstance(inner, dict) else {}


def _identity(report: Report, cond: Command, param: Parameter, what: str) -> bytes:
    assert report.analysis is not None
    values = {v for comp, v, _ in report.analysis.identifiers(cond, param) if comp == 0 and isinstance(v, bytes)}
    if len(values) != 1:
        raise RepoError(f"the envelope must name exactly one {what} for component 0 (found {len(values)}); "
                        "the repository files releases by class")
    return values.pop()


def add_release(repo: Repository, envelope: bytes, suit_keys: Sequence[TrustedKey], *, payload: Path | None = None,
                threshold: int = 1, policy: Policy | None = None, reason: str | None = None) -> AddResult:
    """Verify ``envelope`` (and ``payload``) and stage them as targets; call ``repo.save()`` after.

    ``policy`` (from a release policy file) replaces ``suit_keys``/``threshold``: the release
    is refused until the signatures its rule requires are on the envelope.
    """
    if not suit_keys and policy is None:
        raise UsageError("give the SUIT verification key(s) (--suit-key) the repository checks releases with")
    if payload is not None and not payload.is_file():
        raise UsageError(f"cannot read payload {payload}: no such file")
    # The payload is read once: copied into a private file while hashed. The verification
    # below, the target entry and the published file all use that copy.
    copy = repo.ingest(payload) if payload is not None else None
    try:
        return _add_verified(repo, envelope, suit_keys, copy, threshold, policy, reason)
    finally:
        if copy is not None:
            copy.discard()


def _add_verified(repo: Repository, envelope: bytes, suit_keys: Sequence[TrustedKey], copy: Ingested | None,
                  threshold: int, policy: Policy | None, reason: str | None) -> AddResult:
    report = verify_envelope(envelope, policy or Policy(keys=tuple(suit_keys), threshold=threshold),
                             read_chunks(copy.path) if copy is not None else None)
    if report.error is not None:
        raise report.error
    assert report.envelope is not None and report.analysis is not None
    image_check = next(c for c in report.checks if c.name == "image")
    if copy is None and image_check.ok is None and report.analysis.image_candidates(0):
        raise UsageError("the envelope names an image for component 0 that is not integrated; give it with --payload FILE")
    vendor_id = _identity(report, Command.CONDITION_VENDOR_IDENTIFIER, Parameter.VENDOR_IDENTIFIER, "vendor-id")
    class_id = _identity(report, Command.CONDITION_CLASS_IDENTIFIER, Parameter.CLASS_IDENTIFIER, "class-id")
    env = report.envelope
    seq = env.manifest.sequence_number
    env_path = L.envelope_path(class_id, seq)
    if repo.get_target(env_path) is not None:
        raise RepoError(f"release {seq} of class {L.class_dir(class_id)} is already in the repository ({env_path})")
    latest_tf = repo.get_target(L.latest_path(class_id))
    latest = fwsign_custom(latest_tf)
    floor = int(latest.get("min-sequence", 0))
    if seq < floor:
        raise RepoError(f"sequence {seq} is below the class's revocation floor {floor}")
    roles: list[str] = []
    pay_path: str | None = None
    pay_tf: TargetFile | None = None
    if copy is not None:
        pay_path = L.payload_path(class_id, copy.sha256)
        pay_tf = repo.store_file(pay_path, source=copy, custom={CUSTOM: {"type": "payload", "sequence": seq}})
        roles.append(repo.owner_of(pay_path))
    meta = _release_meta(env, vendor_id, class_id, pay_tf)
    repo.store_file(env_path, data=envelope, custom={CUSTOM: {"type": "suit-envelope", "sequence": seq, "payload": pay_path}})
    roles.append(repo.owner_of(env_path))
    releases = sorted({*latest.get("releases", []), seq})
    newest = latest_tf is None or seq > int(latest.get("sequence", -1))
    digest = env.auth.digest
    if newest:
        _point_latest(repo, class_id, envelope, meta, floor, releases)
    else:
        _update_latest_custom(repo, latest_tf, releases=releases)
    roles.append(repo.owner_of(L.latest_path(class_id)))
    repo.audit("add", artifact=env_path, artifact_bytes=envelope, manifest_digest=digest.value.hex(),
               key_ids=[b.message.kid.hex() for b in env.auth.blocks if b.message.kid],
               signers=["suit-verified" for b in env.auth.blocks if b.message.kid],
               reason=reason, details={"sequence": seq, "class-id": meta["class-id"], "payload": pay_path})
    return AddResult(env_path, pay_path, seq, meta["class-id"], meta["vendor-id"], newest, tuple(dict.fromkeys(roles)), report)


def _release_meta(env: Envelope, vendor_id: bytes, class_id: bytes, pay_tf: TargetFile | None) -> dict[str, Any]:
    """What the latest pointer says about the release it points to."""
    digest = env.auth.digest
    try:
        alg = DigestAlg(digest.alg).name.lower()
    except ValueError:
        alg = str(digest.alg)
    meta: dict[str, Any] = {
        "type": "suit-envelope",
        "vendor-id": str(uuid.UUID(bytes=vendor_id)),
        "class-id": L.class_dir(class_id),
        "sequence": env.manifest.sequence_number,
        "component-ids": [[part.hex() for part in cid] for cid in env.manifest.common.components],
        "manifest-digest": f"{alg}:{digest.value.hex()}",
        "payload": pay_tf.path if pay_tf is not None else None,
    }
    if pay_tf is not None:
        meta["payload-length"] = pay_tf.length
        meta["payload-sha256"] = pay_tf.hashes["sha256"]
    return meta


def _point_latest(repo: Repository, class_id: bytes, envelope: bytes, meta: dict[str, Any], floor: int,
                  releases: list[int]) -> None:
    latest_meta = {**meta, "type": "suit-latest", "min-sequence": floor, "releases": releases,
                   "envelope": L.envelope_path(class_id, int(meta["sequence"]))}
    repo.store_file(L.latest_path(class_id), data=envelope, custom={CUSTOM: latest_meta})


def _update_latest_custom(repo: Repository, tf: TargetFile | None, **changes: Any) -> None:
    assert tf is not None
    new = TargetFile(tf.length, dict(tf.hashes), tf.path, dict(tf.unrecognized_fields))
    custom = dict(fwsign_custom(tf))
    custom.update(changes)
    new.unrecognized_fields["custom"] = {CUSTOM: custom}
    repo.set_target(new)


def _class_of(path: str) -> bytes:
    head = path.split("/", 1)[0]
    try:
        return uuid.UUID(head).bytes
    except ValueError:
        raise RepoError(f"{path} is not a release path (<class-id>/...)") from None


def remove_target(repo: Repository, path: str, *, keep_payload: bool = False) -> list[str]:
    """Remove a target; for a release envelope also its payload and, if needed, re-point latest."""
    tf = repo.get_target(path)
    if tf is None:
        raise RepoError(f"target {path} is not in the repository")
    meta = fwsign_custom(tf)
    removed = [path]
    if meta.get("type") == "suit-latest":
        raise RepoError(f"{path} is the latest pointer; remove the release it points to ({meta.get('envelope')})")
    repo.delete_target(path)
    if meta.get("type") != "suit-envelope":
        return removed
    pay = meta.get("payload")
    if pay and not keep_payload and repo.get_target(pay) is not None:
        repo.delete_target(pay)
        removed.append(pay)
    class_id = _class_of(path)
    latest_tf = repo.get_target(L.latest_path(class_id))
    latest = fwsign_custom(latest_tf)
    remaining = [s for s in latest.get("releases", []) if s != meta.get("sequence")]
    if latest.get("sequence") != meta.get("sequence"):
        if latest_tf is not None:
            _update_latest_custom(repo, latest_tf, releases=remaining)
        return removed
    floor = int(latest.get("min-sequence", 0))
    candidates = [s for s in sorted(remaining, reverse=True) if s >= floor]
    for seq in candidates:
        prev = repo.get_target(L.envelope_path(class_id, seq))
        if prev is not None:
            data = repo.target_bytes(prev)
            pay = fwsign_custom(prev).get("payload")
            pay_tf = repo.get_target(pay) if isinstance(pay, str) else None
            vendor = uuid.UUID(str(latest["vendor-id"])).bytes
            _point_latest(repo, class_id, data, _release_meta(decode_envelope(data), vendor, class_id, pay_tf), floor,
                          remaining)
            return removed
    repo.delete_target(L.latest_path(class_id))
    removed.append(L.latest_path(class_id))
    return removed


def set_floor(repo: Repository, class_id: bytes, min_sequence: int) -> None:
    """Publish a revocation floor: clients of the class refuse releases below ``min_sequence``."""
    latest_tf = repo.get_target(L.latest_path(class_id))
    if latest_tf is None:
        raise RepoError(f"class {L.class_dir(class_id)} has no release in the repository")
    latest = fwsign_custom(latest_tf)
    if int(latest["sequence"]) < min_sequence:
        raise RepoError(f"the newest release of the class has sequence {latest['sequence']}, below the floor "
                        f"{min_sequence}; add a newer release first")
    _update_latest_custom(repo, latest_tf, **{"min-sequence": min_sequence})
