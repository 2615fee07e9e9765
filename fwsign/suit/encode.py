"""Deterministic encoder from the data model to SUIT CBOR.

Shortest heads and canonically ordered map keys (RFC 8949 section 4.2.1), which puts the
authentication wrapper first in the envelope map as the manifest draft requires.
Decoding then encoding any canonical envelope gives its bytes back.
"""

from __future__ import annotations

from ..cbor import bstr, dumps, dumps_tagged, encode_head
from .codepoints import TAG_ENVELOPE, Command, CommonKey, EnvelopeKey, ManifestKey, Parameter
from .model import (
    AuthWrapper,
    CommandSequence,
    Common,
    Digest,
    Envelope,
    Manifest,
    Parameters,
    TextMap,
    TryEach,
)


def digest_value(d: Digest) -> tuple[int, bytes]:
    return (d.alg, d.value)


def encode_digest(d: Digest) -> bytes:
    """[algorithm-id, digest-bytes], written directly (it is on every verification's path)."""
    alg = d.alg
    head = encode_head(0, alg) if alg >= 0 else encode_head(1, -1 - alg)
    return b"\x82" + head + encode_head(2, len(d.value)) + d.value


def parameters_value(params: Parameters) -> dict[int, object]:
    out: dict[int, object] = {}
    for code, value in params.items:
        if code == Parameter.IMAGE_DIGEST and isinstance(value, Digest):
            out[code] = encode_digest(value)
        else:
            out[code] = value
    return out


def sequence_value(seq: CommandSequence) -> list[object]:
    out: list[object] = []
    for cmd in seq.commands:
        out.append(cmd.code)
        arg = cmd.arg
        if isinstance(arg, Parameters):
            out.append(parameters_value(arg))
        elif isinstance(arg, TryEach):
            alts: list[object] = [encode_sequence(a) for a in arg.alternatives]
            if arg.nil_fallback:
                alts.append(None)
            out.append(alts)
        elif isinstance(arg, CommandSequence) and cmd.code == Command.DIRECTIVE_RUN_SEQUENCE:
            out.append(encode_sequence(arg))
        else:
            out.append(arg)
    return out


def encode_sequence(seq: CommandSequence) -> bytes:
    return dumps(sequence_value(seq))


def encode_common(common: Common) -> bytes:
    value: dict[int, object] = {CommonKey.COMPONENTS: [list(c) for c in common.components]}
    if common.shared_sequence is not None:
        value[CommonKey.SHARED_SEQUENCE] = encode_sequence(common.shared_sequence)
    return dumps(value)


def text_value(text: TextMap) -> dict[str, object]:
    out: dict[str, object] = {}
    for lang, lt in text.languages:
        lmap: dict[object, object] = dict(lt.manifest)
        for cid, entries in lt.components:
            lmap[cid] = dict(entries)
        out[lang] = lmap
    return out


def encode_text(text: TextMap) -> bytes:
    return dumps(text_value(text))


def _severable_value(value: CommandSequence | TextMap | Digest) -> object:
    if isinstance(value, Digest):
        return digest_value(value)
    if isinstance(value, TextMap):
        return encode_text(value)
    return encode_sequence(value)


def encode_manifest(m: Manifest) -> bytes:
    """Encode a manifest (the content of the envelope's manifest bstr)."""
    value: dict[int, object] = {
        ManifestKey.ENCODING_VERSION: m.version,
        ManifestKey.SEQUENCE_NUMBER: m.sequence_number,
        ManifestKey.COMMON: encode_common(m.common),
    }
    if m.reference_uri is not None:
        value[ManifestKey.REFERENCE_URI] = m.reference_uri
    for key, seq in ((ManifestKey.VALIDATE, m.validate), (ManifestKey.LOAD, m.load), (ManifestKey.INVOKE, m.invoke)):
        if seq is not None:
            value[key] = encode_sequence(seq)
    for key, sev in (
        (ManifestKey.PAYLOAD_FETCH, m.payload_fetch),
        (ManifestKey.INSTALL, m.install),
        (ManifestKey.TEXT, m.text),
    ):
        if sev is not None:
            value[key] = _severable_value(sev)
    for ext_key, raw in m.extensions:
        value[ext_key] = raw
    return dumps({int(k): v for k, v in value.items()})


def encode_auth_wrapper(auth: AuthWrapper) -> bytes:
    items: list[object] = [encode_digest(auth.digest)]
    items.extend(block.raw for block in auth.blocks)
    return dumps(items)


def encode_envelope(env: Envelope) -> bytes:
    """Encode an envelope from its kept signed bytes (manifest, severed members)."""
    value: dict[object, object] = {
        int(EnvelopeKey.AUTHENTICATION_WRAPPER): encode_auth_wrapper(env.auth),
        int(EnvelopeKey.MANIFEST): env.manifest_bytes,
    }
    if env.delegation is not None:
        # bstr .cbor SUIT_Delegation
        value[int(EnvelopeKey.DELEGATION)] = dumps(env.delegation)
    for key, raw in env.severed:
        value[key] = raw
    for name, payload in env.payloads:
        value[name] = payload
    return dumps_tagged(TAG_ENVELOPE, value) if env.tagged else dumps(value)


def severable_digest_input(member: bytes) -> bytes:
    """What a severable member's SUIT_Digest covers: its bstr-wrapped form."""
    return bstr(member)
