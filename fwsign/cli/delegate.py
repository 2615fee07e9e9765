"""Delegation commands (draft-ietf-suit-trust-domains): fwsign delegate issue, fwsign delegate show."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import add_command, add_identity_options, echo, emit_json, write


def register(sub: Any) -> None:
    grp = add_command(sub, "delegate", _no_subcommand, "Delegate signing to an online key with a CWT from the trust anchor.")
    ds = grp.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(grp))
    p = add_command(ds, "issue", cmd_issue,
                    "Issue a CWT, signed by the trust-anchor key, binding SUBJECT's public key with an expiry and a scope.")
    p.add_argument("--anchor", required=True, metavar="KEY",
                   help="Issuer: the trust anchor's private key (PEM, signer URI or .uri file), or the previous delegate's.")
    p.add_argument("--subject", required=True, type=Path, metavar="PUB", help="Public key of the delegated signing key.")
    p.add_argument("--expires", required=True, metavar="WHEN", help="Expiry: ISO 8601 time (UTC if no zone) or Nd (days from now).")
    p.add_argument("--not-before", metavar="WHEN", help="Start of validity (ISO 8601); default: none.")
    add_identity_options(p, expected=False)
    p.add_argument("-o", "--output", required=True, type=Path, metavar="X.cwt")

    p = add_command(ds, "show", cmd_show, "Print a CWT's claims (issuer, subject, expiry, scope). Does not verify it.")
    p.add_argument("cwt", type=Path, metavar="X.cwt")
    p.add_argument("--json", dest="json_out", action="store_true")


def _no_subcommand(a: argparse.Namespace) -> int:
    from ..errors import UsageError

    raise UsageError("give a sub-command: fwsign delegate issue ... | fwsign delegate show X.cwt")


def _when(text: str, what: str) -> int:
    import datetime as dt
    import time

    from ..errors import UsageError

    if text.endswith("d") and text[:-1].isdigit():
        return int(time.time()) + int(text[:-1]) * 86400
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} must be an ISO 8601 time or Nd (days), got {text!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp())


def cmd_issue(a: argparse.Namespace) -> None:
    from ..delegation import Scope, issue
    from ..errors import UsageError
    from ..keys import key_id, load_public
    from ..signers import load_signer, public_of_signer
    from .common import identity

    vid, cid = identity(a, required=False)
    if vid is None and cid is not None:
        raise UsageError("a class scope needs the vendor too (--vendor-domain/--vendor-id)")
    signer = load_signer(a.anchor)
    issuer_pub = public_of_signer(signer)
    if issuer_pub is None:
        raise UsageError("the anchor must be an asymmetric signing key")
    subject = load_public(a.subject)
    expires = _when(a.expires, "--expires")
    nbf = _when(a.not_before, "--not-before") if a.not_before else None
    scope = Scope(vid, frozenset({cid}) if cid is not None else None)
    data = issue(signer, issuer_pub, subject, expires=expires, not_before=nbf, scope=scope)
    write(a.output, data)
    echo(f"wrote {a.output}: {key_id(issuer_pub).hex()} delegates to {key_id(subject).hex()} until "
         f"{_iso(expires)} for {scope.describe()}")


def _iso(t: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cmd_show(a: argparse.Namespace) -> None:
    from ..delegation import parse_cwt
    from ..errors import UsageError
    from ..keys import key_id

    try:
        data = a.cwt.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {a.cwt}: {exc.strerror}") from None
    cwt = parse_cwt(data, str(a.cwt))
    info = {"issuer_kid": cwt.issuer_kid.hex(), "subject_kid": key_id(cwt.subject).hex(), "expires": _iso(cwt.exp),
            "not_before": _iso(cwt.nbf) if cwt.nbf is not None else None, "scope": cwt.scope.describe()}
    if a.json_out:
        emit_json(info)
    else:
        for k, v in info.items():
            echo(f"{k}: {v}")
