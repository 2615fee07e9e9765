"""Helpers every command module shares: output, exit codes, argument conversion.

This module must stay cheap to import (standard library only at import time): it is
loaded on every ``fwsign`` run, including ``--help`` and usage errors. Anything heavy
(cryptography, the SUIT codec, python-tuf) is imported inside the functions that need it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..suit.model import Envelope
    from ..verify import TrustedKey

#: Exit codes of every fwsign command (documented in the README).
EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_UP_TO_DATE = 0, 1, 2, 3

Handler = Callable[[argparse.Namespace], int | None]
SubParsers = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliExit(Exception):
    """Leave the command with this exit code (the message, if any, is already printed)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def echo(text: str = "", *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")


def emit_json(obj: object) -> None:
    echo(json.dumps(obj, indent=2))


def add_command(
    sub: Any, name: str, handler: Handler, help_text: str, *, description: str | None = None
) -> argparse.ArgumentParser:
    """Add a sub-command whose first help line is ``help_text``."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, description=description or help_text,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def add_identity_options(parser: argparse.ArgumentParser, *, expected: bool) -> None:
    """--vendor-domain/--vendor-id and --class-name/--class-id, as every identity-aware command takes them."""
    prefix = "Expected vendor" if expected else "Vendor"
    parser.add_argument("--vendor-domain", metavar="DOMAIN", help=f"{prefix} by DNS domain; vendor-id = UUIDv5(DNS, domain).")
    parser.add_argument("--vendor-id", metavar="UUID", help=f"{prefix} id as a UUID.")
    parser.add_argument("--class-name", metavar="NAME", help="Device class name; class-id = UUIDv5(vendor-id, name).")
    parser.add_argument("--class-id", metavar="UUID", help="Device class id as a UUID.")


def non_negative(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


# -- conversions shared by the commands ------------------------------------------------


def read_envelope(path: Path) -> bytes:
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


def load_envelope(path: Path) -> Envelope:
    """Decode strictly and check the manifest digest (for commands that modify envelopes)."""
    from ..suit.decode import decode_envelope
    from ..verify import check_manifest_digest

    env = decode_envelope(read_envelope(path))
    check_manifest_digest(env)
    return env


def uuid_arg(value: str, what: str) -> bytes:
    import uuid

    from ..errors import UsageError

    try:
        return uuid.UUID(value).bytes
    except ValueError:
        raise UsageError(f"{what} {value!r} is not a UUID (e.g. fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe)") from None


def identity(args: argparse.Namespace, *, required: bool) -> tuple[bytes | None, bytes | None]:
    """Vendor and class ids from --vendor-*/--class-* (names derive UUIDv5 ids as the spec does)."""
    from ..errors import UsageError

    vendor_id, vendor_domain = args.vendor_id, args.vendor_domain
    class_id, class_name = args.class_id, args.class_name
    if vendor_id and vendor_domain:
        raise UsageError("give --vendor-id or --vendor-domain, not both")
    if class_id and class_name:
        raise UsageError("give --class-id or --class-name, not both")
    vid: bytes | None = None
    if vendor_id:
        vid = uuid_arg(vendor_id, "--vendor-id")
    elif vendor_domain:
        from ..suit.ids import vendor_uuid

        vid = vendor_uuid(vendor_domain)
    cid = uuid_arg(class_id, "--class-id") if class_id else None
    if class_name:
        if vid is None:
            raise UsageError("--class-name needs --vendor-domain or --vendor-id (class ids derive from the vendor id)")
        from ..suit.ids import class_uuid

        cid = class_uuid(vid, class_name)
    if required and (vid is None or cid is None):
        raise UsageError("give the device identity: --vendor-domain/--vendor-id and --class-name/--class-id")
    return vid, cid


def alg_arg(alg: str | None) -> int | None:
    from ..errors import UsageError
    from ..keys import ALG_NAMES

    if alg is None:
        return None
    try:
        return ALG_NAMES[alg.lower()]
    except KeyError:
        raise UsageError(f"unknown algorithm {alg!r}; choose one of {', '.join(ALG_NAMES)}") from None


def signers(keys: list[Path] | list[str] | None, alg: str | None, kid: bool) -> list[Any]:
    """Signers for --key values: PEM paths, signer URIs or .uri files (fwsign.signers)."""
    from ..errors import UsageError
    from ..signers import load_signer

    if not keys:
        raise UsageError("give at least one --key")
    chosen = alg_arg(alg)
    return [load_signer(k, chosen, kid=kid, warn=lambda m: echo(f"warning: {m}", err=True)) for k in keys]


def trusted(keys: list[Path]) -> list[TrustedKey]:
    from ..keys import load_public
    from ..verify import TrustedKey

    # One verification per process: no need to load the bulk (libsodium) verifier.
    return [TrustedKey.of(load_public(k), k.name, bulk=False) for k in keys]


def write(path: Path, data: bytes, mode: int = 0o644) -> None:
    from ..keys import write_atomic

    write_atomic(path, data, mode=mode)


def parse_now(text: str | None) -> datetime | None:
    """``--now``: seconds since the epoch or an ISO 8601 time (naive times are UTC); None: the clock."""
    if not text:
        return None
    from ..errors import UsageError

    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        now = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--now must be seconds since the epoch or an ISO 8601 time, got {text!r}") from None
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)
