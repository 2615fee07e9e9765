"""Reading commands: verify and inspect."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import (
    CliExit,
    add_command,
    add_identity_options,
    echo,
    emit_json,
    identity,
    non_negative,
    read_envelope,
    trusted,
)


def register(sub: Any) -> None:
    p = add_command(sub, "verify", cmd_verify,
                    "Verify an envelope: structure, digest, signatures, severed members, policy, image.")
    p.add_argument("envelope", type=Path, metavar="ENVELOPE", help="Envelope to verify (binary or hex text).")
    p.add_argument("-k", "--key", action="append", type=Path, metavar="KEY",
                   help="Trusted key: public PEM, COSE_Key, or HMAC key; repeatable.")
    p.add_argument("--threshold", type=non_negative, default=1, metavar="N",
                   help="How many distinct trusted keys must have signed (default 1).")
    p.add_argument("--policy", type=Path, metavar="FILE",
                   help="Release policy (TOML): signers, threshold and algorithms per device class; -k adds keys it names by kid.")
    add_identity_options(p, expected=True)
    p.add_argument("--min-sequence", type=non_negative, metavar="N", help="Reject sequence numbers below this (anti-rollback).")
    p.add_argument("--image", type=Path, metavar="FILE", help="Image to check against image-digest and image-size.")
    p.add_argument("--component", type=non_negative, default=0, metavar="INDEX", help="Component the image belongs to (default 0).")
    p.add_argument("--slot", type=non_negative, metavar="N",
                   help="A/B manifests: the slot the image was built for (its digest and encryption-info apply).")
    p.add_argument("--decrypt-key", action="append", default=[], type=Path, metavar="KEY",
                   help="Device private key (X25519/P-256) or KEK: an encrypted --image is decrypted while it is checked.")
    p.add_argument("--engine", choices=("python", "bootref"), default="python",
                   help="Verifier: python (default) or bootref, the device's own C verifier in host mode "
                        "(same rules, same report format; one trusted signature, component 0).")
    p.add_argument("--json", dest="json_out", action="store_true", help="Print the report as JSON.")
    p.add_argument("--delta-source", type=Path, metavar="OLD.bin",
                   help="Delta release (docs/delta.md): the image the patch applies to; --image (or the integrated "
                        "payload) is then the patch, and the image it makes is checked.")

    p = add_command(sub, "inspect", cmd_inspect, "Show an envelope's contents. Does not verify signatures (use fwsign verify).")
    p.add_argument("envelope", type=Path, metavar="ENVELOPE", help="Envelope to show (binary or hex text).")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", dest="json_out", action="store_true", help="Machine-readable form.")
    form.add_argument("--diag", action="store_true", help="CBOR diagnostic notation, annotated with SUIT names.")
    form.add_argument("--explain", action="store_true",
                      help="Print the digest input, the SUIT_Digest and each to-be-signed structure.")


def cmd_verify(a: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..verify import Policy, read_chunks, verify_envelope

    if not a.key and a.policy is None:
        raise UsageError("give at least one trusted --key (or a --policy)")
    vid, cid = identity(a, required=False)
    data = read_envelope(a.envelope)
    if a.policy is not None:
        from ..policy import load_policy

        if a.threshold != 1:
            raise UsageError("with --policy the threshold comes from the policy; leave out --threshold")
        base = Policy(keys=(), vendor_id=vid, class_id=cid, min_sequence=a.min_sequence, component=a.component,
                      slot=a.slot)
        rule, policy = load_policy(a.policy).policy_for_envelope(data, trusted(a.key or []), base)
        if not a.json_out:
            echo(f"  policy {a.policy}: {rule.name}, {rule.threshold} of {len(rule.signers)} signer(s)")
    else:
        policy = Policy(
            keys=tuple(trusted(a.key)), threshold=a.threshold, vendor_id=vid, class_id=cid,
            min_sequence=a.min_sequence, component=a.component, slot=a.slot,
        )
    image: Path | None = a.image
    if image is not None and not image.is_file():
        raise UsageError(f"cannot read image {image}: no such file")
    decryption = []
    if a.decrypt_key and a.engine == "python":
        from ..encryption import load_decryption_key

        decryption = [load_decryption_key(k) for k in a.decrypt_key]
    delta_source: bytes | None = None
    if a.delta_source is not None:
        if a.engine != "python":
            raise UsageError("--delta-source is checked by the python engine")
        try:
            delta_source = a.delta_source.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {a.delta_source}: {exc.strerror}") from None
    if a.engine == "bootref":
        from ..device.verifier import verify_with_bootref

        report = verify_with_bootref(data, policy, image, a.decrypt_key)
    else:
        report = verify_envelope(data, policy, read_chunks(image) if image is not None else None,
                                 decryption=decryption, delta_source=delta_source)
    if a.json_out:
        emit_json(report.as_dict())
    else:
        echo("\n".join(
            f"  {'skip' if c.ok is None else ('pass' if c.ok else 'FAIL'):4}  {c.name:16} {c.detail}" for c in report.checks
        ))
    if report.error is not None:
        if not a.json_out:
            echo(f"rejected: {report.error.describe()}", err=True)
        raise CliExit(report.error.exit_code)
    if not a.json_out:
        echo(f"valid: {a.envelope}")
    return 0


def cmd_inspect(a: argparse.Namespace) -> None:
    from ..suit import render
    from ..suit.decode import decode_envelope

    env = decode_envelope(read_envelope(a.envelope))
    if a.json_out:
        emit_json(render.to_json(env))
    elif a.diag:
        echo(render.diag(env))
    elif a.explain:
        echo(render.explain(env))
    else:
        echo(render.tree(env))
