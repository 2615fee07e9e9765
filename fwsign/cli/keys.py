"""Key commands: keygen and key show."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import add_command, echo, emit_json, write

KEY_KINDS = ("ed25519", "p256", "p384", "hmac", "ml-dsa-44", "ml-dsa-65", "ml-dsa-87", "hss-lms")
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
    # Post-quantum keys (docs/keys.md section 7): HSS-LMS parameters.
    pq = p.add_argument_group("hss-lms keys (stateful: NAME.hss holds the private key and its state, NAME.cose the public key)")
    pq.add_argument("--lms-height", type=int, default=10, metavar="H",
                    help="Height of each LMS tree: 5, 10, 15 or 20 (default 10); each level signs 2^H times.")
    pq.add_argument("--levels", type=int, default=1, metavar="L", help="HSS levels, 1-8 (default 1); capacity 2^(H*L).")
    pq.add_argument("--lms-w", type=int, default=4, choices=(1, 2, 4, 8), metavar="W",
                    help="LM-OTS Winternitz parameter 1, 2, 4 or 8 (default 4): larger W, smaller and slower signatures.")

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
    if kind == "hss-lms":
        return _keygen_hss(a, base)
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


def _keygen_hss(a: argparse.Namespace, base: str) -> None:
    from ..stateful import HssParams, keygen_files, keygen_report

    state, files = keygen_files(base, HssParams.of(a.lms_height, a.lms_w, a.levels), force=a.force)
    r = keygen_report(state)
    echo(f"hss-lms key {r['kid']}: " + ", ".join(str(f) for f in files))
    echo(f"  {r['parameters']}")
    echo(f"  capacity: {r['capacity']} signatures; each signature {r['signature_bytes']} bytes; "
         f"public key {r['public_key_bytes']} bytes")
    echo(f"  {files[0]} is stateful: never copy or restore it (docs/keys.md section 7)")


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


def _stateful_info(path: Path) -> dict[str, object]:
    """Capacity and use of a stateful HSS-LMS private key file (nothing for other keys)."""
    from ..stateful import HssKeyFile, is_hss_key_file

    try:
        head = path.read_bytes()[:256]
    except OSError:
        return {}
    if not is_hss_key_file(head):
        return {}
    st = HssKeyFile(path).read()
    return {"parameters": st.params.describe(), "capacity": st.params.capacity, "used_or_reserved": st.next_index,
            "remaining": st.remaining, "signature_bytes": st.params.signature_bytes}


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
            "public_pem": public_pem(pub).decode() if kind != "hss-lms" else None,
            "cose_key": encode_cose_key(pub).hex(),
            "raw_public": raw.hex(),
            "c_array": c_array(f"fwsign_trust_{kind.replace('-', '_')}", raw),
        }
        info.update(_stateful_info(a.key))
    if a.json_out:
        emit_json(info)
        return
    for name, value in info.items():
        if value is None:
            continue
        if name in ("public_pem", "c_array"):
            echo(f"{name}:\n{value}")
        else:
            echo(f"{name}: {value}")
