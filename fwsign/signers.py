"""One signer abstraction for SUIT envelopes and TUF metadata.

A key spec (``--key`` on ``fwsign sign``, ``sign-envelope`` and the repository role key
options) is one of:

* a PEM private key file (PKCS#8 or SEC1, also encrypted: the passphrase comes from
  ``FWSIGN_KEY_PASSPHRASE`` or, on a terminal, a prompt);
* a PKCS#11 URI (RFC 7512), e.g. ``pkcs11:token=fwsign;object=release-2026``: the module
  comes from the URI's ``module-path`` attribute, ``PKCS11_MODULE``, or SoftHSM2's library
  where installed; the PIN from ``FWSIGN_PKCS11_PIN`` or a prompt on a terminal;
* a cloud KMS URI that securesystemslib understands (``awskms:``, ``gcpkms:``,
  ``azurekms:``, ``hv:``), optionally as ``URI@PUBLIC.pem`` so that no service call is
  needed to learn the public key;
* a ``.uri`` file holding one such URI on its first line (``fwsign keygen --hsm`` writes
  ``NAME.uri`` next to ``NAME.pub.pem``, which is then used as the public key);
* a stateful HSS-LMS key file (``fwsign keygen --alg hss-lms``): signs through
  :class:`fwsign.stateful.HssSigner`, which reserves each one-time index durably before
  it uses it.

Every signer produces COSE's raw signature form (ECDSA ``r || s``, RFC 9053 2.1); the
securesystemslib adapters convert to DER where TUF expects it. No PIN, passphrase or key
material ever appears in a message, repr or exception raised here.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .errors import KeyLoadError, UsageError
from .keys import KIND_ALGS, PublicKey, check_alg, key_id, key_kind

#: KMS schemes handed to securesystemslib, with the extra its signer needs (for messages).
KMS_SCHEMES: dict[str, str] = {
    "awskms": "securesystemslib[awskms] (boto3)",
    "gcpkms": "securesystemslib[gcpkms] (google-cloud-kms)",
    "azurekms": "securesystemslib[azurekms] (azure-identity, azure-keyvault-keys)",
    "hv": "securesystemslib[hsm] with hvac (HashiCorp Vault transit)",
}
PKCS11_SCHEME = "pkcs11"

#: Where SoftHSM2's PKCS#11 module is installed by common distributions.
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)

MAX_URI_FILE = 4096


def is_uri(spec: str) -> bool:
    scheme = spec.split(":", 1)[0] if ":" in spec else ""
    return scheme == PKCS11_SCHEME or scheme in KMS_SCHEMES


# -- reading specs ----------------------------------------------------------------------


@dataclass(frozen=True)
class KeySpec:
    """A parsed ``--key`` value: a PEM path, or a URI with an optional public key file."""

    pem: Path | None = None
    uri: str | None = None
    public: Path | None = None

    @property
    def label(self) -> str:
        """A printable name: never includes secrets (a pin-value is refused at parse time)."""
        return str(self.pem) if self.pem is not None else redact_uri(self.uri or "")


def parse_spec(spec: str | Path) -> KeySpec:
    """Classify a key spec (see the module docstring); reads a ``.uri`` file."""
    text = str(spec)
    if is_uri(text):
        uri, public = text, None
        if "@" in text:
            uri, _, pub = text.rpartition("@")
            public = Path(pub)
        _check_uri(uri)
        return KeySpec(uri=uri, public=public)
    path = Path(text)
    if path.suffix == ".uri":
        try:
            data = path.read_bytes()[:MAX_URI_FILE]
        except OSError as exc:
            raise UsageError(f"cannot read key URI file {path}: {exc.strerror}") from None
        lines = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip() and not ln.startswith("#")]
        if not lines or not is_uri(lines[0]):
            raise KeyLoadError(f"{path} does not hold a signer URI (pkcs11:, awskms:, gcpkms:, azurekms:, hv:)")
        uri = lines[0]
        _check_uri(uri)
        pub_file = path.with_name(path.name[: -len(".uri")] + ".pub.pem")
        return KeySpec(uri=uri, public=pub_file if pub_file.is_file() else None)
    return KeySpec(pem=path)


def _check_uri(uri: str) -> None:
    if uri.startswith(PKCS11_SCHEME + ":"):
        parse_pkcs11_uri(uri)
        return
    scheme, _, rest = uri.partition(":")
    if not rest:
        raise KeyLoadError(f"{scheme}: URI names no key (e.g. {scheme}:<key id or resource name>)")


def redact_uri(uri: str) -> str:
    """The URI without query attributes (which may carry a pin-source path)."""
    return uri.split("?", 1)[0]


# -- PKCS#11 URIs (RFC 7512) -----------------------------------------------------------


@dataclass(frozen=True)
class Pkcs11Uri:
    """The attributes of an RFC 7512 URI that select a token and a key."""

    token: str | None = None
    object: str | None = None
    id: bytes | None = None
    serial: str | None = None
    slot_id: int | None = None
    type: str | None = None
    module_path: str | None = None
    pin_source: str | None = None

    def text(self) -> str:
        parts = []
        if self.token is not None:
            parts.append(f"token={_pct(self.token)}")
        if self.object is not None:
            parts.append(f"object={_pct(self.object)}")
        if self.id is not None:
            parts.append("id=" + "".join(f"%{b:02x}" for b in self.id))
        if self.serial is not None:
            parts.append(f"serial={_pct(self.serial)}")
        return "pkcs11:" + ";".join(parts)


def _pct(value: str) -> str:
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
    return "".join(c if c in safe else "".join(f"%{b:02X}" for b in c.encode()) for c in value)


_PATH_ATTRS = {"token", "object", "id", "serial", "slot-id", "type", "manufacturer", "model",
               "library-manufacturer", "library-description", "library-version", "slot-description",
               "slot-manufacturer"}
_QUERY_ATTRS = {"module-path", "module-name", "pin-source", "pin-value"}


def parse_pkcs11_uri(uri: str) -> Pkcs11Uri:
    """Parse an RFC 7512 PKCS#11 URI strictly. A ``pin-value`` is refused (use FWSIGN_PKCS11_PIN)."""
    if not uri.startswith("pkcs11:"):
        raise KeyLoadError("a PKCS#11 URI starts with 'pkcs11:'")
    body = uri[len("pkcs11:"):]
    path, _, query = body.partition("?")
    values: dict[str, str] = {}
    for part, sep, allowed in ((path, ";", _PATH_ATTRS), (query, "&", _QUERY_ATTRS)):
        for item in filter(None, part.split(sep)):
            name, eq, value = item.partition("=")
            if not eq:
                raise KeyLoadError(f"PKCS#11 URI attribute {name!r} has no value")
            if name == "pin-value":
                raise KeyLoadError("PKCS#11 URIs with pin-value are refused: give the PIN in FWSIGN_PKCS11_PIN or at the prompt")
            if name not in allowed:
                raise KeyLoadError(f"unknown PKCS#11 URI attribute {name!r}")
            if name in values:
                raise KeyLoadError(f"PKCS#11 URI attribute {name!r} given twice")
            values[name] = value
    dec = {k: unquote(v, errors="strict") if k != "id" else v for k, v in values.items()}
    key_id_bytes: bytes | None = None
    if "id" in values:
        key_id_bytes = unquote_bytes(values["id"])
    slot: int | None = None
    if "slot-id" in dec:
        if not dec["slot-id"].isdigit():
            raise KeyLoadError("PKCS#11 URI slot-id must be a number")
        slot = int(dec["slot-id"])
    if dec.get("type") not in (None, "private", "public"):
        raise KeyLoadError("PKCS#11 URI type must be 'private' or 'public' for a signing key")
    if "object" not in dec and key_id_bytes is None:
        raise KeyLoadError("PKCS#11 URI names no key: give object=LABEL and/or id=%XX...")
    return Pkcs11Uri(token=dec.get("token"), object=dec.get("object"), id=key_id_bytes, serial=dec.get("serial"),
                     slot_id=slot, type=dec.get("type"), module_path=dec.get("module-path"),
                     pin_source=dec.get("pin-source"))


def unquote_bytes(text: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "%":
            try:
                out.append(int(text[i + 1 : i + 3], 16))
            except ValueError:
                raise KeyLoadError("PKCS#11 URI has a malformed %XX escape") from None
            i += 3
        else:
            out.extend(text[i].encode())
            i += 1
    return bytes(out)


def pkcs11_module(uri: Pkcs11Uri | None = None) -> str:
    """The PKCS#11 module: the URI's module-path, PKCS11_MODULE, or SoftHSM2's library."""
    if uri is not None and uri.module_path:
        return uri.module_path
    env = os.environ.get("PKCS11_MODULE")
    if env:
        return env
    for cand in SOFTHSM_MODULES:
        if Path(cand).is_file():
            return cand
    raise KeyLoadError("no PKCS#11 module: set PKCS11_MODULE to your token's library (e.g. SoftHSM2's libsofthsm2.so)")


def pkcs11_pin(uri: Pkcs11Uri | None = None) -> str:
    """The user PIN: pin-source file, FWSIGN_PKCS11_PIN, or a prompt on a terminal. Never echoed."""
    if uri is not None and uri.pin_source:
        src = uri.pin_source[len("file:"):] if uri.pin_source.startswith("file:") else uri.pin_source
        try:
            return Path(src).read_text().splitlines()[0].strip()
        except (OSError, IndexError):
            raise KeyLoadError("cannot read the PIN from the URI's pin-source file") from None
    pin = os.environ.get("FWSIGN_PKCS11_PIN")
    if pin:
        return pin
    if sys.stdin.isatty():
        return getpass.getpass("PKCS#11 token PIN: ")
    raise KeyLoadError("the PKCS#11 token needs a PIN: set FWSIGN_PKCS11_PIN (no terminal to prompt on)")


def _open_lib(module: str) -> Any:
    try:
        import pkcs11
    except ImportError:
        raise KeyLoadError("PKCS#11 signing needs the python-pkcs11 package (pip install python-pkcs11)") from None
    if not Path(module).is_file():
        raise KeyLoadError(f"PKCS#11 module {module} does not exist (set PKCS11_MODULE)")
    try:
        return pkcs11.lib(module)
    except Exception as exc:
        raise KeyLoadError(f"cannot load PKCS#11 module {module}: {type(exc).__name__}") from None


def _find_token(lib: Any, uri: Pkcs11Uri) -> Any:
    from pkcs11.exceptions import PKCS11Error

    try:
        tokens = list(lib.get_tokens(token_label=uri.token))
    except PKCS11Error as exc:
        raise KeyLoadError(f"PKCS#11 module failed to list tokens: {type(exc).__name__}") from None
    if uri.serial is not None:
        tokens = [t for t in tokens if t.serial.decode(errors="replace").strip() == uri.serial]
    if uri.slot_id is not None:
        tokens = [t for t in tokens if t.slot.slot_id == uri.slot_id]
    what = f"token {uri.token!r}" if uri.token else "token"
    if not tokens:
        raise KeyLoadError(f"no PKCS#11 {what} found in the module")
    if len(tokens) > 1:
        raise KeyLoadError(f"{len(tokens)} PKCS#11 tokens match; add token=, serial= or slot-id= to the URI")
    return tokens[0]


def _login_error(exc: BaseException) -> KeyLoadError:
    name = type(exc).__name__
    if name in ("PinIncorrect", "PinInvalid", "PinLenRange"):
        return KeyLoadError("PKCS#11 login failed: wrong PIN")
    if name == "PinLocked":
        return KeyLoadError("PKCS#11 login failed: the PIN is locked")
    return KeyLoadError(f"PKCS#11 session failed: {name}")


def _get_key(session: Any, uri: Pkcs11Uri, private: bool) -> Any:
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.exceptions import PKCS11Error

    attrs: dict[Any, Any] = {Attribute.CLASS: ObjectClass.PRIVATE_KEY if private else ObjectClass.PUBLIC_KEY}
    if uri.object is not None:
        attrs[Attribute.LABEL] = uri.object
    if uri.id is not None:
        attrs[Attribute.ID] = uri.id
    try:
        found = list(session.get_objects(attrs))
    except PKCS11Error as exc:
        raise KeyLoadError(f"PKCS#11 object search failed: {type(exc).__name__}") from None
    what = "private key" if private else "public key"
    name = f"object {uri.object!r}" if uri.object else f"id {uri.id.hex() if uri.id else ''}"
    if not found:
        raise KeyLoadError(f"no {what} with {name} on the PKCS#11 token")
    if len(found) > 1:
        raise KeyLoadError(f"{len(found)} {what}s match {name}; add id= to the URI")
    return found[0]


def _public_from_token(pub_obj: Any) -> PublicKey:
    from cryptography.hazmat.primitives.serialization import load_der_public_key
    from pkcs11.util.ec import encode_ec_public_key

    try:
        key = load_der_public_key(encode_ec_public_key(pub_obj))
    except Exception:
        raise KeyLoadError("the token's public key is not an EC key fwsign supports (P-256, P-384)") from None
    kind = key_kind(key)  # type: ignore[arg-type]
    if kind not in ("p256", "p384"):
        raise KeyLoadError(f"unsupported token key kind {kind}")
    return key  # type: ignore[return-value]


@dataclass(frozen=True)
class Pkcs11Signer:
    """ECDSA P-256/P-384 with a key that never leaves a PKCS#11 token.

    The digest is computed here and signed with CKM_ECDSA, whose output is already the
    fixed-length ``r || s`` COSE needs. The PIN is held only for the signer's lifetime
    and kept out of its repr.
    """

    uri: Pkcs11Uri
    module: str
    public: PublicKey = field(repr=False)
    alg: int
    kid: bytes | None
    pin: str = field(repr=False, default="")
    kind_name: str = field(default="pkcs11", init=False)

    def sign(self, data: bytes) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11.exceptions import PKCS11Error

        kind = key_kind(self.public)
        digest = (hashlib.sha256 if kind == "p256" else hashlib.sha384)(data).digest()
        lib = _open_lib(self.module)
        token = _find_token(lib, self.uri)
        try:
            with token.open(user_pin=self.pin) as session:
                key = _get_key(session, self.uri, private=True)
                sig = bytes(key.sign(digest, mechanism=Mechanism.ECDSA))
        except KeyLoadError:
            raise
        except PKCS11Error as exc:
            raise _login_error(exc) from None
        size = 32 if kind == "p256" else 48
        if len(sig) != 2 * size:
            raise KeyLoadError(f"the token returned a {len(sig)}-byte ECDSA signature, expected {2 * size}")
        return sig


def pkcs11_public_key(uri_text: str, *, pin: str | None = None) -> PublicKey:
    """Read the public key of a PKCS#11 key (no PIN needed when the object is public)."""
    uri = parse_pkcs11_uri(uri_text)
    lib = _open_lib(pkcs11_module(uri))
    token = _find_token(lib, uri)
    from pkcs11.exceptions import PKCS11Error

    try:
        with token.open(user_pin=pin) as session:
            return _public_from_token(_get_key(session, uri, private=False))
    except KeyLoadError:
        if pin is None:
            return pkcs11_public_key(uri_text, pin=pkcs11_pin(uri))
        raise
    except PKCS11Error as exc:
        raise _login_error(exc) from None


def pkcs11_signer(uri_text: str, alg: int | None = None, *, kid: bool = True, public: PublicKey | None = None) -> Pkcs11Signer:
    uri = parse_pkcs11_uri(uri_text)
    module = pkcs11_module(uri)
    _find_token(_open_lib(module), uri)  # module and token first: a PIN prompt for a missing token helps nobody
    pin = pkcs11_pin(uri)
    pub = public if public is not None else pkcs11_public_key(uri_text, pin=pin)
    kind = key_kind(pub)
    if kind not in ("p256", "p384"):
        raise KeyLoadError(f"PKCS#11 signing supports P-256 and P-384 keys, not {kind}")
    chosen = KIND_ALGS[kind][0] if alg is None else alg
    check_alg(kind, chosen)
    # Check the PIN and the private key now, so a wrong PIN fails before any output.
    lib = _open_lib(module)
    token = _find_token(lib, uri)
    from pkcs11.exceptions import PKCS11Error

    try:
        with token.open(user_pin=pin) as session:
            _get_key(session, uri, private=True)
    except KeyLoadError:
        raise
    except PKCS11Error as exc:
        raise _login_error(exc) from None
    return Pkcs11Signer(uri, module, pub, chosen, key_id(pub) if kid else None, pin)


def pkcs11_generate(uri_text: str, kind: str = "p256") -> PublicKey:
    """Create an EC key pair inside the token (private part sensitive, never extractable)."""
    from pkcs11 import Attribute, KeyType, MechanismFlag
    from pkcs11.exceptions import PKCS11Error
    from pkcs11.util.ec import encode_named_curve_parameters

    if kind not in ("p256", "p384"):
        raise UsageError(f"--hsm creates P-256 or P-384 keys, not {kind}")
    uri = parse_pkcs11_uri(uri_text)
    if uri.object is None:
        raise UsageError("the PKCS#11 URI for keygen needs object=LABEL")
    lib = _open_lib(pkcs11_module(uri))
    token = _find_token(lib, uri)
    pin = pkcs11_pin(uri)
    curve = "secp256r1" if kind == "p256" else "secp384r1"
    try:
        with token.open(rw=True, user_pin=pin) as session:
            from pkcs11 import ObjectClass

            existing = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: uri.object}))
            if existing:
                raise UsageError(f"the token already holds a private key labelled {uri.object!r}")
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve)}, local=True)
            key_id_bytes = uri.id if uri.id is not None else os.urandom(8)
            pub_obj, _priv = params.generate_keypair(
                store=True, label=uri.object, id=key_id_bytes,
                capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True},
                public_template={Attribute.PRIVATE: False},
            )
            return _public_from_token(pub_obj)
    except (KeyLoadError, UsageError):
        raise
    except PKCS11Error as exc:
        raise _login_error(exc) from None


# -- securesystemslib KMS signers -------------------------------------------------------


_SCHEME_ALG = {"ecdsa-sha2-nistp256": "p256", "ecdsa-sha2-nistp384": "p384", "ed25519": "ed25519"}


@dataclass(frozen=True)
class SslibSigner:
    """A securesystemslib signer (cloud KMS) producing COSE raw signatures."""

    inner: Any = field(repr=False)
    public: PublicKey = field(repr=False)
    alg: int
    kid: bytes | None
    kind_name: str = "kms"

    def sign(self, data: bytes) -> bytes:
        try:
            sig = self.inner.sign(data)
        except Exception as exc:
            raise KeyLoadError(f"{self.kind_name} signing failed: {type(exc).__name__}: {_first_line(exc)}") from None
        raw = bytes.fromhex(sig.signature)
        kind = key_kind(self.public)
        if kind in ("p256", "p384"):
            from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

            size = 32 if kind == "p256" else 48
            if len(raw) != 2 * size:
                r, s = decode_dss_signature(raw)
                raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
        return raw


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""


def kms_signer(spec: KeySpec, alg: int | None = None, *, kid: bool = True) -> SslibSigner:
    """A KMS signer through securesystemslib; the public key from the spec or the service."""
    assert spec.uri is not None
    scheme = spec.uri.split(":", 1)[0]
    try:
        from securesystemslib.signer import SIGNER_FOR_URI_SCHEME, Signer, SSlibKey  # type: ignore[attr-defined]
    except ImportError:
        raise KeyLoadError("KMS signing needs securesystemslib") from None
    cls = SIGNER_FOR_URI_SCHEME.get(scheme)
    if cls is None:
        raise KeyLoadError(f"securesystemslib has no signer for {scheme}: URIs")
    if spec.public is not None:
        from .keys import load_public

        pub = load_public(spec.public)
        try:
            sslib_key = SSlibKey.from_crypto(pub)  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            raise KeyLoadError(f"{spec.public}: unsupported public key for {scheme}: {exc}") from None
    else:
        try:
            _uri, sslib_key = cls.import_(*_import_args(scheme, spec.uri))  # type: ignore[attr-defined]
        except Exception as exc:
            raise KeyLoadError(_kms_error(scheme, exc, "fetch the public key")) from None
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        pub = load_pem_public_key(sslib_key.keyval["public"].encode())  # type: ignore[assignment]
    kind = _SCHEME_ALG.get(getattr(sslib_key, "scheme", "")) or key_kind(pub)
    if kind not in ("p256", "p384", "ed25519"):
        raise KeyLoadError(f"{scheme} key scheme {sslib_key.scheme} cannot sign COSE (use ECDSA P-256/P-384 or Ed25519)")
    chosen = KIND_ALGS[kind][0] if alg is None else alg
    check_alg(kind, chosen)
    try:
        inner = Signer.from_priv_key_uri(spec.uri, sslib_key)
    except Exception as exc:
        raise KeyLoadError(_kms_error(scheme, exc, "create the signer")) from None
    return SslibSigner(inner, pub, chosen, key_id(pub) if kid else None, scheme)


def _import_args(scheme: str, uri: str) -> tuple[str, ...]:
    rest = uri.split(":", 1)[1]
    if scheme == "azurekms":
        # azurekms:VAULT_NAME/KEY_NAME is how fwsign spells it on the command line.
        vault, _, key = rest.partition("/")
        if not key:
            raise KeyLoadError("azurekms URIs take azurekms:VAULT/KEY (or use URI@PUBLIC.pem)")
        return (vault, key)
    if scheme == "hv":
        return (rest,)
    return (rest,)


def _kms_error(scheme: str, exc: BaseException, what: str) -> str:
    name = type(exc).__name__
    if isinstance(exc, ImportError) or name == "UnsupportedLibraryError":
        return f"{scheme}: cannot {what}: install {KMS_SCHEMES.get(scheme, 'its client library')}"
    return f"{scheme}: cannot {what} (service unreachable or not authorised): {name}: {_first_line(exc)}"


# -- the one entry point ----------------------------------------------------------------


def load_pem_signer(path: Path, alg: int | None = None, *, kid: bool = True) -> Any:
    from .keys import make_signer

    return make_signer(load_private_interactive(path), alg, kid=kid)


def load_private_interactive(path: Path) -> Any:
    """Load a PEM private key; an encrypted one takes FWSIGN_KEY_PASSPHRASE or a prompt on a terminal."""
    from .keys import load_private

    try:
        return load_private(path)
    except KeyLoadError as exc:
        if "is encrypted" not in exc.message or not sys.stdin.isatty():
            raise
    passphrase = getpass.getpass(f"passphrase for {path}: ")
    return load_private(path, passphrase=passphrase.encode())


def load_signer(spec: str | Path, alg: int | None = None, *, kid: bool = True,
                warn: Any = None, reserve: int = 1) -> Any:
    """A :class:`fwsign.keys.Signer` for any key spec (see the module docstring).

    For a stateful HSS-LMS key, ``warn`` receives the 90 % capacity warning and ``reserve``
    is how many one-time indices each reservation takes (the signatures this process makes).
    """
    ks = parse_spec(spec)
    if ks.pem is not None:
        if _is_stateful(ks.pem):
            from .stateful import HssSigner

            if alg is not None and alg != HssSigner.alg:
                check_alg("hss-lms", alg)
            return HssSigner(ks.pem, kid=kid, warn=warn, block=reserve)
        return load_pem_signer(ks.pem, alg, kid=kid)
    assert ks.uri is not None
    if ks.uri.startswith(PKCS11_SCHEME + ":"):
        public = None
        if ks.public is not None:
            from .keys import load_public

            public = load_public(ks.public)
        return pkcs11_signer(ks.uri, alg, kid=kid, public=public)
    return kms_signer(ks, alg, kid=kid)


def _is_stateful(path: Path) -> bool:
    from .stateful import is_hss_key_file

    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except OSError:
        return False  # the PEM loader reports the unreadable file
    return is_hss_key_file(head)


def signer_kind(signer: Any) -> str:
    """"local", "pkcs11", or the KMS scheme: for the audit log."""
    return str(getattr(signer, "kind_name", "local"))


def public_of_signer(signer: Any) -> PublicKey | None:
    from .keys import public_of

    if hasattr(signer, "public"):
        return signer.public  # type: ignore[no-any-return]
    if getattr(signer, "alg", None) == -46 and hasattr(signer, "public_key"):
        from .keys import HssLmsPublicKey

        return HssLmsPublicKey(signer.public_key)
    key = getattr(signer, "key", None)
    if key is None or key_kind(key) == "hmac":
        return None
    return public_of(key)


# -- TUF: a securesystemslib signer for pkcs11: URIs -------------------------------------


def register_sslib_pkcs11() -> None:
    """Let securesystemslib's ``Signer.from_priv_key_uri`` handle ``pkcs11:`` URIs (TUF roles)."""
    from securesystemslib.signer import SIGNER_FOR_URI_SCHEME  # type: ignore[attr-defined]

    if PKCS11_SCHEME not in SIGNER_FOR_URI_SCHEME:
        SIGNER_FOR_URI_SCHEME[PKCS11_SCHEME] = _sslib_pkcs11_class()


def _sslib_pkcs11_class() -> type:
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    from securesystemslib.signer import Key, Signature, Signer, SSlibKey  # type: ignore[attr-defined]

    class TufPkcs11Signer(Signer):  # type: ignore[misc]
        """TUF signer over a PKCS#11 key: DER ECDSA signatures as securesystemslib expects."""

        def __init__(self, inner: Pkcs11Signer, public_key: SSlibKey) -> None:
            self._inner = inner
            self._public_key = public_key

        @property
        def public_key(self) -> Key:
            return self._public_key

        @classmethod
        def from_priv_key_uri(cls, priv_key_uri: str, public_key: Key, secrets_handler: Any = None) -> TufPkcs11Signer:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            pub = load_pem_public_key(public_key.keyval["public"].encode())
            inner = pkcs11_signer(priv_key_uri, kid=False, public=pub)  # type: ignore[arg-type]
            if key_kind(pub) == "p384" and public_key.scheme != "ecdsa-sha2-nistp384":  # type: ignore[arg-type]
                raise KeyLoadError("a P-384 token key needs the ecdsa-sha2-nistp384 TUF scheme")
            return cls(inner, public_key)  # type: ignore[arg-type]

        def sign(self, payload: bytes) -> Signature:
            raw = self._inner.sign(payload)
            size = len(raw) // 2
            der = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
            return Signature(self._public_key.keyid, der.hex())

    return TufPkcs11Signer
