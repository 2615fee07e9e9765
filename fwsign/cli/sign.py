"""Signing commands: sign, sign-envelope, and the ceremony helpers tbs, attach, sever."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import add_command, add_identity_options, echo, emit_json, identity, load_envelope, signers, write

ALG_HELP = "Algorithm: ed25519 (eddsa), esp256 (es256), esp384 (es384), hmac256; default: the key's own."


def register(sub: Any) -> None:
    p = add_command(sub, "sign", cmd_sign, "Sign a firmware image (or a release description) into a SUIT envelope.")
    p.add_argument("firmware", nargs="?", type=Path, metavar="FIRMWARE", help="Firmware image to sign.")
    p.add_argument("-k", "--key", action="append", metavar="KEY",
                   help="Private key: PEM file, signer URI (pkcs11:, awskms:, gcpkms:, azurekms:, hv:) or .uri file; repeatable.")
    p.add_argument("-o", "--output", type=Path, metavar="ENVELOPE", help="Envelope file to write.")
    p.add_argument("--alg", help=ALG_HELP)
    p.add_argument("--sequence", metavar="N", help="Sequence number (anti-rollback), or 'auto' for UTC seconds.")
    add_identity_options(p, expected=False)
    p.add_argument("--component-id", default="00", metavar="HEX[/HEX...]",
                   help="Component id as hex parts separated by '/', e.g. 00 or 00/6170 (default 00).")
    p.add_argument("--uri", help="Where the device fetches the image (adds an install sequence).")
    p.add_argument("--embed", action="store_true", help="Integrate the image into the envelope as '#firmware'.")
    p.add_argument("--text", help="Manifest description (text member).")
    p.add_argument("--version", dest="fw_version", metavar="VERSION", help="Component version string (text member).")
    p.add_argument("--sever", action="store_true", help="Sever install and text: the manifest keeps their digests.")
    p.add_argument("--slot", type=int, help="The image is for this slot (component-slot check).")
    p.add_argument("--slot-image", action="append", default=[], metavar="SLOT=FILE", help="Repeat for A/B images (try-each).")
    p.add_argument("--slot-uri", action="append", default=[], metavar="SLOT=URI", help="The download location per slot.")
    p.add_argument("--no-invoke", dest="invoke", action="store_false", help="Leave out the invoke sequence (secure boot).")
    p.add_argument("--reference-uri", help="Where the full manifest can be found.")
    p.add_argument("--release", type=Path, metavar="TOML", help="Release description for multi-component manifests.")
    p.add_argument("--no-kid", dest="kid", action="store_false", help="Leave the key id out of the protected header.")
    p.add_argument("--unsigned", action="store_true", help="Write an envelope with no signature, for signing ceremonies.")
    p.add_argument("--json", dest="json_out", action="store_true", help="Print a JSON summary.")
    p.add_argument("--delegation", action="append", default=[], type=Path, metavar="X.cwt",
                   help="Delegation CWT (fwsign delegate issue) for the signing key; repeat in chain order, anchor's first.")
    _audit_options(p)
    delta = p.add_argument_group("delta update (docs/delta.md)")
    delta.add_argument("--delta-from", type=Path, metavar="OLD.bin",
                       help="Deliver FIRMWARE as a patch from this image (the one the device runs).")
    delta.add_argument("--patch-out", type=Path, metavar="PATCH",
                       help="Where to write the patch (default: ENVELOPE with .fwd1 added; with --embed, none).")
    # SUIT algorithm profiles (draft-ietf-suit-mti; fwsign.suit.profiles): a separate addition.
    p.add_argument("--profile", metavar="NAME",
                   help="Refuse to write an envelope that does not conform to this SUIT algorithm profile, e.g. "
                        "suit-sha256-hsslms-a256kw-a256ctr (the mandatory one: an HSS-LMS key, --encrypt-kek with an "
                        "a256kw key; sets --content-alg a256ctr unless given).")
    enc = p.add_argument_group("payload encryption (docs/encryption.md)")
    enc.add_argument("--encrypt-for", action="append", default=[], type=Path, metavar="PUB",
                     help="Encrypt the image for this device (or device-class) X25519/P-256 public key (ECDH-ES+A128KW); repeatable.")
    enc.add_argument("--encrypt-kek", action="append", default=[], type=Path, metavar="KEY",
                     help="Encrypt the image for holders of this pre-shared key-encryption key (A128KW/A256KW); repeatable.")
    enc.add_argument("--content-alg", type=str.lower, metavar="ALG",
                     help="Content encryption: a128gcm (default), a256gcm, chacha20-poly1305, a128ctr, a256ctr.")
    enc.add_argument("--encrypted-payload", type=Path, metavar="OUT",
                     help="Write the detached ciphertext here (the file to publish at --uri); or use --embed. "
                          "With --release/--slot-image: a directory for the IMAGE.enc files (default: next to each image).")
    _update_management_options(p)

    p = add_command(sub, "sign-envelope", cmd_sign_envelope,
                    "Add a signature to an existing envelope (several signers, or an algorithm migration).")
    p.add_argument("envelope", type=Path, metavar="ENVELOPE", help="Unsigned or signed envelope.")
    p.add_argument("-k", "--key", action="append", metavar="KEY", help="Private key: PEM, signer URI or .uri file; repeatable.")
    p.add_argument("--alg", help=ALG_HELP)
    p.add_argument("-o", "--output", type=Path, help="Output (default: overwrite ENVELOPE atomically).")
    p.add_argument("--no-kid", dest="kid", action="store_false", help="Leave the key id out of the protected header.")
    _audit_options(p)

    p = add_command(sub, "tbs", cmd_tbs, "Write the exact bytes an external signer (HSM, air-gapped machine) must sign.")
    p.add_argument("envelope", type=Path, metavar="ENVELOPE", help="Envelope to be signed.")
    p.add_argument("-k", "--key", type=Path, required=True, metavar="PUB", help="Public key of the signer (sets alg default and kid).")
    p.add_argument("-o", "--output", type=Path, required=True, help="Where to write the to-be-signed bytes.")
    p.add_argument("--alg", help=ALG_HELP)
    p.add_argument("--no-kid", dest="kid", action="store_false", help="Do not protect the key id (must match attach).")

    p = add_command(sub, "attach", cmd_attach, "Attach an externally made signature after checking it against the public key.")
    p.add_argument("envelope", type=Path, metavar="ENVELOPE", help="Envelope the signature belongs to.")
    p.add_argument("--signature", type=Path, required=True, metavar="FILE", help="Signature: raw (r||s or Ed25519) or DER ECDSA.")
    p.add_argument("-k", "--key", type=Path, required=True, metavar="PUB", help="Public key that made the signature.")
    p.add_argument("-o", "--output", type=Path, help="Output (default: overwrite ENVELOPE atomically).")
    p.add_argument("--alg", help="Algorithm used with tbs.")
    p.add_argument("--no-kid", dest="kid", action="store_false", help="The key id was not protected in tbs.")
    _audit_options(p)

    p = add_command(sub, "sever", cmd_sever, "Remove severable members (install, text ...) while keeping the signatures valid.")
    p.add_argument("envelope", type=Path, metavar="ENVELOPE", help="Envelope with severable members.")
    p.add_argument("-o", "--output", type=Path, required=True, help="Envelope without them.")


def _with_delegation(data: bytes, files: list[Path]) -> bytes:
    """Carry the trust-domains delegation chain (envelope member 1), anchor's CWT first."""
    from ..delegation import attach
    from ..errors import UsageError

    chain = []
    for f in files:
        try:
            chain.append(f.read_bytes())
        except OSError as exc:
            raise UsageError(f"cannot read delegation {f}: {exc.strerror}") from None
    return attach(data, [chain])


def _audit_options(p: Any) -> None:
    p.add_argument("--audit-log", type=Path, metavar="FILE",
                   help="Append a hash-chained record of this signing to FILE (default: $FWSIGN_AUDIT_LOG, if set).")
    p.add_argument("--reason", help="Why this was signed (one line, recorded in the audit log).")


def _audit(a: argparse.Namespace, action: str, output: Path, data: bytes, signers_used: list[Any]) -> None:
    """Record a completed signing when --audit-log or FWSIGN_AUDIT_LOG names a log."""
    import os

    target = a.audit_log or (Path(os.environ["FWSIGN_AUDIT_LOG"]) if os.environ.get("FWSIGN_AUDIT_LOG") else None)
    if target is None:
        return
    from ..audit import append
    from ..signers import signer_kind
    from ..suit.decode import decode_envelope

    env = decode_envelope(data)
    details: dict[str, Any] = {"sequence": env.manifest.sequence_number, "signatures": len(env.auth.blocks)}
    # The one-time index of every HSS-LMS signature: `audit verify` refuses a log that shows one twice.
    used = {(s.kid or b"").hex(): s.last_index for s in signers_used if getattr(s, "last_index", None) is not None}
    if used:
        details["hss-index"] = used
    append(target, action, artifact=str(output), artifact_bytes=data, manifest_digest=env.auth.digest.value.hex(),
           key_ids=[(s.kid or b"").hex() for s in signers_used], signers=[signer_kind(s) for s in signers_used],
           reason=a.reason, details=details)


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


def _component_id(text: str) -> tuple[bytes, ...]:
    from ..errors import UsageError

    try:
        return tuple(bytes.fromhex(p) for p in text.split("/")) if text else ()
    except ValueError:
        raise UsageError(f"--component-id must be hex parts separated by '/', got {text!r}") from None


def cmd_sign(a: argparse.Namespace) -> None:
    from ..errors import UsageError
    from ..suit import builder
    from ..suit.builder import ComponentSpec, ImageSpec, ManifestSpec

    if a.output is None:
        raise UsageError("give the envelope to write with -o/--output")
    prof = _profile_defaults(a)
    keys = [] if a.unsigned else signers(a.key, a.alg, a.kid)
    payloads: list[tuple[str, bytes]] = []
    encrypting = _check_encryption_args(a)
    pendings: Any = None
    encryptor: Any = None
    if encrypting:
        from ..encryption.files import PendingSet

        pendings = PendingSet()
        encryptor = _encryptor(a, pendings)
    try:
        if a.release is not None:
            if a.firmware is not None or a.slot_image:
                raise UsageError("--release describes the images; do not give FIRMWARE or --slot-image too")
            if a.delta_from is not None:
                raise UsageError("--delta-from signs one FIRMWARE; release files do not describe patches yet")
            from ..release import load_release

            spec = load_release(a.release, sequence_override=a.sequence, encryptor=encryptor)
            payloads = list(spec.payloads)
        else:
            vid, cid = identity(a, required=True)
            assert vid is not None and cid is not None
            seqnum = _sequence_arg(a.sequence)
            images: list[ImageSpec] = []
            if a.slot_image:
                if a.firmware is not None or a.slot is not None or a.uri is not None or a.embed:
                    raise UsageError("with --slot-image give neither FIRMWARE, --slot, --uri nor --embed")
                uris = _parse_slot_pairs(a.slot_uri, "--slot-uri")
                files = _parse_slot_pairs(a.slot_image, "--slot-image")
                if len(files) < 2:
                    raise UsageError("A/B signing needs two or more --slot-image SLOT=FILE")
                if uris and set(uris) != set(files):
                    raise UsageError("--slot-uri must name the same slots as --slot-image")
                if encrypting and not uris:
                    raise UsageError("encrypted slot images need --slot-uri SLOT=URI for every slot: "
                                     "where the device fetches each ciphertext")
                for s, f in sorted(files.items()):
                    digest, size = builder.hash_file(Path(f))
                    info = encryptor(Path(f), False)[0] if encrypting else None
                    images.append(ImageSpec(digest, size, s, uris.get(s), info))
            else:
                firmware: Path | None = a.firmware
                if firmware is None:
                    raise UsageError("give the FIRMWARE image to sign (or --slot-image / --release)")
                if a.slot_uri:
                    raise UsageError("--slot-uri goes with --slot-image")
                if a.embed and a.uri:
                    raise UsageError("--embed fetches the image from the envelope; do not give --uri too")
                if a.delta_from is not None:
                    if encrypting or a.slot_image:
                        raise UsageError("--delta-from makes one plain patch: not with encryption or --slot-image")
                    image, patch = _delta(a, firmware)
                    if a.embed:
                        payloads.append(("#patch", patch))
                    images.append(image)
                digest, size = builder.hash_file(firmware)
                img_uri = "#firmware" if a.embed else a.uri
                info = None
                ciphertext = None
                if encrypting:
                    info, ciphertext = encryptor(firmware, a.embed)
                if a.embed and a.delta_from is None:
                    payloads.append(("#firmware", ciphertext if ciphertext is not None else firmware.read_bytes()))
                if a.delta_from is None:
                    images.append(ImageSpec(digest, size, a.slot, img_uri, info))
            comp = ComponentSpec(
                component_id=_component_id(a.component_id),
                images=tuple(images),
                vendor_id=vid,
                class_id=cid,
                invoke=a.invoke,
                text=builder.component_text(vendor_domain=a.vendor_domain, model_name=a.class_name, version=a.fw_version),
            )
            spec = ManifestSpec(seqnum, (comp,), reference_uri=a.reference_uri, description=a.text, sever=a.sever)
        rules = _update_rules(a, spec, keys)
        if rules is not None:
            import dataclasses

            spec = dataclasses.replace(spec, update=rules)
        manifest, severed = builder.build_manifest(spec)
        if prof is not None:
            # before signing: a refused envelope must not spend a signature (or a one-time key)
            _check_profile(prof, builder.assemble_envelope(manifest, [], severed=severed, payloads=payloads),
                           [k.alg for k in keys])
        data = builder.assemble_envelope(manifest, keys, severed=severed, payloads=payloads)
        if a.delegation:
            data = _with_delegation(data, a.delegation)
        summary = _summary(a.output, data)  # decodes the result strictly before anything is written
    except BaseException:
        if pendings is not None:
            pendings.discard()
        raise
    written: list[str] = []
    if pendings is not None and pendings.files:
        # Ciphertexts first, then the envelope that names them; a failed envelope write takes them back.
        pendings.commit()
        try:
            write(a.output, data)
        except BaseException:
            pendings.revert()
            raise
        written = [str(p.path) for p in pendings.files]
        if a.release is None and not a.slot_image:
            summary["encrypted_payload"] = written[0]
        summary["encrypted_payloads"] = written
    elif a.delta_from is not None and not a.embed:
        # the patch first, then the envelope that names it
        patch_path = a.patch_out or a.output.with_name(a.output.name + ".fwd1")
        write(patch_path, patch)
        write(a.output, data)
        summary["patch"] = {"path": str(patch_path), "bytes": len(patch), "of_image_bytes": images[0].size}
    else:
        write(a.output, data)
    _audit(a, "sign-unsigned" if a.unsigned else "sign", a.output, data, keys)
    if a.json_out:
        emit_json(summary)
    else:
        echo(
            f"wrote {a.output} ({summary['bytes']} bytes): sequence {summary['sequence_number']}, "
            f"{summary['signatures']} signature(s), manifest digest {summary['manifest_digest']}"
        )
        if a.release is not None or a.slot_image:
            for path in written:
                echo(f"wrote {path} (encrypted image)")


def _delta(a: argparse.Namespace, firmware: Path) -> tuple[Any, bytes]:
    """The image entry and patch of ``sign --delta-from`` (docs/delta.md)."""
    from ..delta.release import EMBEDDED_PATCH, delta_image
    from ..errors import UsageError

    if not a.embed and not a.uri:
        raise UsageError("a delta release needs --uri (where the device fetches the patch) or --embed")
    try:
        old, new = a.delta_from.read_bytes(), firmware.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror}") from None
    return delta_image(old, new, EMBEDDED_PATCH if a.embed else a.uri, a.slot)


def _profile_defaults(a: argparse.Namespace) -> Any:
    """--profile: the profile, with its content encryption as the --content-alg default."""
    if not a.profile:
        return None
    from ..encryption.algs import CONTENT_NAMES
    from ..suit.profiles import profile

    prof = profile(a.profile)
    if a.content_alg is None and (a.encrypt_for or a.encrypt_kek):
        a.content_alg = next((n for n, v in CONTENT_NAMES.items() if v == prof.content), None)
    return prof


def _check_profile(prof: Any, data: bytes, algs: list[int]) -> None:
    from ..errors import UsageError
    from ..suit.profiles import conforms

    result = conforms(data, prof, algs)
    if not result.ok:
        raise UsageError(f"the envelope does not conform to {prof.name}: {result.problem}; nothing was written")


def _check_encryption_args(a: argparse.Namespace) -> bool:
    from ..errors import UsageError

    encrypting = bool(a.encrypt_for or a.encrypt_kek)
    if not encrypting:
        if a.content_alg or a.encrypted_payload:
            raise UsageError("--content-alg and --encrypted-payload need a recipient: --encrypt-for or --encrypt-kek")
        return False
    if a.release is not None or a.slot_image:
        # Several images: each ciphertext is IMAGE.enc, next to IMAGE or in the --encrypted-payload directory.
        if a.encrypted_payload is not None and not a.encrypted_payload.is_dir():
            raise UsageError("with --release or --slot-image, --encrypted-payload names an existing directory "
                             f"for the ciphertexts (IMAGE.enc each); {a.encrypted_payload} is not one")
        return True
    if a.embed == (a.encrypted_payload is not None):
        raise UsageError("an encrypted image goes either to --encrypted-payload OUT (with --uri) or into the envelope (--embed)")
    if a.encrypted_payload is not None and not a.uri:
        raise UsageError("--encrypted-payload needs --uri: where the device fetches the ciphertext")
    if a.encrypted_payload is not None and a.output is not None and a.encrypted_payload.resolve() == a.output.resolve():
        raise UsageError("--encrypted-payload and -o must be different files")
    return True


def _encryptor(a: argparse.Namespace, pendings: Any) -> Any:
    """Encrypt one image (a fresh content key and IV each): (plaintext, integrated?) -> (info, ciphertext or None).

    A detached ciphertext is collected in ``pendings`` (renamed into place only with the envelope):
    for a single FIRMWARE it goes to --encrypted-payload OUT; for --release and --slot-image to
    IMAGE.enc next to IMAGE, or in the --encrypted-payload directory.
    """
    from ..encryption import CONTENT_NAMES
    from ..encryption.files import encrypt_for, load_recipients
    from ..errors import UsageError

    name = a.content_alg or "a128gcm"
    if name not in CONTENT_NAMES:
        raise UsageError(f"--content-alg must be one of {', '.join(CONTENT_NAMES)}, got {name!r}")
    alg = CONTENT_NAMES[name]
    recipients = load_recipients(a.encrypt_for, a.encrypt_kek)
    several = a.release is not None or bool(a.slot_image)

    def encrypt(plain: Path, embed: bool) -> tuple[bytes, bytes | None]:
        if not plain.is_file():
            raise UsageError(f"cannot read image {plain}: no such file")
        out: Path | None = None
        if not embed:
            out = (a.encrypted_payload or plain.parent) / f"{plain.name}.enc" if several else a.encrypted_payload
            assert out is not None
            if out.resolve() in (a.output.resolve(), plain.resolve()):
                raise UsageError(f"the ciphertext of {plain} would overwrite {out}")
        enc = encrypt_for(plain, recipients, alg, out)
        if enc.pending is not None:
            pendings.add(enc.pending)
        return enc.info, enc.embedded

    return encrypt


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


# -- signing ceremony: sign-envelope, tbs, attach, sever -------------------------------


def _refuse_duplicate_kid(blocks: Any, kid: bytes | None) -> None:
    from ..errors import UsageError

    if kid is not None and any(b.message.kid == kid for b in blocks):
        raise UsageError(f"the envelope already carries a signature by key {kid.hex()}")


def cmd_sign_envelope(a: argparse.Namespace) -> None:
    from .. import cose
    from ..suit import builder
    from ..suit.decode import decode_envelope
    from ..suit.encode import encode_digest

    env = load_envelope(a.envelope)
    data = b""
    used = signers(a.key, a.alg, a.kid)
    for signer in used:
        _refuse_duplicate_kid(env.auth.blocks, signer.kid)
        data = builder.add_block(env, cose.build(signer, encode_digest(env.auth.digest)))
        env = decode_envelope(data)
    target = a.output or a.envelope
    write(target, data)
    _audit(a, "sign-envelope", target, data, used)
    echo(f"wrote {target}: {len(env.auth.blocks)} authentication block(s)")


def _signing_setup(a: argparse.Namespace) -> tuple[Any, str, int, bytes | None, bytes]:
    """Public key, its kind, the algorithm, the kid and the protected header tbs/attach share."""
    from .. import cose
    from ..keys import KIND_ALGS, check_alg, key_id, key_kind, load_public
    from .common import alg_arg

    pub = load_public(a.key)
    kind = key_kind(pub)
    chosen = alg_arg(a.alg) or KIND_ALGS[kind][0]
    check_alg(kind, chosen)
    kid = key_id(pub) if a.kid else None
    return pub, kind, chosen, kid, cose.protected_header(chosen, kid)


def cmd_tbs(a: argparse.Namespace) -> None:
    from .. import cose
    from ..suit.encode import encode_digest

    env = load_envelope(a.envelope)
    _pub, kind, chosen, _kid, protected = _signing_setup(a)
    tag = 17 if kind == "hmac" else 18
    write(a.output, cose.to_be_signed(tag, protected, encode_digest(env.auth.digest)))
    hash_name = "SHA-384" if chosen in (-51, -35) else "SHA-256"
    echo(f"wrote {a.output}: sign these bytes with {kind} ({hash_name} for ECDSA), then run fwsign attach")


def cmd_attach(a: argparse.Namespace) -> None:
    from .. import cose
    from ..errors import SignatureInvalid, UsageError
    from ..keys import key_id, verify_raw
    from ..suit import builder
    from ..suit.encode import encode_digest

    env = load_envelope(a.envelope)
    pub, kind, chosen, kid, protected = _signing_setup(a)
    try:
        sig = a.signature.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read signature {a.signature}: {exc.strerror}") from None
    sig = _normalise_signature(sig, kind)
    _refuse_duplicate_kid(env.auth.blocks, kid)
    tag = 17 if kind == "hmac" else 18
    tbs_bytes = cose.to_be_signed(tag, protected, encode_digest(env.auth.digest))
    if not verify_raw(pub, chosen, tbs_bytes, sig):
        raise SignatureInvalid(
            f"the signature in {a.signature} does not verify with {a.key} over this envelope's to-be-signed bytes"
        )
    data = builder.add_block(env, cose.assemble(tag, protected, sig))
    target = a.output or a.envelope
    write(target, data)
    from types import SimpleNamespace

    _audit(a, "attach", target, data, [SimpleNamespace(kid=key_id(pub), kind_name="external")])
    echo(f"signature verified and attached: wrote {target}")


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


def cmd_sever(a: argparse.Namespace) -> None:
    from ..suit import builder

    env = load_envelope(a.envelope)
    data = builder.strip_severable(env)
    write(a.output, data)
    echo(f"wrote {a.output} ({len(data)} bytes, {len(env.raw) - len(data)} bytes severed)")


# -- update management (docs/processing-model.md section 14, docs/update-management.md) ---


def _update_management_options(p: Any) -> None:
    um = p.add_argument_group("update management (draft-ietf-suit-update-management, docs/update-management.md)")
    um.add_argument("--min-battery", nargs="?", const="auto", metavar="MWH",
                    help="Refuse the update below this battery level, mWh (condition minimum-battery). Without a value: "
                         "the energy this update costs on --energy-device over --energy-link (fwsign energy) plus "
                         "a 100%% margin, rounded up.")
    um.add_argument("--energy-device", metavar="NAME", help="Device profile for --min-battery (fwsign energy --list).")
    um.add_argument("--energy-link", metavar="NAME", help="Link profile for --min-battery (fwsign energy --list).")
    um.add_argument("--use-before", metavar="WHEN",
                    help="Refuse the update at or after this time: ISO 8601 (UTC if no zone), seconds since the "
                         "epoch, or Nd (days from now) (condition use-before).")
    um.add_argument("--requires-authorization", nargs="?", const=0, type=int, metavar="PRIORITY",
                    help="Wait until the device's application authorizes the update, then check it (wait, "
                         "condition update-authorized); PRIORITY: update-priority, smaller is more urgent (default 0).")
    um.add_argument("--version-range", metavar="EXPR",
                    help="Install only over these versions of the running image, e.g. '>=1.2,<2' (condition version).")
    um.add_argument("--set-version", metavar="VERSION",
                    help="This release's version, e.g. 1.3.0 or 2.0.0-rc.1 (manifest member set-version).")


def _update_rules(a: argparse.Namespace, spec: Any, keys: list[Any]) -> Any:
    """The update-management rules the options ask for, or None."""
    from ..errors import UsageError
    from ..suit.update_management import UpdateRules, encode_version, parse_version_range

    if (a.energy_device or a.energy_link) and a.min_battery != "auto":
        raise UsageError("--energy-device and --energy-link go with --min-battery (without a value)")
    min_battery: int | None = None
    if a.min_battery == "auto":
        min_battery = _min_battery_from_energy(a, spec, keys)
    elif a.min_battery is not None:
        if not a.min_battery.isdigit():
            raise UsageError(f"--min-battery wants a whole number of mWh, got {a.min_battery!r}")
        min_battery = int(a.min_battery)
    use_before = None
    if a.use_before is not None:
        from .delegate import _when

        use_before = int(a.use_before) if a.use_before.isdigit() else _when(a.use_before, "--use-before")
    rules = UpdateRules(
        min_battery=min_battery,
        use_before=use_before,
        authorization_priority=a.requires_authorization,
        version_range=parse_version_range(a.version_range) if a.version_range is not None else (),
        set_version=encode_version(a.set_version) if a.set_version is not None else None,
    )
    return None if rules.empty else rules


def _min_battery_from_energy(a: argparse.Namespace, spec: Any, keys: list[Any]) -> int:
    """The energy model's cost of this update (suit mode, the image size of component 0's
    first image, the device verifying the first key's algorithm: Ed25519 or else P-256)
    with the margin: what `fwsign energy --device D --link L --image-size N --alg A`
    reports as total, times 2, in mWh rounded up."""
    from ..energy import Scenario, load_catalog, load_measured, update_cost
    from ..errors import UsageError
    from ..suit.update_management import min_battery_mwh

    if not a.energy_device or not a.energy_link:
        raise UsageError("--min-battery without a value needs --energy-device and --energy-link "
                         "(fwsign energy --list shows the profiles)")
    cat = load_catalog(())
    dev, link = cat.device(a.energy_device), cat.link(a.energy_link)
    size = spec.components[0].images[0].size
    alg = "ed25519" if keys and keys[0].alg in (-8, -19) else "p256"  # EdDSA, Ed25519
    cost = update_cost(dev, link, load_measured(None), Scenario(max(1, size), alg=alg))
    return min_battery_mwh(cost.total_j)
