"""Build SUIT manifests and envelopes in the shapes of the specification's examples.

The command sequences follow draft-ietf-suit-manifest-34 appendix B:

* secure boot (example 0): the shared sequence sets vendor-id, class-id, image-digest
  and image-size and checks vendor and class; validate checks image-match; invoke
  invokes the image.
* download and install (examples 1 and 2): install sets the uri, fetches and checks
  image-match; with ``sever`` the install and text members move out of the manifest
  into the envelope and the manifest keeps their digests.
* A/B images (example 3): try-each over component-slot picks the digest and size (in
  the shared sequence) and the uri (in install) for the slot the device offers.
* several components (example 5): set-component-index before each component's part.

An integrated payload is fetched from the envelope itself with a ``#name`` uri.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import cose
from ..cbor import CBORValue, bstr, dumps
from ..errors import UsageError
from ..keys import Signer
from .codepoints import FWSIGN_DELTA_INFO, Command, DigestAlg, ManifestKey, Parameter, TextComponentKey, TextKey, WaitEvent
from .encode import encode_digest, encode_envelope, encode_manifest, encode_sequence, encode_text
from .ids import class_uuid as class_uuid
from .ids import vendor_uuid as vendor_uuid
from .model import (
    AuthBlock,
    AuthWrapper,
    Cmd,
    CommandSequence,
    Common,
    ComponentId,
    Digest,
    Envelope,
    LanguageText,
    Manifest,
    Parameters,
    ParamValue,
    TextMap,
    TryEach,
)
from .update_management import UpdateRules

REP_CHECK = 15  # record and report success and failure, with system info (spec examples)
REP_ACTION = 2  # record failure (spec examples' fetch/copy/invoke)


def hash_stream(chunks: Iterable[bytes]) -> tuple[Digest, int]:
    h = hashlib.sha256()
    size = 0
    for chunk in chunks:
        h.update(chunk)
        size += len(chunk)
    return Digest(DigestAlg.SHA256, h.digest()), size


def hash_file(path: Path) -> tuple[Digest, int]:
    """SHA-256 and size of a file, streamed in 64 KiB chunks."""
    from ..streams import read_chunks

    return hash_stream(read_chunks(path))


@dataclass(frozen=True)
class ImageSpec:
    digest: Digest
    size: int
    slot: int | None = None
    uri: str | None = None
    #: SUIT_Encryption_Info (parameter 19, draft-ietf-suit-firmware-encryption): the payload
    #: fetched from ``uri`` is the ciphertext; ``digest`` and ``size`` stay the plaintext's.
    encryption_info: bytes | None = field(default=None, repr=False)
    #: Delta update (docs/delta.md): the payload fetched from ``uri`` is a patch against the
    #: image described by ``delta_source`` (its digest and size), named by ``delta_info``.
    delta_info: bytes | None = field(default=None, repr=False)
    delta_source: tuple[Digest, int] | None = None


@dataclass(frozen=True)
class ComponentSpec:
    component_id: ComponentId
    images: tuple[ImageSpec, ...]
    vendor_id: bytes
    class_id: bytes
    invoke: bool = True
    #: Component text (vendor-name, model-name, vendor-domain, component-version ...).
    text: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.images:
            raise UsageError("a component needs an image")
        slots = [i.slot for i in self.images]
        if len(self.images) > 1 and (None in slots or len(set(slots)) != len(slots)):
            raise UsageError("several images for one component need distinct slots")
        if any(i.encryption_info is not None and not i.uri for i in self.images):
            raise UsageError("an encrypted image needs a uri (or an integrated payload): its fetch decrypts it")
        for ident, what in ((self.vendor_id, "vendor-id"), (self.class_id, "class-id")):
            if len(ident) != 16:
                raise UsageError(f"{what} must be a 16-byte UUID")


@dataclass(frozen=True)
class ManifestSpec:
    sequence_number: int
    components: tuple[ComponentSpec, ...]
    reference_uri: str | None = None
    description: str | None = None
    update_description: str | None = None
    sever: bool = False
    language: str = "en-US"
    payloads: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    #: Update management: what the update run checks first (docs/processing-model.md section 14).
    update: UpdateRules | None = None

    def __post_init__(self) -> None:
        if self.sequence_number < 0:
            raise UsageError("sequence number must be a non-negative integer")
        if not self.components:
            raise UsageError("a manifest needs at least one component")


def _c(code: int, arg: object) -> Cmd:
    return Cmd(code, arg)  # type: ignore[arg-type]


def _params(values: dict[int, ParamValue]) -> Parameters:
    return Parameters.of(values)


def _index(seq: list[Cmd], i: int, n: int) -> None:
    if n > 1:
        seq.append(_c(Command.DIRECTIVE_SET_COMPONENT_INDEX, i))


def _slot_branch(slot: int, params: dict[int, ParamValue]) -> CommandSequence:
    return CommandSequence((
        _c(Command.DIRECTIVE_OVERRIDE_PARAMETERS, _params({Parameter.COMPONENT_SLOT: slot})),
        _c(Command.CONDITION_COMPONENT_SLOT, 5),
        _c(Command.DIRECTIVE_OVERRIDE_PARAMETERS, _params(params)),
    ))


def build_manifest(spec: ManifestSpec) -> tuple[Manifest, dict[int, bytes]]:
    """The manifest and, when severing, the severed members' bstr contents by key."""
    n = len(spec.components)
    shared: list[Cmd] = []
    install: list[Cmd] = []
    validate: list[Cmd] = []
    invoke: list[Cmd] = []
    for i, comp in enumerate(spec.components):
        _index(shared, i, n)
        ident: dict[int, ParamValue] = {
            Parameter.VENDOR_IDENTIFIER: comp.vendor_id, Parameter.CLASS_IDENTIFIER: comp.class_id,
        }
        if len(comp.images) == 1:
            img = comp.images[0]
            shared.append(_c(Command.DIRECTIVE_OVERRIDE_PARAMETERS, _params(
                {**ident, Parameter.IMAGE_DIGEST: img.digest, Parameter.IMAGE_SIZE: img.size}
            )))
            if img.slot is not None:
                shared.append(_c(Command.DIRECTIVE_OVERRIDE_PARAMETERS,
                                 _params({Parameter.COMPONENT_SLOT: img.slot})))
                shared.append(_c(Command.CONDITION_COMPONENT_SLOT, 5))
        else:
            shared.append(_c(Command.DIRECTIVE_OVERRIDE_PARAMETERS, _params(ident)))
            shared.append(_c(Command.DIRECTIVE_TRY_EACH, TryEach(tuple(
                _slot_branch(img.slot or 0, {Parameter.IMAGE_DIGEST: img.digest, Parameter.IMAGE_SIZE: img.size})
                for img in comp.images
            ))))
        shared.append(_c(Command.CONDITION_VENDOR_IDENTIFIER, REP_CHECK))
        shared.append(_c(Command.CONDITION_CLASS_IDENTIFIER, REP_CHECK))

        uris = [img.uri for img in comp.images]
        if any(uris):
            if not all(uris):
                raise UsageError("give a uri for every slot image of a component, or none")
            _index(install, i, n)
            if len(comp.images) == 1 and comp.images[0].delta_source is not None:
                _delta_install(install, comp.images[0], i, len(spec.components))
            elif len(comp.images) == 1:
                install.append(_c(Command.DIRECTIVE_OVERRIDE_PARAMETERS, _params(_fetch_params(comp.images[0]))))
            else:
                install.append(_c(Command.DIRECTIVE_TRY_EACH, TryEach(tuple(
                    _slot_branch(img.slot or 0, _fetch_params(img)) for img in comp.images
                ))))
            install.append(_c(Command.DIRECTIVE_FETCH, REP_ACTION))
            install.append(_c(Command.CONDITION_IMAGE_MATCH, REP_CHECK))

        _index(validate, i, n)
        validate.append(_c(Command.CONDITION_IMAGE_MATCH, REP_CHECK))
        if comp.invoke:
            _index(invoke, i, n)
            invoke.append(_c(Command.DIRECTIVE_INVOKE, REP_ACTION))

    if spec.update is not None and not spec.update.empty:
        install = [*_update_checks(spec.update, n), *install]
    text = _text(spec)
    install_seq = CommandSequence(tuple(install)) if install else None
    severed: dict[int, bytes] = {}
    install_member: CommandSequence | Digest | None = install_seq
    text_member: TextMap | Digest | None = text
    if spec.sever:
        if install_seq is not None:
            raw = encode_sequence(install_seq)
            severed[20] = raw
            install_member = _digest_of_member(raw)
        if text is not None:
            raw = encode_text(text)
            severed[23] = raw
            text_member = _digest_of_member(raw)

    components = tuple(c.component_id for c in spec.components)
    if any(img.delta_source is not None for c in spec.components for img in c.images):
        components = (*components, DELTA_SOURCE_COMPONENT)
    manifest = Manifest(
        sequence_number=spec.sequence_number,
        common=Common(components, CommandSequence(tuple(shared))),
        reference_uri=spec.reference_uri,
        validate=CommandSequence(tuple(validate)),
        invoke=CommandSequence(tuple(invoke)) if invoke else None,
        install=install_member,
        text=text_member,
        extensions=_update_members(spec.update),
    )
    return manifest, severed


def _fetch_params(img: ImageSpec) -> dict[int, ParamValue]:
    # The fetch that follows consumes encryption-info and decrypts while it writes.
    params: dict[int, ParamValue] = {Parameter.URI: img.uri or ""}
    if img.encryption_info is not None:
        params[Parameter.ENCRYPTION_INFO] = img.encryption_info
    return params


#: The component a delta manifest adds after its images: the image the device runs, which
#: a patch applies to (docs/delta.md).
DELTA_SOURCE_COMPONENT = ComponentId((b"delta-source",))


def _delta_install(install: list[Cmd], img: ImageSpec, i: int, n: int) -> None:
    """Check the source image (component ``n``, after the images) before anything is
    written, then fetch the patch into component ``i`` from it (docs/delta.md)."""
    assert img.delta_source is not None and img.delta_info is not None
    src_digest, src_size = img.delta_source
    install.append(_c(Command.DIRECTIVE_SET_COMPONENT_INDEX, n))
    install.append(_c(Command.DIRECTIVE_OVERRIDE_PARAMETERS, _params(
        {Parameter.IMAGE_DIGEST: src_digest, Parameter.IMAGE_SIZE: src_size})))
    install.append(_c(Command.CONDITION_IMAGE_MATCH, REP_CHECK))
    install.append(_c(Command.DIRECTIVE_SET_COMPONENT_INDEX, i))
    install.append(_c(Command.DIRECTIVE_OVERRIDE_PARAMETERS, _params(
        {Parameter.URI: img.uri or "", Parameter.SOURCE_COMPONENT: n, FWSIGN_DELTA_INFO: img.delta_info})))


def _digest_of_member(raw: bytes) -> Digest:
    return Digest(DigestAlg.SHA256, hashlib.sha256(bstr(raw)).digest())


def _text(spec: ManifestSpec) -> TextMap | None:
    manifest_texts: list[tuple[int, str]] = []
    if spec.description:
        manifest_texts.append((TextKey.MANIFEST_DESCRIPTION, spec.description))
    if spec.update_description:
        manifest_texts.append((TextKey.UPDATE_DESCRIPTION, spec.update_description))
    comps = tuple((c.component_id, tuple(sorted(c.text))) for c in spec.components if c.text)
    if not manifest_texts and not comps:
        return None
    return TextMap(((spec.language, LanguageText(tuple(manifest_texts), comps)),))


def component_text(
    *, vendor_domain: str | None = None, model_name: str | None = None,
    version: str | None = None, description: str | None = None,
) -> tuple[tuple[int, str], ...]:
    out: list[tuple[int, str]] = []
    if vendor_domain:
        out.append((TextComponentKey.VENDOR_DOMAIN, vendor_domain))
    if model_name:
        out.append((TextComponentKey.MODEL_NAME, model_name))
    if description:
        out.append((TextComponentKey.COMPONENT_DESCRIPTION, description))
    if version:
        out.append((TextComponentKey.COMPONENT_VERSION, version))
    return tuple(out)


# -- envelopes -----------------------------------------------------------------------


def manifest_digest(manifest_bytes: bytes) -> Digest:
    """SUIT_Digest over the bstr-wrapped manifest, CBOR header included."""
    return Digest(DigestAlg.SHA256, hashlib.sha256(bstr(manifest_bytes)).digest())


def assemble_envelope(
    manifest: Manifest,
    signers: Sequence[Signer] = (),
    *,
    severed: dict[int, bytes] | None = None,
    payloads: Sequence[tuple[str, bytes]] = (),
    tagged: bool = True,
) -> bytes:
    """Encode the manifest, digest it, sign the digest with each signer, encode the envelope."""
    manifest_bytes = encode_manifest(manifest)
    digest = manifest_digest(manifest_bytes)
    blocks = tuple(_block(cose.build(s, encode_digest(digest))) for s in signers)
    env = Envelope(
        auth=AuthWrapper(digest, blocks),
        manifest=manifest,
        manifest_bytes=manifest_bytes,
        severed=tuple(sorted((severed or {}).items())),
        payloads=tuple(payloads),
        tagged=tagged,
    )
    return encode_envelope(env)


def _block(raw: bytes) -> AuthBlock:
    from ..limits import DEFAULT_LIMITS
    from .decode import decode_cose

    return AuthBlock(decode_cose(raw, DEFAULT_LIMITS, "authentication-block"), raw)


def add_block(env: Envelope, cose_bytes: bytes) -> bytes:
    """Re-encode ``env`` with one more authentication block (signed bytes unchanged)."""
    block = _block(cose_bytes)
    new = Envelope(
        auth=AuthWrapper(env.auth.digest, (*env.auth.blocks, block)),
        manifest=env.manifest,
        manifest_bytes=env.manifest_bytes,
        severed=env.severed,
        payloads=env.payloads,
        delegation=env.delegation,
        tagged=env.tagged,
    )
    return encode_envelope(new)


def strip_severable(env: Envelope) -> bytes:
    """The envelope without its severable members (what a constrained device receives)."""
    new = Envelope(
        auth=env.auth, manifest=env.manifest, manifest_bytes=env.manifest_bytes,
        severed=(), payloads=env.payloads, delegation=env.delegation, tagged=env.tagged,
    )
    return encode_envelope(new)


# -- update management (docs/processing-model.md section 14) ----------------------------


def _update_checks(rules: UpdateRules, n: int) -> list[Cmd]:
    """The update run's first commands, for component 0: its parameters, then wait for
    authorization, then each condition."""
    out: list[Cmd] = []
    _index(out, 0, n)
    params: dict[int, ParamValue] = {}
    if rules.use_before is not None:
        params[Parameter.USE_BEFORE] = rules.use_before
    if rules.min_battery is not None:
        params[Parameter.MINIMUM_BATTERY] = rules.min_battery
    if rules.authorization_priority is not None:
        params[Parameter.UPDATE_PRIORITY] = rules.authorization_priority
        params[Parameter.WAIT_INFO] = dumps({int(WaitEvent.AUTHORIZATION): rules.authorization_priority})
    if params:
        out.append(_c(Command.DIRECTIVE_OVERRIDE_PARAMETERS, _params(params)))
    if rules.authorization_priority is not None:
        out.append(_c(Command.DIRECTIVE_WAIT, REP_CHECK))
        out.append(_c(Command.CONDITION_UPDATE_AUTHORIZED, REP_CHECK))
    if rules.use_before is not None:
        out.append(_c(Command.CONDITION_USE_BEFORE, REP_CHECK))
    if rules.min_battery is not None:
        out.append(_c(Command.CONDITION_MINIMUM_BATTERY, REP_CHECK))
    for comparison, version in rules.version_range:
        out.append(_c(Command.DIRECTIVE_OVERRIDE_PARAMETERS,
                      _params({Parameter.VERSION: dumps([comparison, list(version)])})))
        out.append(_c(Command.CONDITION_VERSION, REP_CHECK))
    return out if len(out) > (1 if n > 1 else 0) else []


def _update_members(rules: UpdateRules | None) -> tuple[tuple[int, CBORValue], ...]:
    if rules is None or rules.set_version is None:
        return ()
    return ((int(ManifestKey.SET_VERSION), dumps(list(rules.set_version))),)
