"""The ``fwsign`` command line: parse arguments, call the library, print, exit.

Exit codes: 0 success, 1 verification rejected, 2 usage error or unreadable input.
Heavy modules (cryptography, the SUIT codec) are imported inside the commands so that
``fwsign --help`` and argument errors stay fast.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional, TypeVar

import typer

if TYPE_CHECKING:
    from ..keys import PublicKey
    from ..suit.model import Envelope
    from ..verify import TrustedKey

app = typer.Typer(
    name="fwsign",
    help="Sign, inspect and verify IETF SUIT firmware manifests (CBOR/COSE).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
key_app = typer.Typer(help="Show keys in the forms devices and tools need.", no_args_is_help=True)
app.add_typer(key_app, name="key")

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def _die(message: str, code: int) -> NoReturn:
    typer.echo(f"fwsign: {message}", err=True)
    raise typer.Exit(code)


def handled(func: F) -> F:
    """Turn library errors into one-line messages and exit codes, never tracebacks."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..errors import FwsignError

        try:
            return func(*args, **kwargs)
        except FwsignError as exc:
            _die(exc.describe(), exc.exit_code)
        except OSError as exc:
            _die(f"usage: {exc.filename or ''}: {exc.strerror or exc}", EXIT_USAGE)

    return wrapper  # type: ignore[return-value]


# -- shared helpers ------------------------------------------------------------------


def _read_envelope(path: Path) -> bytes:
    """Read envelope bytes (binary, or hex text as the spec vectors are published)."""
    from ..errors import LimitError, UsageError
    from ..limits import DEFAULT_LIMITS

    try:
        size = path.stat().st_size
        if size > 2 * DEFAULT_LIMITS.max_envelope_bytes + 2:
            raise LimitError(
                f"{path} is {size} bytes; envelopes are limited to {DEFAULT_LIMITS.max_envelope_bytes}"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read envelope {path}: {exc.strerror}") from None
    stripped = data.strip()
    if stripped and all(c in b"0123456789abcdefABCDEF \t\r\n" for c in stripped):
        try:
            return bytes.fromhex(stripped.decode())
        except ValueError:
            raise UsageError(f"{path} looks like hex text but is not valid hex") from None
    return data


def _uuid_arg(value: str, what: str) -> bytes:
    import uuid

    from ..errors import UsageError

    try:
        return uuid.UUID(value).bytes
    except ValueError:
        raise UsageError(f"{what} {value!r} is not a UUID (e.g. fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe)") from None


def _identity(
    vendor_id: str | None, vendor_domain: str | None, class_id: str | None, class_name: str | None,
    *, required: bool,
) -> tuple[bytes | None, bytes | None]:
    from ..errors import UsageError
    from ..suit.builder import class_uuid, vendor_uuid

    if vendor_id and vendor_domain:
        raise UsageError("give --vendor-id or --vendor-domain, not both")
    if class_id and class_name:
        raise UsageError("give --class-id or --class-name, not both")
    vid = _uuid_arg(vendor_id, "--vendor-id") if vendor_id else (vendor_uuid(vendor_domain) if vendor_domain else None)
    cid = _uuid_arg(class_id, "--class-id") if class_id else None
    if class_name:
        if vid is None:
            raise UsageError("--class-name needs --vendor-domain or --vendor-id (class ids derive from the vendor id)")
        cid = class_uuid(vid, class_name)
    if required and (vid is None or cid is None):
        raise UsageError("give the device identity: --vendor-domain/--vendor-id and --class-name/--class-id")
    return vid, cid


def _alg_arg(alg: str | None) -> int | None:
    from ..errors import UsageError
    from ..keys import ALG_NAMES

    if alg is None:
        return None
    try:
        return ALG_NAMES[alg.lower()]
    except KeyError:
        raise UsageError(f"unknown algorithm {alg!r}; choose one of {', '.join(ALG_NAMES)}") from None


def _signers(keys: list[Path], alg: str | None, kid: bool) -> list[Any]:
    from ..errors import UsageError
    from ..keys import load_private, make_signer

    if not keys:
        raise UsageError("give at least one --key")
    chosen = _alg_arg(alg)
    return [make_signer(load_private(k), chosen, kid=kid) for k in keys]


def _trusted(keys: list[Path]) -> list[TrustedKey]:
    from ..keys import load_public
    from ..verify import TrustedKey

    return [TrustedKey.of(load_public(k), k.name) for k in keys]


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    from ..keys import write_atomic

    write_atomic(path, data, mode=mode)


def _emit_json(obj: object) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=False))


# -- sign ------------------------------------------------------------------------------


def _parse_slot_pairs(values: list[str], what: str) -> dict[int, str]:
    from ..errors import UsageError

    out: dict[int, str] = {}
    for v in values:
        slot, sep, rest = v.partition("=")
        if not sep or not slot.isdigit() or not rest:
            raise UsageError(f"{what} takes SLOT=VALUE (e.g. 1=build/slot-b.bin), got {v!r}")
        if int(slot) in out:
            raise UsageError(f"{what}: slot {slot} given twice")
        out[int(slot)] = rest
    return out


def _sequence_arg(value: str | None) -> int:
    import time

    from ..errors import UsageError

    if value is None:
        raise UsageError("give --sequence N (anti-rollback counter) or --sequence auto (UTC seconds)")
    if value == "auto":
        return int(time.time())
    if not value.isdigit():
        raise UsageError(f"--sequence must be a non-negative integer or 'auto', got {value!r}")
    return int(value)


@app.command()
@handled
def sign(
    firmware: Annotated[Optional[Path], typer.Argument(help="Firmware image to sign.")] = None,
    key: Annotated[list[Path], typer.Option("--key", "-k", help="Private key (PEM); repeat for several signers.")] = [],  # noqa: B006
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Envelope file to write.")] = None,
    alg: Annotated[Optional[str], typer.Option(help="Algorithm: ed25519, eddsa, esp256, es256, esp384, es384, hmac256.")] = None,
    sequence: Annotated[Optional[str], typer.Option(help="Sequence number, or 'auto' for UTC seconds.")] = None,
    vendor_domain: Annotated[Optional[str], typer.Option(help="Vendor DNS domain; vendor-id = UUIDv5(DNS, domain).")] = None,
    vendor_id: Annotated[Optional[str], typer.Option(help="Vendor id UUID.")] = None,
    class_name: Annotated[Optional[str], typer.Option(help="Device class name; class-id = UUIDv5(vendor-id, name).")] = None,
    class_id: Annotated[Optional[str], typer.Option(help="Class id UUID.")] = None,
    component_id: Annotated[str, typer.Option(help="Component id as hex parts separated by '/', e.g. 00 or 00/6170.")] = "00",
    uri: Annotated[Optional[str], typer.Option(help="Where the device fetches the image (adds an install sequence).")] = None,
    embed: Annotated[bool, typer.Option(help="Integrate the image into the envelope as '#firmware'.")] = False,
    text: Annotated[Optional[str], typer.Option(help="Manifest description (text member).")] = None,
    version: Annotated[Optional[str], typer.Option(help="Component version string (text member).")] = None,
    sever: Annotated[bool, typer.Option(help="Sever install and text: the manifest keeps their digests.")] = False,
    slot: Annotated[Optional[int], typer.Option(help="The image is for this slot (component-slot check).")] = None,
    slot_image: Annotated[list[str], typer.Option(help="SLOT=FILE, repeat for A/B images (try-each).")] = [],  # noqa: B006
    slot_uri: Annotated[list[str], typer.Option(help="SLOT=URI, the download location per slot.")] = [],  # noqa: B006
    invoke: Annotated[bool, typer.Option(help="Add an invoke sequence (secure boot).")] = True,
    reference_uri: Annotated[Optional[str], typer.Option(help="Where the full manifest can be found.")] = None,
    release: Annotated[Optional[Path], typer.Option(help="Release description (TOML) for multi-component manifests.")] = None,
    kid: Annotated[bool, typer.Option(help="Put the key id (8-byte RFC 9679 thumbprint) in the protected header.")] = True,
    unsigned: Annotated[bool, typer.Option(help="Write an envelope with no signature, for signing ceremonies.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Sign a firmware image (or a release description) into a SUIT envelope."""
    from ..errors import UsageError
    from ..suit import builder
    from ..suit.builder import ComponentSpec, ImageSpec, ManifestSpec

    if output is None:
        raise UsageError("give the envelope to write with -o/--output")
    signers = [] if unsigned else _signers(key, alg, kid)
    payloads: list[tuple[str, bytes]] = []
    if release is not None:
        if firmware is not None or slot_image:
            raise UsageError("--release describes the images; do not give FIRMWARE or --slot-image too")
        from ..release import load_release

        spec = load_release(release, sequence_override=sequence)
        payloads = list(spec.payloads)
    else:
        vid, cid = _identity(vendor_id, vendor_domain, class_id, class_name, required=True)
        assert vid is not None and cid is not None
        seqnum = _sequence_arg(sequence)
        images: list[ImageSpec] = []
        if slot_image:
            if firmware is not None or slot is not None or uri is not None or embed:
                raise UsageError("with --slot-image give neither FIRMWARE, --slot, --uri nor --embed")
            uris = _parse_slot_pairs(slot_uri, "--slot-uri")
            files = _parse_slot_pairs(slot_image, "--slot-image")
            if len(files) < 2:
                raise UsageError("A/B signing needs two or more --slot-image SLOT=FILE")
            if uris and set(uris) != set(files):
                raise UsageError("--slot-uri must name the same slots as --slot-image")
            for s, f in sorted(files.items()):
                digest, size = builder.hash_file(Path(f))
                images.append(ImageSpec(digest, size, s, uris.get(s)))
        else:
            if firmware is None:
                raise UsageError("give the FIRMWARE image to sign (or --slot-image / --release)")
            if slot_uri:
                raise UsageError("--slot-uri goes with --slot-image")
            if embed and uri:
                raise UsageError("--embed fetches the image from the envelope; do not give --uri too")
            digest, size = builder.hash_file(firmware)
            img_uri = "#firmware" if embed else uri
            if embed:
                payloads.append(("#firmware", firmware.read_bytes()))
            images.append(ImageSpec(digest, size, slot, img_uri))
        comp = ComponentSpec(
            component_id=_component_id(component_id),
            images=tuple(images),
            vendor_id=vid,
            class_id=cid,
            invoke=invoke,
            text=builder.component_text(vendor_domain=vendor_domain, model_name=class_name, version=version),
        )
        spec = ManifestSpec(seqnum, (comp,), reference_uri=reference_uri, description=text, sever=sever)
    manifest, severed = builder.build_manifest(spec)
    data = builder.assemble_envelope(manifest, signers, severed=severed, payloads=payloads)
    summary = _summary(output, data)  # decodes the result strictly before anything is written
    _write(output, data)
    _print_summary(summary, json_out)


def _component_id(text: str) -> tuple[bytes, ...]:
    from ..errors import UsageError

    try:
        return tuple(bytes.fromhex(p) for p in text.split("/")) if text else ()
    except ValueError:
        raise UsageError(f"--component-id must be hex parts separated by '/', got {text!r}") from None


def _summary(output: Path, data: bytes) -> dict[str, object]:
    from ..suit.decode import decode_envelope

    env = decode_envelope(data)
    return {
        "envelope": str(output),
        "bytes": len(data),
        "sequence_number": env.manifest.sequence_number,
        "manifest_digest": env.auth.digest.value.hex(),
        "signatures": len(env.auth.blocks),
        "components": len(env.manifest.common.components),
    }


def _print_summary(summary: dict[str, object], json_out: bool) -> None:
    output = summary["envelope"]
    if json_out:
        _emit_json(summary)
    else:
        typer.echo(
            f"wrote {output} ({summary['bytes']} bytes): sequence {summary['sequence_number']}, "
            f"{summary['signatures']} signature(s), manifest digest {summary['manifest_digest']}"
        )


# -- signing ceremony: sign-envelope, tbs, attach, sever -------------------------------


def _load_envelope(path: Path) -> Envelope:
    from ..suit.decode import decode_envelope
    from ..verify import check_manifest_digest

    env = decode_envelope(_read_envelope(path))
    check_manifest_digest(env)
    return env


def _refuse_duplicate_kid(env: Envelope, kid: bytes | None) -> None:
    from ..errors import UsageError

    if kid is not None and any(b.message.kid == kid for b in env.auth.blocks):
        raise UsageError(f"the envelope already carries a signature by key {kid.hex()}")


@app.command("sign-envelope")
@handled
def sign_envelope(
    envelope: Annotated[Path, typer.Argument(help="Unsigned or signed envelope.")],
    key: Annotated[list[Path], typer.Option("--key", "-k", help="Private key (PEM); repeatable.")] = [],  # noqa: B006
    alg: Annotated[Optional[str], typer.Option(help="esp256, es256, ed25519, eddsa, esp384, es384, hmac256.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output (default: overwrite ENVELOPE atomically).")] = None,
    kid: Annotated[bool, typer.Option(help="Put the key id in the protected header.")] = True,
) -> None:
    """Add a signature to an existing envelope (several signers, or an algorithm migration)."""
    from .. import cose
    from ..suit import builder
    from ..suit.decode import decode_envelope
    from ..suit.encode import encode_digest

    env = _load_envelope(envelope)
    data = b""
    for signer in _signers(key, alg, kid):
        _refuse_duplicate_kid(env, signer.kid)
        data = builder.add_block(env, cose.build(signer, encode_digest(env.auth.digest)))
        env = decode_envelope(data)
    target = output or envelope
    _write(target, data)
    typer.echo(f"wrote {target}: {len(env.auth.blocks)} authentication block(s)")


@app.command()
@handled
def tbs(
    envelope: Annotated[Path, typer.Argument(help="Envelope to be signed.")],
    key: Annotated[Path, typer.Option("--key", "-k", help="Public key of the signer (sets alg default and kid).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the to-be-signed bytes.")],
    alg: Annotated[Optional[str], typer.Option(help="Algorithm (default: the key's default).")] = None,
    kid: Annotated[bool, typer.Option(help="Protect the key id (must match attach).")] = True,
) -> None:
    """Write the exact bytes an external signer (HSM, air-gapped machine) must sign."""
    from .. import cose
    from ..keys import KIND_ALGS, check_alg, key_id, key_kind, load_public
    from ..suit.encode import encode_digest

    env = _load_envelope(envelope)
    pub = load_public(key)
    chosen = _alg_arg(alg) or KIND_ALGS[key_kind(pub)][0]
    check_alg(key_kind(pub), chosen)
    tag = 17 if key_kind(pub) == "hmac" else 18
    protected = cose.protected_header(chosen, key_id(pub) if kid else None)
    _write(output, cose.to_be_signed(tag, protected, encode_digest(env.auth.digest)))
    typer.echo(
        f"wrote {output}: sign these bytes with {key_kind(pub)} ({'SHA-256' if chosen != -51 and chosen != -35 else 'SHA-384'} "
        "for ECDSA), then run fwsign attach"
    )


@app.command()
@handled
def attach(
    envelope: Annotated[Path, typer.Argument(help="Envelope the signature belongs to.")],
    signature: Annotated[Path, typer.Option(help="Signature file: raw (r||s or Ed25519) or DER ECDSA.")],
    key: Annotated[Path, typer.Option("--key", "-k", help="Public key that made the signature.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output (default: overwrite ENVELOPE atomically).")] = None,
    alg: Annotated[Optional[str], typer.Option(help="Algorithm used with tbs.")] = None,
    kid: Annotated[bool, typer.Option(help="The key id was protected in tbs.")] = True,
) -> None:
    """Attach an externally made signature after checking it against the public key."""
    from .. import cose
    from ..errors import SignatureInvalid, UsageError
    from ..keys import KIND_ALGS, check_alg, key_id, key_kind, load_public, verify_raw
    from ..suit import builder
    from ..suit.encode import encode_digest

    env = _load_envelope(envelope)
    pub = load_public(key)
    kind = key_kind(pub)
    chosen = _alg_arg(alg) or KIND_ALGS[kind][0]
    check_alg(kind, chosen)
    try:
        sig = signature.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read signature {signature}: {exc.strerror}") from None
    sig = _normalise_signature(sig, kind)
    kid_bytes = key_id(pub) if kid else None
    _refuse_duplicate_kid(env, kid_bytes)
    tag = 17 if kind == "hmac" else 18
    protected = cose.protected_header(chosen, kid_bytes)
    tbs_bytes = cose.to_be_signed(tag, protected, encode_digest(env.auth.digest))
    if not verify_raw(pub, chosen, tbs_bytes, sig):
        raise SignatureInvalid(
            f"the signature in {signature} does not verify with {key} over this envelope's to-be-signed bytes"
        )
    data = builder.add_block(env, cose.assemble(tag, protected, sig))
    target = output or envelope
    _write(target, data)
    typer.echo(f"signature verified and attached: wrote {target}")


def _normalise_signature(sig: bytes, kind: str) -> bytes:
    """Accept raw r||s or DER (as openssl and PKCS#11 tools emit) for ECDSA."""
    from ..errors import UsageError

    size = {"p256": 32, "p384": 48}.get(kind)
    if size is None or len(sig) == 2 * size:
        return sig
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    try:
        r, s = decode_dss_signature(sig)
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    except (ValueError, OverflowError):
        raise UsageError(f"signature is neither {2 * size}-byte raw r||s nor DER ECDSA") from None


@app.command()
@handled
def sever(
    envelope: Annotated[Path, typer.Argument(help="Envelope with severable members.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Envelope without them.")],
) -> None:
    """Remove severable members (install, text ...) while keeping the signatures valid."""
    from ..suit import builder

    env = _load_envelope(envelope)
    data = builder.strip_severable(env)
    _write(output, data)
    typer.echo(f"wrote {output} ({len(data)} bytes, {len(env.raw) - len(data)} bytes severed)")


# -- verify ----------------------------------------------------------------------------


@app.command()
@handled
def verify(
    envelope: Annotated[Path, typer.Argument(help="Envelope to verify (binary or hex text).")],
    key: Annotated[list[Path], typer.Option("--key", "-k", help="Trusted key: public PEM, COSE_Key, or HMAC key; repeatable.")] = [],  # noqa: B006
    threshold: Annotated[int, typer.Option(help="How many distinct trusted keys must have signed.")] = 1,
    vendor_domain: Annotated[Optional[str], typer.Option(help="Expected vendor, by DNS domain.")] = None,
    vendor_id: Annotated[Optional[str], typer.Option(help="Expected vendor id UUID.")] = None,
    class_name: Annotated[Optional[str], typer.Option(help="Expected device class name.")] = None,
    class_id: Annotated[Optional[str], typer.Option(help="Expected class id UUID.")] = None,
    min_sequence: Annotated[Optional[int], typer.Option(help="Reject sequence numbers below this (anti-rollback).", min=0)] = None,
    image: Annotated[Optional[Path], typer.Option(help="Image to check against image-digest and image-size.")] = None,
    component: Annotated[int, typer.Option(help="Component the image belongs to.", min=0)] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Verify an envelope: structure, digest, signatures, severed members, policy, image."""
    from ..errors import UsageError
    from ..verify import Policy, read_chunks, verify_envelope

    if not key:
        raise UsageError("give at least one trusted --key")
    vid, cid = _identity(vendor_id, vendor_domain, class_id, class_name, required=False)
    policy = Policy(
        keys=tuple(_trusted(key)), threshold=threshold, vendor_id=vid, class_id=cid,
        min_sequence=min_sequence, component=component,
    )
    data = _read_envelope(envelope)
    if image is not None and not image.is_file():
        raise UsageError(f"cannot read image {image}: no such file")
    report = verify_envelope(data, policy, read_chunks(image) if image is not None else None)
    if json_out:
        _emit_json(report.as_dict())
    else:
        for c in report.checks:
            status = "skip" if c.ok is None else ("pass" if c.ok else "FAIL")
            typer.echo(f"  {status:4}  {c.name:16} {c.detail}")
    if report.error is not None:
        if not json_out:
            typer.echo(f"rejected: {report.error.describe()}", err=True)
        raise typer.Exit(report.error.exit_code)
    if not json_out:
        typer.echo(f"valid: {envelope}")


# -- inspect ---------------------------------------------------------------------------


@app.command()
@handled
def inspect(
    envelope: Annotated[Path, typer.Argument(help="Envelope to show (binary or hex text).")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable form.")] = False,
    diag: Annotated[bool, typer.Option(help="CBOR diagnostic notation, annotated with SUIT names.")] = False,
    explain: Annotated[bool, typer.Option(help="Print the digest input, the SUIT_Digest and each to-be-signed structure.")] = False,
) -> None:
    """Show an envelope's contents. Does not verify signatures (use fwsign verify)."""
    from ..suit import render
    from ..suit.decode import decode_envelope

    data = _read_envelope(envelope)
    env = decode_envelope(data)
    if json_out:
        _emit_json(render.to_json(env))
    elif diag:
        typer.echo(render.diag(env))
    elif explain:
        typer.echo(render.explain(env))
    else:
        typer.echo(render.tree(env))


# -- keys ------------------------------------------------------------------------------


@app.command()
@handled
def keygen(
    alg: Annotated[str, typer.Option(help="ed25519, p256, p384 or hmac.")] = "ed25519",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Base name: writes NAME.pem, NAME.pub.pem, NAME.cose.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Generate a key pair: NAME.pem (private, 0600), NAME.pub.pem and NAME.cose."""
    from ..errors import UsageError
    from ..keys import encode_cose_key, generate, key_id, private_pem, public_of, public_pem

    if output is None:
        raise UsageError("give the base name of the key files with -o/--output")
    kind = alg.lower()
    key = generate(kind)
    base = str(output)
    files = [Path(base + ".pem"), Path(base + ".cose")]
    if kind != "hmac":
        files.insert(1, Path(base + ".pub.pem"))
    existing = [str(f) for f in files if f.exists()]
    if existing and not force:
        raise UsageError(f"refusing to overwrite {', '.join(existing)} (use --force)")
    pub = public_of(key)
    _write(files[0], private_pem(key), 0o600)
    if kind == "hmac":
        # A symmetric COSE_Key holds the secret itself: private file mode.
        _write(files[1], encode_cose_key(pub), 0o600)
    else:
        _write(files[1], public_pem(pub))
        _write(files[2], encode_cose_key(pub))
    typer.echo(f"{kind} key {key_id(key).hex()}: " + ", ".join(str(f) for f in files))


@key_app.command("show")
@handled
def key_show(
    key: Annotated[Path, typer.Argument(help="Public or private key file (PEM or COSE_Key).")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable form.")] = False,
) -> None:
    """Print kid, public PEM, COSE_Key hex and a C array for a bootloader. Never prints private parts."""
    from ..keys import c_array, encode_cose_key, key_id, key_kind, load_public, public_pem, public_raw, thumbprint

    pub: PublicKey = load_public(key)
    kind = key_kind(pub)
    if kind == "hmac":
        info: dict[str, object] = {"kind": kind, "kid": key_id(pub).hex(),
                                   "note": "symmetric key: its value is secret and is not printed"}
    else:
        raw = public_raw(pub)
        info = {
            "kind": kind,
            "kid": key_id(pub).hex(),
            "thumbprint": thumbprint(pub).hex(),
            "public_pem": public_pem(pub).decode(),
            "cose_key": encode_cose_key(pub).hex(),
            "raw_public": raw.hex(),
            "c_array": c_array(f"fwsign_trust_{kind}", raw),
        }
    if json_out:
        _emit_json(info)
        return
    for name, value in info.items():
        if name in ("public_pem", "c_array"):
            typer.echo(f"{name}:\n{value}")
        else:
            typer.echo(f"{name}: {value}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("fwsign: interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
