"""Human and machine views of an envelope: JSON, an indented tree, annotated CBOR
diagnostic notation (in the style of the specification's examples), and an
explanation of exactly which bytes are digested and signed."""

from __future__ import annotations

import uuid
from enum import IntEnum

from .. import cbor
from ..cbor import CBORValue, FrozenMap, Tag, bstr
from ..keys import ALG_DISPLAY
from ..limits import DEFAULT_LIMITS
from .codepoints import (
    Command,
    CommonKey,
    CoseHeader,
    DigestAlg,
    EnvelopeKey,
    ManifestKey,
    Parameter,
    TextComponentKey,
    TextKey,
    VersionComparison,
    WaitEvent,
    display,
    name_of,
)
from .decode import decode_severed_sequence, decode_severed_text
from .encode import encode_digest
from .model import (
    CommandSequence,
    Digest,
    Envelope,
    Parameters,
    ParamsByComponent,
    TextMap,
    TryEach,
)

_DIGEST_NAMES: dict[int, str] = {
    DigestAlg.SHA256: "sha-256",
    DigestAlg.SHAKE128: "shake128",
    DigestAlg.SHA384: "sha-384",
    DigestAlg.SHA512: "sha-512",
    DigestAlg.SHAKE256: "shake256",
}
_UUID_PARAMS = {Parameter.VENDOR_IDENTIFIER, Parameter.CLASS_IDENTIFIER, Parameter.DEVICE_IDENTIFIER}


# -- JSON ------------------------------------------------------------------------------


def _digest_json(d: Digest) -> dict[str, object]:
    return {"algorithm": _DIGEST_NAMES.get(d.alg, str(d.alg)), "value": d.value.hex()}


def _plain(value: object) -> object:
    """CBOR value -> JSON-able value (bytes as hex)."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Tag):
        return {"tag": value.tag, "value": _plain(value.value)}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, FrozenMap):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    return value


def _encryption_info_json(value: bytes) -> object:
    """Parameter 19 as what it says: content algorithm, IV and recipients (no secrets in it)."""
    from ..encryption.algs import content_name, key_alg_name
    from ..encryption.info import parse_info
    from ..errors import FwsignError

    try:
        info = parse_info(value)
    except FwsignError as exc:
        return {"invalid": exc.describe(), "bytes": value.hex()}
    return {
        "content-alg": content_name(info.content_alg),
        "iv": info.iv.hex(),
        "recipients": [
            {"alg": key_alg_name(r.alg), **({"kid": r.kid.hex()} if r.kid is not None else {}),
             **({"ephemeral-key-curve": r.ephemeral.crv} if r.ephemeral is not None else {})}
            for r in info.recipients
        ],
    }


def _param_json(code: int, value: object) -> object:
    if isinstance(value, Digest):
        return _digest_json(value)
    if code in (Parameter.VERSION, Parameter.WAIT_INFO, Parameter.COMPONENT_METADATA) and isinstance(value, bytes):
        return _um_param_json(code, value)
    if code == Parameter.ENCRYPTION_INFO and isinstance(value, bytes):
        return _encryption_info_json(value)
    if code in _UUID_PARAMS and isinstance(value, bytes) and len(value) == 16:
        return str(uuid.UUID(bytes=value))
    return _plain(value)


def _params_json(p: Parameters) -> dict[str, object]:
    return {name_of(Parameter, k): _param_json(k, v) for k, v in p.items}


def sequence_json(seq: CommandSequence) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for cmd in seq.commands:
        name = name_of(Command, cmd.code)
        arg = cmd.arg
        value: object
        if isinstance(arg, Parameters):
            value = _params_json(arg)
        elif isinstance(arg, TryEach):
            value = [sequence_json(a) for a in arg.alternatives] + ([None] if arg.nil_fallback else [])
        elif isinstance(arg, CommandSequence):
            value = sequence_json(arg)
        elif isinstance(arg, ParamsByComponent):
            value = {str(k): _params_json(p) if isinstance(p, Parameters) else None for k, p in arg.entries}
        else:
            value = _plain(arg)
        out.append({name: value})
    return out


def text_json(text: TextMap) -> dict[str, object]:
    out: dict[str, object] = {}
    for lang, lt in text.languages:
        entry: dict[str, object] = {name_of(TextKey, k): v for k, v in lt.manifest}
        for cid, items in lt.components:
            entry["component " + "/".join(p.hex() for p in cid)] = {
                name_of(TextComponentKey, k): v for k, v in items
            }
        out[lang] = entry
    return out


def to_json(env: Envelope) -> dict[str, object]:
    m = env.manifest
    manifest: dict[str, object] = {
        "manifest-version": m.version,
        "manifest-sequence-number": m.sequence_number,
        "common": {
            "components": [[p.hex() for p in c] for c in m.common.components],
            **({"shared-sequence": sequence_json(m.common.shared_sequence)} if m.common.shared_sequence else {}),
        },
    }
    if m.reference_uri is not None:
        manifest["reference-uri"] = m.reference_uri
    for key, value in (
        (ManifestKey.VALIDATE, m.validate), (ManifestKey.LOAD, m.load), (ManifestKey.INVOKE, m.invoke),
        (ManifestKey.PAYLOAD_FETCH, m.payload_fetch), (ManifestKey.INSTALL, m.install),
    ):
        if isinstance(value, CommandSequence):
            manifest[display(key)] = sequence_json(value)
        elif isinstance(value, Digest):
            manifest[display(key)] = {"severed": _digest_json(value)}
    if isinstance(m.text, TextMap):
        manifest["text"] = text_json(m.text)
    elif isinstance(m.text, Digest):
        manifest["text"] = {"severed": _digest_json(m.text)}
    for ext_key, raw in m.extensions:
        if ext_key == ManifestKey.SET_VERSION and isinstance(raw, bytes):
            manifest[name_of(ManifestKey, ext_key)] = _set_version_json(raw)
            continue
        manifest[name_of(ManifestKey, ext_key)] = _plain(raw)

    blocks: list[dict[str, object]] = []
    for b in env.auth.blocks:
        msg = b.message
        blocks.append({
            "type": "COSE_Sign1" if msg.cose_tag == 18 else "COSE_Mac0",
            "alg": ALG_DISPLAY.get(msg.alg or 0, str(msg.alg)),
            "alg_id": msg.alg,
            "kid": msg.kid.hex() if msg.kid else None,
            "signature": msg.tag.hex(),
        })
    out: dict[str, object] = {
        "tagged": env.tagged,
        "bytes": len(env.raw) if env.raw else None,
        "authentication-wrapper": {"digest": _digest_json(env.auth.digest), "blocks": blocks},
        "manifest": manifest,
    }
    severed: dict[str, object] = {}
    for ekey in (EnvelopeKey.PAYLOAD_FETCH, EnvelopeKey.INSTALL):
        seq = decode_severed_sequence(env, int(ekey))
        if seq is not None:
            severed[display(ekey)] = sequence_json(seq)
    text = decode_severed_text(env)
    if text is not None:
        severed["text"] = text_json(text)
    if severed:
        out["severable-members"] = severed
    if env.payloads:
        import hashlib

        out["integrated-payloads"] = {
            k: {"bytes": len(v), "sha-256": hashlib.sha256(v).hexdigest()} for k, v in env.payloads
        }
    if env.delegation is not None:
        out["delegation"] = _plain(env.delegation)
    out["asserts"] = asserts_json(env)
    return out


def asserts_json(env: Envelope) -> dict[str, object]:
    """What the manifest asserts, from the processor's run on a host that knows nothing of
    the device (every condition skipped; docs/processing-model.md section 1): which
    identifiers its conditions compare, which image each component must be, where
    payloads come from, and whether the run met the required checks. The verifier reads
    the same trace; there is no second walk of the sequences."""
    from ..errors import FwsignError
    from .processor import DeviceModel, Processor, manifest_sequences

    severed = {int(k): seq for k in (EnvelopeKey.PAYLOAD_FETCH, EnvelopeKey.INSTALL)
               if (seq := decode_severed_sequence(env, int(k))) is not None}
    proc = Processor(env.manifest, DeviceModel())
    verdict = "required checks made"
    try:
        proc.run(manifest_sequences(env.manifest, severed))
    except FwsignError as exc:
        verdict = exc.describe()
    a = proc.analysis()

    def ids(cond: Command, param: Parameter) -> list[str]:
        return sorted({_uuid(v) for _c, v, _w in a.identifiers(cond, param) if isinstance(v, bytes)})

    components: list[dict[str, object]] = []
    for c in range(a.n_components):
        entry: dict[str, object] = {}
        images = [{"digest": _digest_json(i.digest), **({"size": i.size} if i.size is not None else {}),
                   **({"slot": i.slot} if i.slot is not None else {})} for i in a.image_candidates(c)]
        if images:
            entry["image"] = images
        if uris := a.uris(c):
            entry["uri"] = uris
        acts = sorted({display(Command(o.code)) for o in a.observations
                       if o.component == c and o.code in (21, 22, 18, 31, 23)})
        if acts:
            entry["directives"] = acts
        components.append(entry)
    out: dict[str, object] = {
        "vendor-id": ids(Command.CONDITION_VENDOR_IDENTIFIER, Parameter.VENDOR_IDENTIFIER),
        "class-id": ids(Command.CONDITION_CLASS_IDENTIFIER, Parameter.CLASS_IDENTIFIER),
        "components": components,
        "processing": verdict,
    }
    if a.missing:
        out["not-run"] = list(a.missing)
    return out


def _uuid(v: bytes) -> str:
    return str(uuid.UUID(bytes=v)) if len(v) == 16 else v.hex()


# -- tree --------------------------------------------------------------------------------


def tree(env: Envelope) -> str:
    """An indented, readable view built from the JSON form."""
    lines = [f"SUIT envelope ({'tagged' if env.tagged else 'untagged'}, {len(env.raw)} bytes)"]
    data = to_json(env)
    data.pop("tagged", None)
    data.pop("bytes", None)
    _tree(data, 1, lines)
    return "\n".join(lines)


def _tree(value: object, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:")
                _tree(v, depth + 1, lines)
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, dict) and len(v) == 1:
                (k, inner), = v.items()
                if isinstance(inner, (dict, list)) and inner:
                    lines.append(f"{pad}- {k}:")
                    _tree(inner, depth + 2, lines)
                else:
                    lines.append(f"{pad}- {k}: {_scalar(inner)}")
            elif isinstance(v, (dict, list)):
                lines.append(f"{pad}- [{i}]")
                _tree(v, depth + 2, lines)
            else:
                lines.append(f"{pad}- {_scalar(v)}")


def _scalar(v: object) -> str:
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):
        return "[]" if isinstance(v, list) else "{}"
    return str(v)


# -- CBOR diagnostic notation -------------------------------------------------------------

_IND = "    "


def diag(env: Envelope) -> str:
    """Annotated CBOR diagnostic notation of the envelope as encoded."""
    top = cbor.loads(env.raw, require_canonical=False, string_limit=len(env.raw))
    return _d(top, "envelope", 0)


def _note(name: str) -> str:
    return f"/ {name} / "


def _str(v: CBORValue) -> str:
    if isinstance(v, bytes):
        return f"h'{v.hex()}'"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _wrapped(v: CBORValue, schema: str, depth: int) -> str:
    if not isinstance(v, bytes):
        return _d(v, schema, depth)
    try:
        inner = cbor.loads(v, require_canonical=False)
    except Exception:
        return _str(v)
    return "<< " + _d(inner, schema, depth) + " >>"


def _map(v: FrozenMap, depth: int, names: type[IntEnum] | None, child: dict[object, str], default: str) -> str:
    pad = _IND * (depth + 1)
    items = []
    for k, val in v.items():
        label = ""
        if names is not None and isinstance(k, int):
            label = _note(name_of(names, k))
        schema = child.get(k, default)
        wrapped = schema.startswith("<<")
        sch = schema[2:] if wrapped else schema
        body = _wrapped(val, sch, depth + 1) if wrapped else _d(val, sch, depth + 1)
        key = _d(k, "plain", depth + 1) if isinstance(k, tuple) else _str(k)  # type: ignore[arg-type]
        items.append(f"{pad}{label}{key}:{body}")
    if not items:
        return "{}"
    return "{\n" + ",\n".join(items) + "\n" + _IND * depth + "}"


def _array(items: list[str], depth: int) -> str:
    if not items:
        return "[]"
    pad = _IND * (depth + 1)
    return "[\n" + ",\n".join(pad + i for i in items) + "\n" + _IND * depth + "]"


def _d(v: CBORValue, schema: str, depth: int) -> str:
    if isinstance(v, Tag):
        inner = "cose" if v.tag in (17, 18) else schema
        return f"{v.tag}(" + _d(v.value, inner, depth) + ")"
    if schema == "envelope" and isinstance(v, FrozenMap):
        return _map(v, depth, EnvelopeKey, {
            2: "<<auth", 3: "<<manifest", 16: "<<sequence", 20: "<<sequence", 23: "<<text",
        }, "plain")
    if schema == "auth" and isinstance(v, tuple):
        items = [_note("digest") + _wrapped(v[0], "digest", depth + 1)] if v else []
        items += [_note("authentication-block") + _wrapped(b, "cose", depth + 1) for b in v[1:]]
        return _array(items, depth)
    if schema == "digest" and isinstance(v, tuple) and len(v) == 2:
        alg = v[0]
        name = _DIGEST_NAMES.get(alg, "?") if isinstance(alg, int) else "?"
        return _array([f"{_note('algorithm-id')}{_str(alg)} / \"{name}\" /", f"{_note('digest-bytes')}{_str(v[1])}"], depth)
    if schema == "cose" and isinstance(v, tuple) and len(v) == 4:
        prot, unprot, payload, sig = v
        return _array([
            _note("protected") + _wrapped(prot, "header", depth + 1) if prot else _note("protected") + "h''",
            _note("unprotected") + _d(unprot, "header", depth + 1),
            _note("payload") + ("null" if payload is None else _str(payload)),
            _note("signature") + _str(sig),
        ], depth)
    if schema == "header" and isinstance(v, FrozenMap):
        pad = _IND * (depth + 1)
        rows = []
        for k, val in v.items():
            label = name_of(CoseHeader, k) if isinstance(k, int) else str(k)
            extra = f" / \"{ALG_DISPLAY[val]}\" /" if k == 1 and isinstance(val, int) and val in ALG_DISPLAY else ""
            rows.append(f"{pad}{_note(label)}{_str(k)}:{_str(val)}{extra}")
        return "{\n" + ",\n".join(rows) + "\n" + _IND * depth + "}" if rows else "{}"
    if schema == "manifest" and isinstance(v, FrozenMap):
        child: dict[object, str] = {3: "<<common", 7: "<<sequence", 8: "<<sequence", 9: "<<sequence"}
        for key in (16, 20, 15, 18, 24):
            child[key] = "digest" if isinstance(v.get(key), tuple) else "<<sequence"
        child[23] = "digest" if isinstance(v.get(23), tuple) else "<<text"
        child[6] = "<<plain"  # set-version (update management)
        return _map(v, depth, ManifestKey, child, "plain")
    if schema == "common" and isinstance(v, FrozenMap):
        return _map(v, depth, CommonKey, {4: "<<sequence"}, "plain")
    if schema == "sequence" and isinstance(v, tuple):
        items = []
        for i in range(0, len(v) - 1, 2):
            code, arg = v[i], v[i + 1]
            name = name_of(Command, code) if isinstance(code, int) else "?"
            body: str
            if code in (Command.DIRECTIVE_OVERRIDE_PARAMETERS, Command.DIRECTIVE_SET_PARAMETERS):
                body = _d(arg, "params", depth + 1)
            elif code == Command.DIRECTIVE_TRY_EACH and isinstance(arg, tuple):
                body = _array([_wrapped(a, "sequence", depth + 2) for a in arg], depth + 1)
            elif code == Command.DIRECTIVE_RUN_SEQUENCE:
                body = _wrapped(arg, "sequence", depth + 1)
            elif code == Command.DIRECTIVE_OVERRIDE_MULTIPLE and isinstance(arg, FrozenMap):
                body = _map(arg, depth + 1, None, {k: "params" for k in arg}, "plain")
            else:
                body = _d(arg, "plain", depth + 1)
            items.append(f"{_note(name)}{_str(code)},{body}")
        return _array(items, depth)
    if schema == "params" and isinstance(v, FrozenMap):
        pad = _IND * (depth + 1)
        rows = []
        for k, val in v.items():
            name = name_of(Parameter, k) if isinstance(k, int) else str(k)
            if k == Parameter.IMAGE_DIGEST:
                body = _wrapped(val, "digest", depth + 1)
            elif k in (Parameter.VERSION, Parameter.WAIT_INFO, Parameter.COMPONENT_METADATA) and isinstance(val, bytes):
                body = _wrapped(val, "plain", depth + 1)
            else:
                body = _d(val, "plain", depth + 1)
                if k in _UUID_PARAMS and isinstance(val, bytes) and len(val) == 16:
                    body += f" / {uuid.UUID(bytes=val)} /"
            rows.append(f"{pad}{_note(name)}{_str(k)}:{body}")
        return "{\n" + ",\n".join(rows) + "\n" + _IND * depth + "}" if rows else "{}"
    if schema == "text" and isinstance(v, FrozenMap):
        return _map(v, depth, None, {}, "text-lang")
    if schema == "text-lang" and isinstance(v, FrozenMap):
        return _map(v, depth, TextKey, {}, "text-comp")
    if schema == "text-comp" and isinstance(v, FrozenMap):
        return _map(v, depth, TextComponentKey, {}, "plain")
    if isinstance(v, tuple):
        return "[" + ", ".join(_d(x, "plain", depth) for x in v) + "]"
    if isinstance(v, FrozenMap):
        return _map(v, depth, None, {}, "plain")
    return _str(v)


# -- explain -------------------------------------------------------------------------------


def _hex_block(data: bytes, indent: str = "    ") -> str:
    return "\n".join(indent + data[i : i + 32].hex(" ") for i in range(0, len(data), 32))


def explain(env: Envelope) -> str:
    """Exactly what is hashed and what is signed, with the bytes."""
    from .. import cose

    wrapped = bstr(env.manifest_bytes)
    header_len = len(wrapped) - len(env.manifest_bytes)
    d = env.auth.digest
    digest_enc = encode_digest(d)
    out = [
        "1. Digest input: the manifest as the bstr found at envelope key 3, CBOR header included",
        f"   ({len(wrapped)} bytes = {header_len}-byte header {wrapped[:header_len].hex()} + {len(env.manifest_bytes)}-byte manifest):",
        _hex_block(wrapped),
        f"2. SUIT_Digest = [{d.alg} / {_DIGEST_NAMES.get(d.alg, '?')} /, h'{d.value.hex()}']",
        f"   encoded ({len(digest_enc)} bytes), the detached COSE payload: {digest_enc.hex()}",
    ]
    if not env.auth.blocks:
        out.append("3. No authentication blocks: this envelope is unsigned (digest only).")
    for i, b in enumerate(env.auth.blocks, start=1):
        msg = b.message
        kind = "Signature1" if msg.cose_tag == 18 else "MAC0"
        tbs = cose.to_be_signed(msg.cose_tag, msg.protected, digest_enc)
        out += [
            f"{2 + i}. Authentication block {i}: {'COSE_Sign1' if msg.cose_tag == 18 else 'COSE_Mac0'}, "
            f"{ALG_DISPLAY.get(msg.alg or 0, str(msg.alg))} ({msg.alg})"
            + (f", kid {msg.kid.hex()}" if msg.kid else ""),
            f"   protected header ({len(msg.protected)} bytes): {msg.protected.hex()}",
            f"   to-be-signed = [\"{kind}\", h'{msg.protected.hex()}', h'', h'{digest_enc.hex()}']",
            f"   encoded ({len(tbs)} bytes):",
            _hex_block(tbs),
            f"   {'signature' if msg.cose_tag == 18 else 'tag'} ({len(msg.tag)} bytes): {msg.tag.hex()}",
        ]
    out += _explain_update_management(env)
    sev = env.manifest.severed_digests()
    if sev:
        out.append("Severable members: each digest covers the member's bstr-wrapped form:")
        for key, dg in sev.items():
            raw = env.severed_member(key)
            state = f"present, {len(bstr(raw))} bytes hashed" if raw is not None else "severed (absent)"
            out.append(f"   {name_of(ManifestKey, key)}: {dg.value.hex()} ({state})")
    return "\n".join(out)


# -- update management (docs/processing-model.md section 14) ----------------------------

_COMPARISONS = {1: ">", 2: ">=", 3: "=", 4: "<=", 5: "<"}


def _um_param_json(code: int, value: bytes) -> object:
    from ..errors import FwsignError
    from .decode import decode_version_match, decode_wait_info

    try:
        if code == Parameter.COMPONENT_METADATA:
            from .decode import _META_NAMES, decode_component_metadata

            return {_META_NAMES.get(k, str(k)): _plain(v)
                    for k, v in decode_component_metadata(value, DEFAULT_LIMITS, "component-metadata")}
        if code == Parameter.VERSION:
            match = decode_version_match(value, DEFAULT_LIMITS, "version")
            return {"comparison": name_of(VersionComparison, match.comparison), "version": list(match.value)}
        return {name_of(WaitEvent, k): _plain(v) for k, v in decode_wait_info(value, DEFAULT_LIMITS, "wait-info",
                                                                                 strict=True)}
    except FwsignError:
        return value.hex()


def _set_version_json(raw: bytes) -> object:
    value = cbor.loads(raw)
    return list(value) if isinstance(value, tuple) else _plain(value)


def _explain_update_management(env: Envelope) -> list[str]:
    """What the update-management commands on the path a host takes ask of the device."""
    from .processor import observe

    um = {int(c) for c in (Command.CONDITION_USE_BEFORE, Command.CONDITION_IMAGE_NOT_MATCH,
                           Command.CONDITION_MINIMUM_BATTERY, Command.CONDITION_UPDATE_AUTHORIZED,
                           Command.CONDITION_VERSION, Command.DIRECTIVE_WAIT)}
    severed = {k: s for k in (16, 20) if (s := decode_severed_sequence(env, k)) is not None}
    lines: list[str] = []
    for o in observe(env.manifest, severed).observations:
        if o.code not in um:
            continue
        where = o.where.removeprefix("manifest.")
        if o.code == Command.CONDITION_USE_BEFORE:
            what = f"the device's time must be before {o.param(int(Parameter.USE_BEFORE))!r} (seconds since 1970)"
        elif o.code == Command.CONDITION_MINIMUM_BATTERY:
            what = f"the battery must hold at least {o.param(int(Parameter.MINIMUM_BATTERY))!r} mWh"
        elif o.code == Command.CONDITION_UPDATE_AUTHORIZED:
            what = (f"the device's application must authorize an update of priority "
                    f"{o.param(int(Parameter.UPDATE_PRIORITY))!r}")
        elif o.code == Command.CONDITION_VERSION:
            what = f"component {o.component}'s version must be {_version_text(o.param(int(Parameter.VERSION)))}"
        elif o.code == Command.CONDITION_IMAGE_NOT_MATCH:
            what = f"component {o.component} must not already hold the image of image-digest"
        else:
            w = o.param(int(Parameter.WAIT_INFO))
            what = f"processing waits (the update is deferred) until {_um_param_json(int(Parameter.WAIT_INFO), w)}" \
                if isinstance(w, bytes) else "processing waits for the events of wait-info"
        lines.append(f"   {where}: {name_of(Command, o.code)}: {what}")
    sv = [raw for k, raw in env.manifest.extensions if k == ManifestKey.SET_VERSION]
    if sv and isinstance(sv[0], bytes):
        lines.insert(0, f"   set-version: this release is version {_set_version_json(sv[0])}")
    if not lines:
        return []
    return ["Update management (draft-ietf-suit-update-management; a device checks these, a host skips them):",
            *lines]


def _version_text(value: object) -> str:
    from ..errors import FwsignError
    from .decode import decode_version_match

    if not isinstance(value, bytes):
        return "?"
    try:
        match = decode_version_match(value, DEFAULT_LIMITS, "version")
    except FwsignError:
        return f"h'{value.hex()}' (not a version match)"
    return f"{_COMPARISONS[match.comparison]} {'.'.join(str(x) for x in match.value)}"
