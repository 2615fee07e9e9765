"""Key commands: keygen and key show."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import add_command, echo, emit_json, write

KEY_KINDS = ("ed25519", "p256", "p384", "hmac")
#: Payload-encryption keys (docs/encryption.md): device key agreement and pre-shared KEKs.
ENCRYPTION_KINDS = ("x25519", "p256-kex", "a128kw", "a256kw")


def register(sub: Any) -> None:
    p = add_command(sub, "keygen", cmd_keygen, "Generate a key pair: NAME.pem (private, 0600), NAME.pub.pem and NAME.cose.")
    p.add_argument("--alg", default="ed25519", type=str.lower, choices=KEY_KINDS + ENCRYPTION_KINDS,
                   help="Key type (default ed25519); x25519/p256-kex: device decryption keys; a128kw/a256kw: pre-shared KEKs.")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="NAME",
                   help="Base name: writes NAME.pem, NAME.pub.pem, NAME.cose.")
    p.add_argument("--force", action="store_true", help="Overwrite existing files.")
    p.add_argument("--hsm", metavar="PKCS11_URI",
                   help="Create the key inside a PKCS#11 token (pkcs11:token=T;object=LABEL); writes NAME.pub.pem, "
                        "NAME.cose and NAME.uri, no private key file.")

    key = add_command(sub, "key", _no_subcommand, "Show keys in the forms devices and tools need.")
    key_sub = key.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(key))
    p = add_command(key_sub, "show", cmd_key_show,
                    "Print kid, public PEM, COSE_Key hex and a C array for a bootloader. Never prints private parts.")
    p.add_argument("key", type=Path, metavar="KEY", help="Public or private key file (PEM or COSE_Key).")
    p.add_argument("--json", dest="json_out", action="store_true", help="Machine-readable form.")


def _no_subcommand(a: argparse.Namespace) -> int:
    from ..errors import UsageError

    raise UsageError("give a sub-command: fwsign key show KEY")


def cmd_keygen(a: argparse.Namespace) -> None:
    from ..errors import UsageError
    from ..keys import encode_cose_key, generate, key_id, private_pem, public_of, public_pem

    kind: str = a.alg
    base = str(a.output)
    if kind in ENCRYPTION_KINDS:
        from ..encryption.keys import keygen_files

        kid, written = keygen_files(kind, base, force=a.force)
        echo(f"{kind} key {kid.hex()}: " + ", ".join(str(f) for f in written))
        return
    if a.hsm:
        return _keygen_hsm(a, kind, base)
    files = [Path(base + ".pem"), Path(base + ".cose")]
    if kind != "hmac":
        files.insert(1, Path(base + ".pub.pem"))
    existing = [str(f) for f in files if f.exists()]
    if existing and not a.force:
        raise UsageError(f"refusing to overwrite {', '.join(existing)} (use --force)")
    key = generate(kind)
    pub = public_of(key)
    write(files[0], private_pem(key), 0o600)
    if kind == "hmac":
        # A symmetric COSE_Key holds the secret itself: private file mode.
        write(files[1], encode_cose_key(pub), 0o600)
    else:
        write(files[1], public_pem(pub))
        write(files[2], encode_cose_key(pub))
    echo(f"{kind} key {key_id(key).hex()}: " + ", ".join(str(f) for f in files))


def _keygen_hsm(a: argparse.Namespace, kind: str, base: str) -> None:
    from ..errors import UsageError
    from ..keys import encode_cose_key, key_id, public_pem
    from ..signers import parse_pkcs11_uri, pkcs11_generate, redact_uri

    files = [Path(base + ".pub.pem"), Path(base + ".cose"), Path(base + ".uri")]
    existing = [str(f) for f in files if f.exists()]
    if existing and not a.force:
        raise UsageError(f"refusing to overwrite {', '.join(existing)} (use --force)")
    if kind not in ("p256", "p384"):
        raise UsageError("--hsm creates ECDSA keys: give --alg p256 or --alg p384")
    uri = parse_pkcs11_uri(a.hsm)
    pub = pkcs11_generate(a.hsm, kind)
    write(files[0], public_pem(pub))
    write(files[1], encode_cose_key(pub))
    # The .uri file names the key, never the PIN (pin-value URIs are refused).
    write(files[2], (redact_uri(a.hsm) if uri.module_path is None else a.hsm).encode() + b"\n")
    echo(f"{kind} key {key_id(pub).hex()} created in the token: " + ", ".join(str(f) for f in files))


def cmd_key_show(a: argparse.Namespace) -> None:
    from ..keys import c_array, encode_cose_key, key_id, key_kind, load_public, public_pem, public_raw, thumbprint

    pub = load_public(a.key)
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
    if a.json_out:
        emit_json(info)
        return
    for name, value in info.items():
        if name in ("public_pem", "c_array"):
            echo(f"{name}:\n{value}")
        else:
            echo(f"{name}: {value}")
