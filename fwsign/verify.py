"""Host-side verification of SUIT envelopes.

The core, :func:`verify_envelope`, is a pure function over bytes: it takes the envelope
bytes, a :class:`Policy` and optionally the image as an iterable of chunks, and returns
a :class:`Report` of every check in order. It performs no file or network I/O; the
streaming reader :func:`read_chunks` lives at the edge for callers that have a path.
:func:`verify_or_raise` is the fail-closed form for code that must not continue on a
rejected envelope.

Order of checks (draft-ietf-suit-manifest-34 section 6.2 and 8.3): structure and limits,
manifest digest (before any signature work), authentication blocks against the trusted
keys (at least ``threshold`` distinct keys), severed member digests, then the policy:
vendor and class identifiers, minimum sequence number (anti-rollback) and the image
against image-digest and image-size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from . import cose
from .cbor import bstr
from .cose.algs import ALG_DISPLAY, KIND_ALGS
from .errors import (
    DecodeError,
    DelegationError,
    DigestMismatch,
    FwsignError,
    ImageMismatch,
    NoTrustedKey,
    RollbackError,
    SignatureInvalid,
    UnsupportedError,
    UsageError,
    VerificationError,
)
from .keys import PublicKey, Verifier, key_id, key_kind, make_verifier
from .limits import DEFAULT_LIMITS, Limits
from .streams import CHUNK as CHUNK
from .streams import read_chunks as read_chunks
from .suit.codepoints import FWSIGN_DELTA_INFO, Command, DigestAlg, EnvelopeKey, ManifestKey, Parameter, display
from .suit.decode import decode_envelope_parts, decode_manifest, decode_severed_sequence
from .suit.encode import encode_digest
from .suit.model import CommandSequence, Envelope, EnvelopeParts
from .suit.processor import (
    CONTENT_LIMIT,
    Analysis,
    DeviceModel,
    Expected,
    ImageFacts,
    Processor,
    as_digest,
    manifest_sequences,
    observe,
    require_validate,
)


def digest_bytes(alg: int, data: bytes) -> bytes:
    if alg == _SHA256:
        return hashlib.sha256(data).digest()  # one call: the common case, and the cheapest
    h = new_hash(alg)
    h.update(data)
    return finish_hash(alg, h)


_SHA256: Final = int(DigestAlg.SHA256)
_P_URI: Final = int(Parameter.URI)
_P_DIGEST: Final = int(Parameter.IMAGE_DIGEST)
_P_ENCRYPTION_INFO: Final = int(Parameter.ENCRYPTION_INFO)
_P_DELTA: Final = FWSIGN_DELTA_INFO


def new_hash(alg: int) -> Any:
    if alg == DigestAlg.SHA256:
        return hashlib.sha256()
    if alg == DigestAlg.SHA384:
        return hashlib.sha384()
    if alg == DigestAlg.SHA512:
        return hashlib.sha512()
    if alg == DigestAlg.SHAKE128:
        return hashlib.shake_128()
    if alg == DigestAlg.SHAKE256:
        return hashlib.shake_256()
    raise UnsupportedError(f"digest algorithm {alg} is not supported")


def finish_hash(alg: int, h: Any) -> bytes:
    # SHAKE128 gives 256 bits and SHAKE256 512 bits in COSE (RFC 9054 section 2).
    if alg == DigestAlg.SHAKE128:
        return bytes(h.digest(32))
    if alg == DigestAlg.SHAKE256:
        return bytes(h.digest(64))
    return bytes(h.digest())


@dataclass(frozen=True)
class TrustedKey:
    """A verification key with its key id and a label for reports."""

    key: PublicKey = field(repr=False)
    label: str = ""
    kid: bytes = b""
    #: Prepare for many verifications in this process (see :func:`fwsign.keys.make_verifier`).
    bulk: bool = field(default=True, compare=False, repr=False)
    #: Key type ("ed25519", "p256", ...), derived from ``key``.
    kind: str = field(init=False, compare=False)
    #: Prepared verification function for ``key`` (see :func:`fwsign.keys.make_verifier`).
    verifier: Verifier = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", key_kind(self.key))
        object.__setattr__(self, "verifier", make_verifier(self.key, bulk=self.bulk))

    @staticmethod
    def of(key: PublicKey, label: str = "", *, bulk: bool = True) -> TrustedKey:
        return TrustedKey(key, label or key_kind(key), key_id(key), bulk)


@dataclass(frozen=True)
class Policy:
    """What a verifier requires beyond a well-formed envelope."""

    keys: tuple[TrustedKey, ...] = ()
    #: How many distinct trusted keys must have signed (k of n).
    threshold: int = 1
    vendor_id: bytes | None = None
    class_id: bytes | None = None
    #: Anti-rollback: the lowest sequence number accepted.
    min_sequence: int | None = None
    #: Component whose image is checked when an image is given.
    component: int = 0
    #: Slot the image was built for (A/B manifests): only that slot's image digest and
    #: encryption-info apply. None: any slot's image is accepted.
    slot: int | None = None
    limits: Limits = DEFAULT_LIMITS
    #: Algorithms accepted; None means every supported algorithm.
    allowed_algs: frozenset[int] | None = None
    #: "All of these algorithms" (docs/processing-model.md section 5): each must have at
    #: least one block that verified with a trusted key, on top of the threshold. A
    #: hybrid release policy names a classical and a post-quantum algorithm.
    required_algs: frozenset[int] | None = None
    #: Verifier's time (seconds since the epoch) for delegation expiry; None: the system clock.
    now: int | None = None
    #: Longest delegation chain (draft-ietf-suit-trust-domains) accepted; 0 refuses delegation.
    max_delegation_chain: int = 3

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise UsageError("threshold must be at least 1")
        if self.keys and self.threshold > len(self.keys):
            raise UsageError(
                f"threshold {self.threshold} exceeds the {len(self.keys)} trusted key(s) given"
            )
        if self.required_algs is not None and self.allowed_algs is not None and not self.required_algs <= self.allowed_algs:
            raise UsageError("every required algorithm must also be an allowed one")


@dataclass(frozen=True, init=False)
class Check:
    """One step of verification. ``ok`` is None when the step was skipped."""

    name: str
    ok: bool | None
    detail: str
    reason: str | None = None

    def __init__(self, name: str, ok: bool | None, detail: str, reason: str | None = None) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "ok", ok)
        object.__setattr__(self, "detail", detail)
        object.__setattr__(self, "reason", reason)

    def as_dict(self) -> dict[str, object]:
        status = "skipped" if self.ok is None else ("pass" if self.ok else "fail")
        out: dict[str, object] = {"check": self.name, "status": status, "detail": self.detail}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, init=False)
class Report:
    checks: tuple[Check, ...]
    envelope: Envelope | None = None
    analysis: Analysis | None = None
    error: FwsignError | None = None

    def __init__(self, checks: tuple[Check, ...], envelope: Envelope | None = None, analysis: Analysis | None = None,
                 error: FwsignError | None = None) -> None:
        object.__setattr__(self, "checks", checks)
        object.__setattr__(self, "envelope", envelope)
        object.__setattr__(self, "analysis", analysis)
        object.__setattr__(self, "error", error)

    @property
    def valid(self) -> bool:
        return self.error is None

    @property
    def reason(self) -> str | None:
        return None if self.error is None else self.error.reason

    def raise_for_failure(self) -> None:
        if self.error is not None:
            raise self.error

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "valid": self.valid,
            "checks": [c.as_dict() for c in self.checks],
        }
        if self.error is not None:
            out["reason"] = self.error.reason
            out["error"] = self.error.describe()
        if self.envelope is not None:
            m = self.envelope.manifest
            out["sequence_number"] = m.sequence_number
            out["manifest_digest"] = self.envelope.auth.digest.value.hex()
        return out


class _Run:
    """Collects checks; the first failure stops the run (fail closed)."""

    def __init__(self) -> None:
        self.checks: list[Check] = []

    def ok(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, True, detail))

    def skip(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, None, detail))

    def fail(self, name: str, err: FwsignError) -> FwsignError:
        self.checks.append(Check(name, False, err.describe(), err.reason))
        return err


def verify_envelope(
    data: bytes,
    policy: Policy,
    image: Iterable[bytes] | bytes | None = None,
    *,
    decryption: Sequence[Any] = (),
    delta_source: bytes | None = None,
) -> Report:
    """Verify envelope bytes under ``policy``; never raises for a rejected envelope.

    ``decryption``: :class:`fwsign.encryption.DecryptionKey` objects. When the manifest
    gives the component's payload an encryption-info, the image (given or integrated) is
    the ciphertext: it is decrypted while it streams and the plaintext is checked against
    image-digest and image-size. Without a decryption key an encrypted image is skipped.

    ``delta_source``: the image a delta release's patch applies to (docs/delta.md). When
    component 0's fetch carries delta-info, the image (given or integrated) is the patch:
    it must match the delta-info's size and digest, is applied to ``delta_source`` (which
    becomes the source component's content), and the result is what image-match checks.
    Without a source the patched image is skipped.
    """
    run = _Run()
    env: Envelope | None = None
    analysis: Analysis | None = None
    try:
        # docs/processing-model.md section 2: the envelope's own structure, the manifest
        # digest and the signatures first; the manifest is parsed only once it is
        # authenticated (draft section 6.2), and its commands are judged as they run.
        step = "structure"
        parts = decode_envelope_parts(data, policy.limits)
        run.ok(step, f"{'tagged' if parts.tagged else 'untagged'} envelope, {len(data)} bytes, "
               f"{len(parts.auth.blocks)} authentication block(s)")

        step = "manifest-digest"
        check_manifest_digest(parts)
        run.ok(step, f"{_alg_name(parts.auth.digest.alg)} of the manifest matches the authentication wrapper")

        delegates: list[Any] = []
        if parts.delegation is not None:
            # Trust-domains delegation: keys the trusted keys vouch for join the candidates;
            # their scope is checked on every identity condition the processor makes.
            step = "delegation"
            from .delegation import resolve

            delegates = resolve(parts.delegation, policy.keys, now=policy.now, max_chain=policy.max_delegation_chain)
            policy = replace(policy, keys=(*policy.keys, *(
                TrustedKey(d.key, f"{d.anchor_label} delegate {d.kid.hex()}", d.kid, policy.keys[0].bulk if policy.keys else True)
                for d in delegates)))
            run.ok(step, f"{len(delegates)} delegated key(s) verified back to trusted anchors")

        step = "signature"
        signers = check_authentication(parts, policy)
        if delegates:
            _count_anchors(delegates, signers, policy.threshold)
        run.ok(step, f"{len(signers)} of {policy.threshold} required trusted key(s) verified: "
               + ", ".join(signers))

        step = "manifest"
        found: dict[int, list[Any]] = {_P_URI: [], _P_DIGEST: [], _P_ENCRYPTION_INFO: [], _P_DELTA: []}
        env = parts.with_manifest(decode_manifest(parts.manifest_bytes, policy.limits, lazy=True, seen=found))
        run.ok(step, f"version {env.manifest.version}, {len(env.manifest.common.components)} component(s)")

        # Manifest processing (docs/processing-model.md sections 2, 6-9): rollback,
        # severed members, the required structure, then the command sequences over the
        # host's device model.
        step = "sequence-number"
        seq_no = env.manifest.sequence_number
        if policy.min_sequence is None:
            run.skip(step, f"sequence number {seq_no}; no minimum given")
        elif seq_no < policy.min_sequence:
            raise RollbackError(f"sequence number {seq_no} is lower than the minimum {policy.min_sequence}",
                                path="manifest.sequence-number")
        else:
            run.ok(step, f"sequence number {seq_no} >= {policy.min_sequence}")

        step = "severed-members"
        severed = check_severed(env)
        if severed:
            run.ok(step, severed)
        else:
            run.skip(step, "no severable members")

        step = "sequences"
        require_validate(env.manifest)
        severed_seqs = _severed_sequences(env, policy.limits, found)
        _check_payloads_named(env, {v for v in found[_P_URI] if isinstance(v, str)})
        slots = () if policy.slot is None else ((policy.component, policy.slot),)
        # What the host feeds component 0 (an integrated payload its fetch names, an
        # encryption-info its fetch consumes) comes from a first run with no inputs; a
        # manifest with neither needs none.
        dry = (observe(env.manifest, severed_seqs, policy.limits, slots)
               if env.payloads or found[_P_ENCRYPTION_INFO] or found[_P_DELTA] else None)

        step = "image"
        source: Iterable[bytes] | bytes | None = image
        where = "--image"
        integrated, integrated_where = (None, "") if dry is None else _integrated_payload(env, dry, policy.component)
        if source is None:
            source, where = integrated, integrated_where
        elif integrated is not None:
            if not _same_bytes(source, integrated):
                raise ImageMismatch(f"the image given differs from the envelope's own {integrated_where}",
                                    path=integrated_where.rsplit(" ", 1)[-1])
            source = integrated
        encrypted = None if dry is None else _encryption_info(dry, policy.component, policy.slot)
        facts: ImageFacts | None = None
        expected: Expected | None = None
        image_note = "no image given"
        algs = {d.alg for d in map(as_digest, found[_P_DIGEST]) if d is not None} or {_SHA256}
        delta = None if dry is None else _delta_fetch(dry, policy.component)
        extra_images: tuple[tuple[int, ImageFacts | Expected], ...] = ()
        if delta_source is not None and delta is None:
            raise UsageError(f"--delta-source given, but no fetch of component {policy.component} carries a delta-info")
        if source is not None and delta is not None:
            if delta_source is None:
                # as the C host model: without its source the patch and its result are not checked
                image_note = (f"{where} is a patch (delta-info at {delta[1]}); give the image it applies to "
                              "(--delta-source) to check it and the image it makes")
                source = None
            else:
                from .delta.apply import patched

                source, where = patched(source, delta_source, delta[0], policy.limits, delta[1]), f"{where} patched"
                extra_images = ((delta[2], image_facts(delta_source, algs)),)
        elif delta is not None and delta_source is not None:
            extra_images = ((delta[2], image_facts(delta_source, algs)),)
        if source is not None and delta is not None:
            facts = image_facts(source, algs)
        elif source is not None and encrypted is not None and not decryption:
            image_note = (f"{where} is encrypted (encryption-info at {encrypted[1]}); "
                          "give a decryption key to check its plaintext")
        elif source is not None:
            if policy.component >= len(env.manifest.common.components):
                raise UsageError(f"component {policy.component} does not exist "
                                 f"(manifest has {len(env.manifest.common.components)})")
            if encrypted is not None:
                from .encryption import decrypt_chunks

                chunks: Iterable[bytes] = (source,) if isinstance(source, (bytes, bytearray)) else source
                source = decrypt_chunks(encrypted[0], decryption, chunks, path=encrypted[1])
                where = f"{where} decrypted"
                facts = image_facts(source, algs)  # a decryption failure is reported before the sequences
            else:
                # The image is streamed after the sequences have run (their work then finds
                # the caches warm); the run takes its comparisons to pass and is redone with
                # the real contents if one does not (processor.Expected).
                expected = Expected()

        def process(image_model: ImageFacts | Expected | None) -> tuple[Processor, FwsignError | None]:
            model = DeviceModel(
                vendor_id=policy.vendor_id, class_id=policy.class_id,
                images=(() if image_model is None else ((policy.component, image_model),)) + extra_images,
                slots=slots, host=True, identified=(policy.component,))
            hook = _scope_hook(delegates, signers) if delegates else None
            p = Processor(env.manifest, model, limits=policy.limits, on_identity=hook)
            try:
                p.run(manifest_sequences(env.manifest, severed_seqs))
            except FwsignError as exc:
                return p, exc
            return p, None

        proc, failure = process(expected if expected is not None else facts)
        if expected is not None and (expected.checks or expected.excluded):
            # no comparison recorded: the verdict cannot depend on the image, so it is not read
            assert source is not None
            facts = image_facts(source, algs)
            if not expected.held(facts):
                proc, failure = process(facts)
        analysis = proc.analysis()
        if failure is not None:
            raise failure
        step = "sequences"
        not_run = f"; not run (severed, absent): {', '.join(analysis.missing)}" if analysis.missing else ""
        run.ok(step, f"{len(analysis.observations)} command(s) processed on the host model, {proc.skipped} "
               f"condition(s) skipped for want of an input, required checks made{not_run}")

        if delegates:
            used = _used_delegates(delegates, signers)
            run.ok("delegation-scope", f"{len(used)} delegated signer(s) within their scope" if used
                   else "no delegated key signed")
        for (name, cond, label, unset), wanted in zip(_IDENTITY_CHECKS, (policy.vendor_id, policy.class_id),
                                                       strict=True):
            if wanted is None:
                run.skip(name, unset)
            else:
                run.ok(name, f"{label} id {wanted.hex()} matched by {proc.passed.get(cond, 0)} condition(s)")
        step = "image"
        compared = proc.compared.get(policy.component)
        if facts is None and expected is None:
            run.skip(step, image_note)
        elif not compared:
            raise ImageMismatch(f"the manifest never compares component {policy.component}'s image, "
                                f"so {where} cannot be checked")
        else:
            assert facts is not None
            run.ok(step, f"{where}: {facts.size} bytes, "
                   + ", ".join(sorted(_alg_name(a) if a else "content" for a in compared)) + " matches")
    except FwsignError as err:
        failure = run.fail(_STEP_OF_REASON.get(err.reason, step), err)
        return Report(tuple(run.checks), env, analysis, failure)
    return Report(tuple(run.checks), env, analysis, None)


#: (check, condition, label, detail when no expected value is given).
_IDENTITY_CHECKS: Final = (
    ("vendor-id", int(Command.CONDITION_VENDOR_IDENTIFIER), "vendor", "no expected vendor id given"),
    ("class-id", int(Command.CONDITION_CLASS_IDENTIFIER), "class", "no expected class id given"),
)

#: The report step a failure of the manifest processing belongs to, by reason.
_STEP_OF_REASON: Final = {
    "vendor-mismatch": "vendor-id",
    "class-mismatch": "class-id",
    "image-mismatch": "image",
    "delegation-scope": "delegation-scope",
    "rollback": "sequence-number",
}


def _check_payloads_named(env: Envelope, named: set[str]) -> None:
    """Every integrated payload must be named by a uri parameter (model section 9)."""
    for key, _data in env.payloads:
        if key not in named:
            raise DecodeError(f"integrated payload {key!r} is named by no uri parameter of the manifest, "
                              "so nothing authenticates it", path=f"envelope[{key!r}]")


def _same_bytes(image: Iterable[bytes] | bytes, expected: bytes) -> bool:
    """Whether a streamed image is exactly ``expected``, reading no more of it than that."""
    if isinstance(image, (bytes, bytearray)):
        return bytes(image) == expected
    at = 0
    for chunk in image:
        if expected[at:at + len(chunk)] != chunk:
            return False
        at += len(chunk)
    return at == len(expected)


def image_facts(image: Iterable[bytes] | bytes, algs: set[int] | frozenset[int]) -> ImageFacts:
    """Stream ``image`` once: its size, its digest under each of ``algs``, its bytes if small."""
    hashes = {alg: new_hash(alg) for alg in sorted(algs)}
    size = 0
    keep: list[bytes] | None = []
    chunks: Iterable[bytes] = (image,) if isinstance(image, (bytes, bytearray)) else image
    for chunk in chunks:
        size += len(chunk)
        for h in hashes.values():
            h.update(chunk)
        if keep is not None:
            if size <= CONTENT_LIMIT:
                keep.append(bytes(chunk))
            else:
                keep = None
    return ImageFacts(size, tuple((alg, finish_hash(alg, h)) for alg, h in hashes.items()),
                      None if keep is None else b"".join(keep))


def _used_delegates(delegates: list[Any], signers: list[str]) -> list[Any]:
    return [d for d in delegates if any(s.startswith(f"{d.anchor_label} delegate {d.kid.hex()} ") for s in signers)]


def _scope_hook(delegates: list[Any], signers: list[str]) -> Any:
    """Model section 9: every identifier condition made must lie inside every counted delegate's scope."""
    used = _used_delegates(delegates, signers)
    vendor = int(Command.CONDITION_VENDOR_IDENTIFIER)

    def hook(code: int, value: bytes, where: str) -> None:
        for d in used:
            scope = d.scope
            who = f"delegated key {d.kid.hex()}"
            if code == vendor:
                if scope.vendor_id is not None and value != scope.vendor_id:
                    raise DelegationError(f"{who} may sign only for vendor {scope.vendor_id.hex()}, "
                                          f"the manifest checks {value.hex()}", path=where, reason="delegation-scope")
            elif scope.class_ids is not None and value not in scope.class_ids:
                raise DelegationError(f"{who} may sign only for class(es) "
                                      f"{', '.join(sorted(c.hex() for c in scope.class_ids))}, the manifest checks "
                                      f"{value.hex()}", path=where, reason="delegation-scope")
    return hook


def _count_anchors(delegates: list[Any], signers: list[str], threshold: int) -> None:
    """A delegate counts for its anchor: one anchor and its delegates are one signer towards k of n."""
    roots = set()
    for s in signers:
        d = next((d for d in delegates if s.startswith(f"{d.anchor_label} delegate {d.kid.hex()} ")), None)
        roots.add(d.anchor_label if d is not None else s.rsplit(" (", 1)[0])
    if len(roots) < threshold:
        raise NoTrustedKey(f"{len(roots)} distinct trust anchor(s) signed directly or through delegates, {threshold} required",
                           path="authentication-wrapper")


def verify_or_raise(data: bytes, policy: Policy, image: Iterable[bytes] | bytes | None = None, *,
                    decryption: Sequence[Any] = ()) -> Report:
    """Fail-closed form: returns the report of a valid envelope, raises otherwise."""
    report = verify_envelope(data, policy, image, decryption=decryption)
    report.raise_for_failure()
    return report


# -- individual checks ----------------------------------------------------------------


_DIGEST_NAMES = {int(a): a.name.replace("SHA", "SHA-").replace("SHA-KE", "SHAKE") for a in DigestAlg}


def _alg_name(alg: int) -> str:
    name = _DIGEST_NAMES.get(alg)
    return name if name is not None else str(alg)


def check_manifest_digest(env: Envelope | EnvelopeParts) -> None:
    """The SUIT_Digest covers the bstr-wrapped manifest, CBOR header included."""
    d = env.auth.digest
    actual = digest_bytes(d.alg, bstr(env.manifest_bytes))
    if actual != d.value:
        raise DigestMismatch(
            "manifest digest does not match the authentication wrapper "
            f"(expected {d.value.hex()[:16]}..., computed {actual.hex()[:16]}...)",
            path="authentication-wrapper[0]",
        )


def check_authentication(env: Envelope | EnvelopeParts, policy: Policy) -> list[str]:
    """The authentication rule of docs/processing-model.md section 5.

    Every block is examined. A block with an algorithm this verifier does not implement
    (or the policy does not allow) is ignored; so is one that no trusted key fits (by key
    type, and by kid where both carry one). A block that fits a trusted key and does not
    verify is ignored when it carries no kid (another authority's signature with a key of
    the same type) and refused when it does: it names a key we trust and is evidence of
    tampering. At least ``policy.threshold`` distinct trusted keys must have verified;
    otherwise the most telling failure among the blocks is the reason.
    """
    if not policy.keys:
        raise NoTrustedKey("no trusted keys were given to verify with")
    if not env.auth.blocks:
        raise NoTrustedKey("the envelope carries no signature or MAC (digest-only wrapper)",
                           path="authentication-wrapper")
    # The detached payload is the encoded SUIT_Digest; the Sig_structure wraps it in a bstr.
    payload = encode_digest(env.auth.digest)
    verified: dict[bytes, str] = {}
    verified_algs: set[int] = set()
    best: FwsignError | None = None
    for i, block in enumerate(env.auth.blocks, start=1):
        msg = block.message
        path = f"authentication-wrapper[{i}]"
        alg = msg.alg
        if alg is None:
            raise DecodeError("COSE alg missing from the protected header", path=path)
        if alg not in cose.SUPPORTED_ALGS or (policy.allowed_algs is not None and alg not in policy.allowed_algs):
            why = "is not supported" if alg not in cose.SUPPORTED_ALGS else "is not allowed by the policy"
            best = _more_telling(best, UnsupportedError(f"COSE algorithm {ALG_DISPLAY.get(alg, alg)} {why}",
                                                        path=path))
            continue
        candidates = [
            k for k in policy.keys
            if alg in KIND_ALGS.get(k.kind, ()) and (msg.kid is None or not k.kid or msg.kid == k.kid)
        ]
        if not candidates:
            best = _more_telling(best, NoTrustedKey("no trusted key fits this block's algorithm and kid", path=path))
            continue
        failure: FwsignError | None = None
        for k in candidates:
            try:
                cose.verify(msg, k.key, payload, k.verifier)
            except SignatureInvalid as exc:
                failure = exc
                continue
            verified.setdefault(k.kid, f"{k.label} ({ALG_DISPLAY.get(alg, alg)})")
            verified_algs.add(alg)
            failure = None
            break
        if failure is not None:
            err = SignatureInvalid(failure.message, path=path)
            if msg.kid is not None:
                raise err
            best = _more_telling(best, err)
    if len(verified) < policy.threshold:
        if not verified and best is not None:
            raise best
        raise NoTrustedKey(
            f"{len(verified)} trusted key(s) verified, {policy.threshold} required",
            path="authentication-wrapper",
        )
    missing = sorted((policy.required_algs or frozenset()) - verified_algs, key=lambda a: ALG_DISPLAY.get(a, str(a)))
    if missing:
        # The hybrid rule: a classical and a post-quantum signature, not either one.
        raise NoTrustedKey(
            "the policy requires a verified signature with each of "
            f"{', '.join(ALG_DISPLAY.get(a, str(a)) for a in sorted(policy.required_algs or (), key=str))}; "
            f"none with {', '.join(ALG_DISPLAY.get(a, str(a)) for a in missing)}",
            path="authentication-wrapper",
        )
    return list(verified.values())


_TELLING: Final = {"signature-invalid": 3, "unsupported": 2, "no-trusted-key": 1}


def _more_telling(old: FwsignError | None, new: FwsignError) -> FwsignError:
    """Of two ignored blocks' failures, the one that says more (model section 5)."""
    if old is None or _TELLING.get(new.reason, 0) > _TELLING.get(old.reason, 0):
        return new
    return old


def check_severed(env: Envelope) -> str:
    """Each severable member present in the envelope must match its manifest digest."""
    digests = env.manifest.severed_digests()
    present = dict(env.severed)
    notes: list[str] = []
    for key, raw in present.items():
        name = display(EnvelopeKey(key))
        d = digests.get(key)
        if d is None:
            # A member with no digest in the manifest is not covered by the signature.
            raise VerificationError(
                f"envelope member {name} is not referenced by a digest in the manifest",
                path=name, reason="severed-digest-mismatch",
            )
        if digest_bytes(d.alg, bstr(raw)) != d.value:
            raise VerificationError(f"{name} does not match its digest in the manifest",
                                    path=name, reason="severed-digest-mismatch")
        notes.append(f"{name} matches its digest")
    for key in digests:
        if key not in present:
            notes.append(f"{display(ManifestKey(key))} severed (absent)")
    return "; ".join(notes)


def _severed_sequences(env: Envelope, limits: Limits,
                       seen: dict[int, list[Any]] | None = None) -> dict[int, CommandSequence]:
    out: dict[int, CommandSequence] = {}
    for key in (EnvelopeKey.PAYLOAD_FETCH, EnvelopeKey.INSTALL):
        seq = decode_severed_sequence(env, int(key), limits, lazy=True, seen=seen)
        if seq is not None:
            out[int(key)] = seq
    return out


def _encryption_info(analysis: Analysis, component: int, slot: int | None = None) -> tuple[bytes, str] | None:
    """The encryption-info (parameter 19) a fetch, copy or write of ``component`` (in ``slot``) consumes."""
    found: dict[bytes, str] = {}
    for o in analysis.observations:
        if o.component == component and o.code in (Command.DIRECTIVE_FETCH, Command.DIRECTIVE_COPY,
                                                   Command.DIRECTIVE_WRITE):
            if slot is not None and o.param(Parameter.COMPONENT_SLOT) != slot:
                continue
            info = o.param(Parameter.ENCRYPTION_INFO)
            if isinstance(info, bytes):
                found.setdefault(info, o.where)
    if len(found) > 1:
        raise UnsupportedError(f"component {component} has {len(found)} different encryption infos "
                               "(one per slot image); give the slot the image was built for (--slot N)")
    return next(iter(found.items()), None)


def _delta_fetch(analysis: Analysis, component: int) -> tuple[bytes, str, int] | None:
    """The delta-info, its place and the source component of a fetch of ``component``
    (docs/delta.md), or None for an ordinary fetch."""
    for o in analysis.observations:
        if o.component == component and o.code == Command.DIRECTIVE_FETCH:
            info, src = o.param(_P_DELTA), o.param(Parameter.SOURCE_COMPONENT)
            if isinstance(info, bytes) and type(src) is int:
                return info, o.where, src
    return None


def _integrated_payload(env: Envelope, analysis: Analysis, component: int) -> tuple[bytes | None, str]:
    for uri in analysis.uris(component):
        if uri.startswith("#"):
            payload = env.payload(uri)
            if payload is not None:
                return payload, f"integrated payload {uri}"
    return None, ""
