"""Immutable data model of a SUIT envelope (draft-ietf-suit-manifest-34).

The model is what the strict decoder produces and what the encoder consumes. It holds
values, not bytes: the decoder keeps the original bytes of every signed or digested
member on :class:`Envelope`, and verification always works on those. Because the
decoder only accepts canonical CBOR, encoding a decoded envelope reproduces its bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from ..cbor import CBORValue, Tag
from ..cose.messages import CoseMessage
from ..errors import FwsignError
from .codepoints import Command, DigestAlg, ManifestKey, Parameter

ComponentId = tuple[bytes, ...]


# The hot classes below spell out __init__ (init=False): a compiled build turns an explicit
# __init__ into native code, while the generated one of a frozen dataclass stays
# interpreted and costs about ten times as much. They remain frozen dataclasses.


@dataclass(frozen=True, init=False)
class Digest:
    """SUIT_Digest = [algorithm-id, digest-bytes]."""

    alg: int
    value: bytes

    def __init__(self, alg: int, value: bytes) -> None:
        if not isinstance(alg, int) or isinstance(alg, bool):
            raise TypeError("digest algorithm must be an int")
        if not isinstance(value, bytes):
            raise TypeError("digest value must be bytes")
        expected = DIGEST_SIZES.get(alg)
        if expected is not None and len(value) != expected:
            raise ValueError(f"digest of algorithm {alg} must be {expected} bytes")
        object.__setattr__(self, "alg", alg)
        object.__setattr__(self, "value", value)


DIGEST_SIZES: dict[int, int] = {
    DigestAlg.SHA256: 32,
    DigestAlg.SHAKE128: 32,
    DigestAlg.SHA384: 48,
    DigestAlg.SHA512: 64,
    DigestAlg.SHAKE256: 64,
}


@dataclass(frozen=True, init=False)
class Parameters:
    """A SUIT_Parameters map, as (code, value) pairs in canonical key order.

    Typed values: vendor/class/device identifiers are ``bytes`` (a UUID) or a
    :class:`~fwsign.cbor.Tag` (PEN, tag 112); image-digest is a :class:`Digest`;
    sizes, slots and indices are ``int``; uri is ``str``; strict-order and
    soft-failure are ``bool``; everything else stays as decoded CBOR.
    """

    items: tuple[tuple[int, ParamValue], ...] = ()

    def __init__(self, items: tuple[tuple[int, ParamValue], ...] = ()) -> None:
        object.__setattr__(self, "items", items)

    def get(self, code: int) -> ParamValue | None:
        for k, v in self.items:
            if k == code:
                return v
        return None

    def as_dict(self) -> dict[int, ParamValue]:
        return dict(self.items)

    @staticmethod
    def of(values: dict[int, ParamValue]) -> Parameters:
        return Parameters(tuple(sorted(values.items(), key=lambda kv: _key_order(kv[0]))))


def _key_order(code: int) -> tuple[int, int]:
    # Canonical CBOR order of integer keys: all unsigned (ascending), then negative
    # (-1, -2, ...), shorter heads first. For the value ranges used here this is
    # (major type, magnitude).
    return (0, code) if code >= 0 else (1, -1 - code)




@dataclass(frozen=True, init=False)
class Cmd:
    """One (label, argument) pair of a command sequence."""

    code: int
    arg: CommandArg

    def __init__(self, code: int, arg: CommandArg) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "arg", arg)


@dataclass(frozen=True, init=False)
class CommandSequence:
    commands: tuple[Cmd, ...] = ()

    def __init__(self, commands: tuple[Cmd, ...] = ()) -> None:
        object.__setattr__(self, "commands", commands)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.commands)

    def __len__(self) -> int:
        return len(self.commands)


@dataclass(frozen=True)
class TryEach:
    """directive-try-each argument: 2+ alternative sequences, optionally a final nil."""

    alternatives: tuple[CommandSequence, ...]
    nil_fallback: bool = False


@dataclass(frozen=True, init=False)
class Broken:
    """A command (or try-each option) that a lenient decode could not read.

    Verification decodes command sequences the way a device runs them
    (docs/processing-model.md section 2): what a command means is judged when the command
    is reached, so the decoder keeps the error here and the processor raises it then.
    ``option`` marks a try-each option that is not a bstr: it is refused when the
    try-each reaches it, whether or not an earlier option completed.
    """

    error: FwsignError
    option: bool
    #: What could still be read of the argument (a try-each with too few options keeps
    #: them), for scans such as which uris the manifest names; never run.
    partial: TryEach | None

    def __init__(self, error: FwsignError, option: bool = False, partial: TryEach | None = None) -> None:
        object.__setattr__(self, "error", error)
        object.__setattr__(self, "option", option)
        object.__setattr__(self, "partial", partial)


#: A parameter's value; Broken marks an entry a lenient decode could not accept.
ParamValue = Union[int, bytes, str, bool, Digest, Tag, Broken, CBORValue]

#: set-component-index: one index, ``True`` (all components) or a list of indices.
ComponentIndex = Union[int, bool, tuple[int, ...]]

@dataclass(frozen=True)
class ParamsByComponent:
    """The argument of directive-override-multiple (update management, code 34): per
    component index (as decoded; the processor checks its type and range when it gets
    there), the parameters to set, in map order."""

    entries: tuple[tuple[CBORValue, Parameters | Broken], ...]


CommandArg = Union[int, ComponentIndex, Parameters, TryEach, CommandSequence, Broken, ParamsByComponent, CBORValue]


@dataclass(frozen=True)
class TextMap:
    """SUIT_Text_Map: language tag -> (manifest-level texts, per-component texts)."""

    languages: tuple[tuple[str, LanguageText], ...]


@dataclass(frozen=True)
class LanguageText:
    manifest: tuple[tuple[int, str], ...] = ()
    components: tuple[tuple[ComponentId, tuple[tuple[int, str], ...]], ...] = ()


@dataclass(frozen=True, init=False)
class Common:
    components: tuple[ComponentId, ...]
    shared_sequence: CommandSequence | None = None

    def __init__(self, components: tuple[ComponentId, ...], shared_sequence: CommandSequence | None = None) -> None:
        object.__setattr__(self, "components", components)
        object.__setattr__(self, "shared_sequence", shared_sequence)


#: A severable member in the manifest: the value itself or the digest of its bstr.
Severable = Union[CommandSequence, Digest]


@dataclass(frozen=True, init=False)
class Manifest:
    sequence_number: int
    common: Common
    reference_uri: str | None = None
    validate: CommandSequence | None = None
    load: CommandSequence | None = None
    invoke: CommandSequence | None = None
    payload_fetch: Severable | None = None
    install: Severable | None = None
    text: TextMap | Digest | None = None
    #: Extension members this implementation recognises but does not interpret
    #: (trust domains, CoSWID, ...), kept as decoded CBOR keyed by manifest key.
    extensions: tuple[tuple[int, CBORValue], ...] = ()
    version: int = 1

    def __init__(
        self,
        sequence_number: int,
        common: Common,
        reference_uri: str | None = None,
        validate: CommandSequence | None = None,
        load: CommandSequence | None = None,
        invoke: CommandSequence | None = None,
        payload_fetch: Severable | None = None,
        install: Severable | None = None,
        text: TextMap | Digest | None = None,
        extensions: tuple[tuple[int, CBORValue], ...] = (),
        version: int = 1,
    ) -> None:
        object.__setattr__(self, "sequence_number", sequence_number)
        object.__setattr__(self, "common", common)
        object.__setattr__(self, "reference_uri", reference_uri)
        object.__setattr__(self, "validate", validate)
        object.__setattr__(self, "load", load)
        object.__setattr__(self, "invoke", invoke)
        object.__setattr__(self, "payload_fetch", payload_fetch)
        object.__setattr__(self, "install", install)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "extensions", extensions)
        object.__setattr__(self, "version", version)

    def sequences(self) -> list[tuple[ManifestKey, CommandSequence]]:
        """Command sequences present inline, in processing order."""
        out: list[tuple[ManifestKey, CommandSequence]] = []
        for key, value in (
            (ManifestKey.PAYLOAD_FETCH, self.payload_fetch),
            (ManifestKey.INSTALL, self.install),
            (ManifestKey.VALIDATE, self.validate),
            (ManifestKey.LOAD, self.load),
            (ManifestKey.INVOKE, self.invoke),
        ):
            if isinstance(value, CommandSequence):
                out.append((key, value))
        return out

    def severed_digests(self) -> dict[int, Digest]:
        out: dict[int, Digest] = {}
        for key, value in (
            (ManifestKey.PAYLOAD_FETCH, self.payload_fetch),
            (ManifestKey.INSTALL, self.install),
            (ManifestKey.TEXT, self.text),
        ):
            if isinstance(value, Digest):
                out[int(key)] = value
        for ext_key, ext in self.extensions:
            if isinstance(ext, tuple) and len(ext) == 2 and ext_key in _SEVERABLE_EXT:
                alg, val = ext
                if isinstance(alg, int) and isinstance(val, bytes):
                    out[ext_key] = Digest(alg, val)
        return out


_SEVERABLE_EXT = frozenset(
    {
        int(ManifestKey.COSWID),
        int(ManifestKey.DEPENDENCY_RESOLUTION),
        int(ManifestKey.CANDIDATE_VERIFICATION),
    }
)


@dataclass(frozen=True, init=False)
class AuthBlock:
    message: CoseMessage
    #: The encoded COSE message, as found inside its bstr in the wrapper.
    raw: bytes

    def __init__(self, message: CoseMessage, raw: bytes) -> None:
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "raw", raw)


@dataclass(frozen=True, init=False)
class AuthWrapper:
    digest: Digest
    blocks: tuple[AuthBlock, ...] = ()

    def __init__(self, digest: Digest, blocks: tuple[AuthBlock, ...] = ()) -> None:
        object.__setattr__(self, "digest", digest)
        object.__setattr__(self, "blocks", blocks)


@dataclass(frozen=True, init=False)
class Envelope:
    """A decoded SUIT_Envelope, with the exact bytes of its digested members."""

    auth: AuthWrapper
    manifest: Manifest
    #: Content of the bstr at envelope key 3 (the encoded SUIT_Manifest).
    manifest_bytes: bytes
    #: Severable members present in the envelope: key -> content of their bstr.
    severed: tuple[tuple[int, bytes], ...] = ()
    #: Integrated payloads: envelope text key (e.g. "#firmware") -> bytes.
    payloads: tuple[tuple[str, bytes], ...] = ()
    #: Trust-domains delegation (envelope key 1): the SUIT_Delegation inside its bstr, decoded, not interpreted.
    delegation: CBORValue | None = None
    tagged: bool = True
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __init__(
        self,
        auth: AuthWrapper,
        manifest: Manifest,
        manifest_bytes: bytes,
        severed: tuple[tuple[int, bytes], ...] = (),
        payloads: tuple[tuple[str, bytes], ...] = (),
        delegation: CBORValue | None = None,
        tagged: bool = True,
        raw: bytes = b"",
    ) -> None:
        object.__setattr__(self, "auth", auth)
        object.__setattr__(self, "manifest", manifest)
        object.__setattr__(self, "manifest_bytes", manifest_bytes)
        object.__setattr__(self, "severed", severed)
        object.__setattr__(self, "payloads", payloads)
        object.__setattr__(self, "delegation", delegation)
        object.__setattr__(self, "tagged", tagged)
        object.__setattr__(self, "raw", raw)

    def severed_member(self, key: int) -> bytes | None:
        for k, v in self.severed:
            if k == key:
                return v
        return None

    def payload(self, key: str) -> bytes | None:
        for k, v in self.payloads:
            if k == key:
                return v
        return None


__all__ = [
    "AuthBlock",
    "AuthWrapper",
    "Cmd",
    "Command",
    "CommandSequence",
    "Common",
    "ComponentId",
    "CoseMessage",
    "Digest",
    "Envelope",
    "LanguageText",
    "Manifest",
    "Parameter",
    "Parameters",
    "Severable",
    "TextMap",
    "TryEach",
]


@dataclass(frozen=True)
class EnvelopeParts:
    """An envelope's members before its manifest is decoded: what authentication needs.

    Verification authenticates the manifest before it parses it (draft section 6.2: the
    signature is verified "prior to parsing/executing any section of the manifest").
    """

    auth: AuthWrapper
    manifest_bytes: bytes
    severed: tuple[tuple[int, bytes], ...] = ()
    payloads: tuple[tuple[str, bytes], ...] = ()
    delegation: CBORValue | None = None
    tagged: bool = True
    raw: bytes = field(default=b"", compare=False, repr=False)

    def with_manifest(self, manifest: Manifest) -> Envelope:
        return Envelope(auth=self.auth, manifest=manifest, manifest_bytes=self.manifest_bytes,
                        severed=self.severed, payloads=self.payloads, delegation=self.delegation,
                        tagged=self.tagged, raw=self.raw)


@dataclass(frozen=True)
class VersionMatch:
    """SUIT_Parameter_Version_Match = [comparison type, [+ int]] (UM section 4.4)."""

    comparison: int
    value: tuple[int, ...]
