"""Delta releases in the repository (docs/delta.md): patches to the newest release from the
last N releases, next to its full image.

A delta release is its own signed envelope (the same sequence number as the full release,
an install sequence that checks the source image and fetches the patch) and a patch. The
repository checks both before it stages them: the envelope verifies with the class's SUIT
keys, is for the newest release of its class, and names as its source the image of one of
the ``keep`` releases before it; the patch is the one its delta-info names (size and
SHA-256) and applies to that image into the image the full release carries. The latest
pointer's signed custom metadata then lists the patches by source digest, so a client that
knows the image it runs picks its patch without another metadata round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RepoError, UsageError
from ..suit.codepoints import Command, Parameter
from ..verify import Policy, TrustedKey, verify_envelope
from . import layout as L
from .releases import CUSTOM, _identity, _update_latest_custom, fwsign_custom
from .repository import Repository

#: How many earlier releases a release takes patches from, by default.
DEFAULT_KEEP = 3


@dataclass(frozen=True)
class DeltaAdded:
    envelope_path: str
    patch_path: str
    sequence: int
    source_sha256: str
    patch_bytes: int
    image_bytes: int

    def as_dict(self) -> dict[str, object]:
        return {"envelope": self.envelope_path, "patch": self.patch_path, "sequence": self.sequence,
                "source-sha256": self.source_sha256, "patch-bytes": self.patch_bytes, "image-bytes": self.image_bytes}


def delta_envelope_path(class_id: bytes, sequence: int, source_sha256: str) -> str:
    return f"{L.class_dir(class_id)}/{sequence}-from-{source_sha256[:16]}.suit"


def _payload_of(repo: Repository, class_id: bytes, sequence: int) -> tuple[str, int] | None:
    """(sha256, length) of release ``sequence``'s payload, if the repository holds one."""
    tf = repo.get_target(L.envelope_path(class_id, sequence))
    path = fwsign_custom(tf).get("payload") if tf is not None else None
    ptf = repo.get_target(path) if isinstance(path, str) else None
    return (ptf.hashes["sha256"], ptf.length) if ptf is not None else None


def add_delta(repo: Repository, envelope: bytes, patch: Path, suit_keys: Sequence[TrustedKey], *,
              threshold: int = 1, keep: int = DEFAULT_KEEP) -> DeltaAdded:
    """Check a delta release against the repository and stage it; call ``repo.save()`` after."""
    if keep < 1:
        raise UsageError("--delta-keep must be at least 1")
    if not patch.is_file():
        raise UsageError(f"cannot read patch {patch}: no such file")
    copy = repo.ingest(patch)
    try:
        data = copy.path.read_bytes()
        # signature, identity and the patch against its delta-info (no source yet)
        report = verify_envelope(envelope, Policy(keys=tuple(suit_keys), threshold=threshold), data)
        if report.error is not None:
            raise report.error
        assert report.envelope is not None and report.analysis is not None
        vendor_id = _identity(report, Command.CONDITION_VENDOR_IDENTIFIER, Parameter.VENDOR_IDENTIFIER, "vendor-id")
        class_id = _identity(report, Command.CONDITION_CLASS_IDENTIFIER, Parameter.CLASS_IDENTIFIER, "class-id")
        del vendor_id
        seq = report.envelope.manifest.sequence_number
        latest_tf = repo.get_target(L.latest_path(class_id))
        latest = fwsign_custom(latest_tf)
        if latest_tf is None or latest.get("sequence") != seq:
            raise RepoError(f"a patch goes to the newest release of its class: add release {seq} (the full image) first")
        sources = report.analysis.image_candidates(1)
        if len(sources) != 1 or sources[0].digest.alg != -16:
            raise RepoError("the delta envelope must check one SHA-256 source image (component 1) before its fetch")
        src_sha = sources[0].digest.value.hex()
        earlier = sorted((s for s in latest.get("releases", []) if isinstance(s, int) and s < seq), reverse=True)[:keep]
        source_of = {p[0]: (s, p[1]) for s in earlier if (p := _payload_of(repo, class_id, s)) is not None}
        if src_sha not in source_of:
            raise RepoError(f"the patch's source {src_sha[:16]}... is not the image of one of the last {keep} "
                            f"release(s) before {seq} ({', '.join(map(str, earlier)) or 'none'})")
        full = _payload_of(repo, class_id, seq)
        if full is None:
            raise RepoError(f"release {seq} has no payload in the repository to check the patch's result against")
        # the patch applied to that image must make the full release's image
        src_tf = repo.get_target(L.payload_path(class_id, src_sha))
        assert src_tf is not None
        check = verify_envelope(envelope, Policy(keys=tuple(suit_keys), threshold=threshold), data,
                                delta_source=repo.target_bytes(src_tf))
        if check.error is not None:
            raise check.error
        result = next(c for c in check.checks if c.name == "image")
        made = {c.digest.value.hex() for c in report.analysis.image_candidates(0)}
        if not result.ok or made != {full[0]}:
            raise RepoError("the patch's result is not the full release's image")
        env_path = delta_envelope_path(class_id, seq, src_sha)
        if repo.get_target(env_path) is not None:
            raise RepoError(f"release {seq} already has a patch from {src_sha[:16]}... ({env_path})")
        pay_path = L.payload_path(class_id, copy.sha256)
        ptf = repo.store_file(pay_path, source=copy, custom={CUSTOM: {"type": "patch", "sequence": seq}})
        etf = repo.store_file(env_path, data=envelope, custom={CUSTOM: {"type": "suit-delta-envelope", "sequence": seq,
                                                                         "patch": pay_path, "source-sha256": src_sha}})
        entry: dict[str, Any] = {
            "source-sha256": src_sha, "source-length": source_of[src_sha][1], "source-sequence": source_of[src_sha][0],
            "envelope": env_path, "envelope-length": etf.length, "envelope-sha256": etf.hashes["sha256"],
            "patch": pay_path, "patch-length": ptf.length, "patch-sha256": ptf.hashes["sha256"],
        }
        deltas = [d for d in latest.get("deltas", []) if isinstance(d, dict) and d.get("source-sha256") != src_sha]
        _update_latest_custom(repo, latest_tf, deltas=[*deltas, entry])
        return DeltaAdded(env_path, pay_path, seq, src_sha, ptf.length, full[1])
    finally:
        copy.discard()
