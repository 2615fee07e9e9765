"""Release descriptions (TOML) for multi-component manifests.

Format (all paths relative to the TOML file; see README "Release files")::

    sequence = 42                   # or "auto"
    vendor-domain = "example.com"   # or vendor-id = "<uuid>"
    class-name = "infusion-pump-v3" # or class-id = "<uuid>"
    description = "Release 4.2"     # optional manifest text
    reference-uri = "https://..."   # optional
    sever = false                   # optional

    [[component]]
    name = "app"                    # names the integrated payload "#app"
    id = ["00"]                     # component id: hex parts
    file = "build/app.bin"
    uri = "https://fw.example.com/app-4.2.bin"   # or embed = true
    version = "4.2.0"
    invoke = true                   # default: true for the first component only
    class-name = "..."              # optional per-component override (e.g. radio firmware)
    encrypt = false                 # with --encrypt-for/--encrypt-kek: leave this one in plaintext

    [[component.slot]]              # instead of file/uri: A/B images
    slot = 0
    file = "build/app-a.bin"
    uri = "https://..."
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import UsageError
from .suit import builder
from .suit.builder import ComponentSpec, ImageSpec, ManifestSpec

_TOP_KEYS = {"sequence", "vendor-domain", "vendor-id", "class-name", "class-id", "description",
             "update-description", "reference-uri", "sever", "component", "language"}
_COMP_KEYS = {"name", "id", "file", "uri", "embed", "version", "invoke", "slot", "description",
              "vendor-domain", "vendor-id", "class-name", "class-id", "encrypt"}
MAX_COMPONENTS = 16

#: Encrypts one image of a release (docs/encryption.md): (plaintext file, integrated?) ->
#: (encryption info for parameter 19, the ciphertext when it is integrated into the envelope).
ImageEncryptor = Callable[[Path, bool], tuple[bytes, "bytes | None"]]


def _str(table: dict[str, Any], key: str, where: str, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise UsageError(f"{where}: '{key}' is required")
        return None
    if not isinstance(value, str) or not value:
        raise UsageError(f"{where}: '{key}' must be a non-empty string")
    return value


def _ident(table: dict[str, Any], where: str, default: tuple[bytes, bytes] | None,
           ) -> tuple[bytes, bytes, str | None, str | None]:
    import uuid

    vd, vi = _str(table, "vendor-domain", where), _str(table, "vendor-id", where)
    cn, ci = _str(table, "class-name", where), _str(table, "class-id", where)
    if vd and vi:
        raise UsageError(f"{where}: give vendor-domain or vendor-id, not both")
    if cn and ci:
        raise UsageError(f"{where}: give class-name or class-id, not both")
    try:
        vid = builder.vendor_uuid(vd) if vd else (uuid.UUID(vi).bytes if vi else None)
        cid_explicit = uuid.UUID(ci).bytes if ci else None
    except ValueError as exc:
        raise UsageError(f"{where}: bad UUID ({exc})") from None
    if vid is None:
        if default is None:
            raise UsageError(f"{where}: vendor-domain or vendor-id is required")
        vid = default[0]
    cid = builder.class_uuid(vid, cn) if cn else cid_explicit
    if cid is None:
        if default is None:
            raise UsageError(f"{where}: class-name or class-id is required")
        cid = default[1]
    return vid, cid, vd, cn


def load_release(path: Path, *, sequence_override: str | None = None,
                 encryptor: ImageEncryptor | None = None) -> ManifestSpec:
    """The manifest a release file describes.

    With ``encryptor``, every image (each slot's too) is encrypted unless its component
    says ``encrypt = false``; the images' digests and sizes stay the plaintext's.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read release file {path}: {exc.strerror}") from None
    if len(raw) > 256 * 1024:
        raise UsageError(f"release file {path} is larger than 256 KiB")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    where = str(path)
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    base = path.parent

    seq_value: Any = sequence_override if sequence_override is not None else doc.get("sequence")
    if seq_value == "auto":
        seqnum = int(time.time())
    elif isinstance(seq_value, int) and not isinstance(seq_value, bool) and seq_value >= 0:
        seqnum = seq_value
    elif isinstance(seq_value, str) and seq_value.isdigit():
        seqnum = int(seq_value)
    else:
        raise UsageError(f"{where}: 'sequence' must be a non-negative integer or \"auto\"")

    vid, cid, vdomain, cname = _ident(doc, where, None)
    comps_raw = doc.get("component")
    if not isinstance(comps_raw, list) or not comps_raw:
        raise UsageError(f"{where}: at least one [[component]] is required")
    if len(comps_raw) > MAX_COMPONENTS:
        raise UsageError(f"{where}: more than {MAX_COMPONENTS} components")

    components: list[ComponentSpec] = []
    payloads: list[tuple[str, bytes]] = []
    for i, comp in enumerate(comps_raw):
        cw = f"{where}: component {i}"
        if not isinstance(comp, dict):
            raise UsageError(f"{cw}: must be a table")
        unknown = set(comp) - _COMP_KEYS
        if unknown:
            raise UsageError(f"{cw}: unknown key(s) {', '.join(sorted(unknown))}")
        name = _str(comp, "name", cw) or f"component{i}"
        ids = comp.get("id", [f"{i:02x}"])
        if not isinstance(ids, list) or not all(isinstance(p, str) for p in ids):
            raise UsageError(f"{cw}: 'id' must be a list of hex strings")
        try:
            component_id = tuple(bytes.fromhex(p) for p in ids)
        except ValueError:
            raise UsageError(f"{cw}: 'id' parts must be hex") from None
        c_vid, c_cid, c_vd, c_cn = _ident(comp, cw, (vid, cid))
        embed = comp.get("embed", False)
        if not isinstance(embed, bool):
            raise UsageError(f"{cw}: 'embed' must be true or false")
        encrypt = comp.get("encrypt", encryptor is not None)
        if not isinstance(encrypt, bool):
            raise UsageError(f"{cw}: 'encrypt' must be true or false")
        if encrypt and encryptor is None:
            raise UsageError(f"{cw}: 'encrypt = true' needs a recipient: --encrypt-for or --encrypt-kek")
        images: list[ImageSpec] = []
        slots = comp.get("slot")
        if slots is not None:
            if "file" in comp or "uri" in comp or embed:
                raise UsageError(f"{cw}: give either file/uri/embed or [[component.slot]] tables")
            if not isinstance(slots, list) or len(slots) < 2:
                raise UsageError(f"{cw}: A/B images need two or more [[component.slot]] tables")
            for j, s in enumerate(slots):
                sw = f"{cw} slot {j}"
                if not isinstance(s, dict) or not isinstance(s.get("slot"), int) or s["slot"] < 0:
                    raise UsageError(f"{sw}: 'slot' must be a non-negative integer")
                f = _str(s, "file", sw, required=True)
                assert f is not None
                digest, size = builder.hash_file(base / f)
                slot_uri = _str(s, "uri", sw)
                info = None
                if encrypt and encryptor is not None:
                    if slot_uri is None:
                        raise UsageError(f"{sw}: an encrypted image needs a 'uri' (where the device fetches the ciphertext)")
                    info, _ = encryptor(base / f, False)
                images.append(ImageSpec(digest, size, s["slot"], slot_uri, info))
        else:
            f = _str(comp, "file", cw, required=True)
            assert f is not None
            digest, size = builder.hash_file(base / f)
            uri = _str(comp, "uri", cw)
            if embed and uri:
                raise UsageError(f"{cw}: 'embed' and 'uri' exclude each other")
            info = None
            ciphertext = None
            if encrypt and encryptor is not None:
                if not embed and uri is None:
                    raise UsageError(f"{cw}: an encrypted image needs a 'uri' or 'embed = true'")
                info, ciphertext = encryptor(base / f, embed)
            if embed:
                uri = f"#{name}"
                payloads.append((uri, ciphertext if ciphertext is not None else (base / f).read_bytes()))
            images.append(ImageSpec(digest, size, None, uri, info))
        invoke = comp.get("invoke", i == 0)
        if not isinstance(invoke, bool):
            raise UsageError(f"{cw}: 'invoke' must be true or false")
        components.append(ComponentSpec(
            component_id=component_id,
            images=tuple(images),
            vendor_id=c_vid,
            class_id=c_cid,
            invoke=invoke,
            text=builder.component_text(
                vendor_domain=c_vd or vdomain, model_name=c_cn or cname,
                version=_str(comp, "version", cw), description=_str(comp, "description", cw),
            ),
        ))
    sever = doc.get("sever", False)
    if not isinstance(sever, bool):
        raise UsageError(f"{where}: 'sever' must be true or false")
    return ManifestSpec(
        sequence_number=seqnum,
        components=tuple(components),
        reference_uri=_str(doc, "reference-uri", where),
        description=_str(doc, "description", where),
        update_description=_str(doc, "update-description", where),
        sever=sever,
        language=_str(doc, "language", where) or "en-US",
        payloads=tuple(payloads),
    )
