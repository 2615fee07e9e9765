"""Keys for payload encryption: device key-agreement keys and pre-shared key-encryption keys.

* Device key-agreement keys (ECDH-ES+A128KW): X25519 or P-256, PKCS#8 PEM (private,
  mode 0600) and SubjectPublicKeyInfo PEM (public). The release engineer encrypts for
  the public key; the device keeps the private key.
* Key-encryption keys (A128KW / A256KW): 16 or 32 random bytes shared by the release
  engineer and the device, stored base64 under a ``SUIT KEY ENCRYPTION KEY`` PEM label
  (mode 0600). Whoever holds a KEK can decrypt every payload wrapped for it.

The key id (``kid``) of every key is the first 8 bytes of its RFC 9679 COSE Key
Thumbprint, as for signing keys: for an EC2 or OKP key it is computed over the public
key; for a KEK over the symmetric COSE_Key (a SHA-256 commitment to a random key, which
reveals nothing usable about it). Key material never appears in messages or reprs.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from ..cose import kid as _kid
from ..errors import KeyLoadError, UsageError
from ..keys import pem_secret, read_key_file
from .algs import KW_KEY_BYTES, KeyAlg

KEK_PEM_LABEL = "SUIT KEY ENCRYPTION KEY"
KID_BYTES = _kid.KID_BYTES

# COSE_Key labels and values (RFC 9052 section 7, RFC 9053 section 7).
_KTY, _CRV, _X, _Y, _K = 1, -1, -2, -3, -1
KTY_OKP, KTY_EC2, KTY_SYMMETRIC = 1, 2, 4
CRV_P256, CRV_X25519 = 1, 4

KexPrivate = Union[x25519.X25519PrivateKey, ec.EllipticCurvePrivateKey]
KexPublic = Union[x25519.X25519PublicKey, ec.EllipticCurvePublicKey]

#: keygen kinds this module generates.
KINDS = ("x25519", "p256-kex", "a128kw", "a256kw")


@dataclass(frozen=True)
class Kek:
    """A pre-shared AES key-encryption key."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) not in (16, 32):
            raise KeyLoadError("a key-encryption key must be 16 (A128KW) or 32 (A256KW) bytes")

    @property
    def alg(self) -> int:
        return KeyAlg.A128KW if len(self.secret) == 16 else KeyAlg.A256KW

    @property
    def kid(self) -> bytes:
        return _thumb({_KTY: KTY_SYMMETRIC, _K: self.secret})


@dataclass(frozen=True)
class RecipientKey:
    """What the sender encrypts for: a device's public key-agreement key, or a KEK."""

    key: KexPublic | Kek = field(repr=False)
    kid: bytes = b""

    @property
    def kind(self) -> str:
        return key_kind(self.key)


@dataclass(frozen=True)
class DecryptionKey:
    """What the receiver decrypts with: a private key-agreement key, or a KEK."""

    key: KexPrivate | Kek = field(repr=False)
    kid: bytes = b""

    @property
    def kind(self) -> str:
        return key_kind(self.key)


def key_kind(key: KexPrivate | KexPublic | Kek) -> str:
    if isinstance(key, Kek):
        return "a128kw" if key.alg == KeyAlg.A128KW else "a256kw"
    if isinstance(key, (x25519.X25519PrivateKey, x25519.X25519PublicKey)):
        return "x25519"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and isinstance(key.curve, ec.SECP256R1):
        return "p256"
    raise KeyLoadError("key agreement needs an X25519 or P-256 key")


def _thumb(cose_key: dict[int, object]) -> bytes:
    return _kid.kid_of(cose_key)


def public_cose_key(key: KexPublic) -> dict[int, object]:
    """The COSE_Key of a public key-agreement key (required members only, RFC 9679)."""
    if isinstance(key, x25519.X25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {_KTY: KTY_OKP, _CRV: CRV_X25519, _X: raw}
    point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {_KTY: KTY_EC2, _CRV: CRV_P256, _X: point[1:33], _Y: point[33:65]}


def kid_of(key: KexPrivate | KexPublic | Kek) -> bytes:
    if isinstance(key, Kek):
        return key.kid
    pub = key.public_key() if isinstance(key, (x25519.X25519PrivateKey, ec.EllipticCurvePrivateKey)) else key
    return _thumb(public_cose_key(pub))


# -- files ------------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    return read_key_file(path, "key")


def _parse_kek(data: bytes, path: Path) -> Kek | None:
    try:
        secret = pem_secret(data, KEK_PEM_LABEL, "key-encryption key")
    except KeyLoadError:
        raise KeyLoadError(f"{path}: malformed key-encryption key PEM") from None
    return None if secret is None else Kek(secret)


def kek_pem(kek: Kek) -> bytes:
    b64 = base64.b64encode(kek.secret).decode()
    return f"-----BEGIN {KEK_PEM_LABEL}-----\n{b64}\n-----END {KEK_PEM_LABEL}-----\n".encode()


def _load_private_pem(data: bytes, path: Path) -> KexPrivate:
    passphrase = os.environ.get("FWSIGN_KEY_PASSPHRASE")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase.encode() if passphrase else None)
    except TypeError:
        raise KeyLoadError(f"{path} is encrypted: set FWSIGN_KEY_PASSPHRASE to its passphrase") from None
    except ValueError:
        raise KeyLoadError(f"{path} is not a PEM private key (or the passphrase is wrong)") from None
    if not isinstance(key, (x25519.X25519PrivateKey, ec.EllipticCurvePrivateKey)):
        raise KeyLoadError(f"{path}: a {type(key).__name__} cannot decrypt; use an X25519 or P-256 key or a KEK")
    key_kind(key)
    return key


def load_decryption_key(path: Path) -> DecryptionKey:
    """A device's decryption key: X25519/P-256 private PEM, or a KEK file."""
    data = _read(path)
    kek = _parse_kek(data, path)
    if kek is not None:
        return DecryptionKey(kek, kek.kid)
    if b"PRIVATE KEY" not in data:
        raise KeyLoadError(f"{path} holds no private key; decryption needs the device's private key or the KEK")
    key = _load_private_pem(data, path)
    return DecryptionKey(key, kid_of(key))


def load_recipient(path: Path) -> RecipientKey:
    """Who to encrypt for: a public (or private) X25519/P-256 PEM, or a KEK file."""
    data = _read(path)
    kek = _parse_kek(data, path)
    if kek is not None:
        return RecipientKey(kek, kek.kid)
    if b"PRIVATE KEY" in data:
        priv = _load_private_pem(data, path)
        pub: KexPublic = priv.public_key()
    else:
        try:
            loaded = serialization.load_pem_public_key(data)
        except ValueError:
            raise KeyLoadError(f"{path} is not a PEM public key or a key-encryption key") from None
        if not isinstance(loaded, (x25519.X25519PublicKey, ec.EllipticCurvePublicKey)):
            raise KeyLoadError(f"{path}: a {type(loaded).__name__} cannot be encrypted for; use X25519 or P-256")
        pub = loaded
    key_kind(pub)
    return RecipientKey(pub, kid_of(pub))


def generate(kind: str) -> KexPrivate | Kek:
    if kind == "x25519":
        return x25519.X25519PrivateKey.generate()
    if kind == "p256-kex":
        return ec.generate_private_key(ec.SECP256R1())
    if kind in ("a128kw", "a256kw"):
        return Kek(os.urandom(KW_KEY_BYTES[KeyAlg.A128KW if kind == "a128kw" else KeyAlg.A256KW]))
    raise UsageError(f"unknown encryption key kind {kind!r}; choose {', '.join(KINDS)}")


def private_pem(key: KexPrivate | Kek) -> bytes:
    if isinstance(key, Kek):
        return kek_pem(key)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def public_pem(key: KexPrivate) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def keygen_files(kind: str, base: str, *, force: bool = False) -> tuple[bytes, list[Path]]:
    """Generate an encryption key and write NAME.pem (0600) and, for key agreement, NAME.pub.pem.

    Returns (kid, files written). Refuses to overwrite unless ``force``.
    """
    from ..keys import write_atomic

    files = [Path(base + ".pem")]
    if kind in ("x25519", "p256-kex"):
        files.append(Path(base + ".pub.pem"))
    existing = [str(f) for f in files if f.exists()]
    if existing and not force:
        raise UsageError(f"refusing to overwrite {', '.join(existing)} (use --force)")
    key = generate(kind)
    write_atomic(files[0], private_pem(key), mode=0o600)
    if not isinstance(key, Kek):
        write_atomic(files[1], public_pem(key))
    return kid_of(key), files
