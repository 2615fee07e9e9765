"""Keys: generation, loading, COSE_Key encoding, key ids, and the signer abstraction.

Supported kinds: Ed25519, ECDSA P-256, ECDSA P-384 (signatures), 256-bit HMAC keys
(symmetric MAC, for devices provisioned with a shared key) and the post-quantum kinds:
ML-DSA-44/-65/-87 (FIPS 204; the private key is its 32-byte seed, PKCS#8 PEM as
pyca/cryptography writes it; COSE_Key type AKP of draft-ietf-cose-dilithium) and HSS-LMS
public keys (RFC 8554; COSE_Key type HSS-LMS of RFC 8778). An HSS-LMS *private* key is
stateful and never an in-memory object here: it lives in its key file and signs only
through :class:`fwsign.stateful.HssSigner`. Private keys are written as
PKCS#8 PEM (symmetric keys under a ``SUIT SYMMETRIC KEY`` PEM label), mode 0600, via a
temporary file and rename. Key material never appears in messages or reprs.

Key ids (``kid``) are the first 8 bytes of the RFC 9679 COSE Key Thumbprint (SHA-256
over the canonical COSE_Key of the public part), so any tool can recompute them; the rule
and the algorithm table (``ALG_NAMES``, ``ALG_DISPLAY``, ``KIND_ALGS``) live in
:mod:`fwsign.cose` and are re-exported here.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac as _hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from . import cbor
from .cose import kid as _kid
from .cose.algs import ALG_DISPLAY as ALG_DISPLAY
from .cose.algs import ALG_NAMES as ALG_NAMES
from .cose.algs import KIND_ALGS as KIND_ALGS
from .errors import FwsignError, KeyLoadError, UsageError

MlDsaPrivateKey = Union[mldsa.MLDSA44PrivateKey, mldsa.MLDSA65PrivateKey, mldsa.MLDSA87PrivateKey]
MlDsaPublicKey = Union[mldsa.MLDSA44PublicKey, mldsa.MLDSA65PublicKey, mldsa.MLDSA87PublicKey]
PrivateKey = Union[ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey, "SymmetricKey", MlDsaPrivateKey]
PublicKey = Union[ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey, "SymmetricKey", MlDsaPublicKey, "HssLmsPublicKey"]

KID_BYTES = _kid.KID_BYTES
SYMMETRIC_PEM_LABEL = "SUIT SYMMETRIC KEY"

# COSE_Key labels and values (RFC 9052 section 7, RFC 9053).
KTY, KID_LABEL, ALG_LABEL, CRV, X, Y, K = 1, 2, 3, -1, -2, -3, -1
KTY_OKP, KTY_EC2, KTY_SYMMETRIC, KTY_HSS_LMS, KTY_AKP = 1, 2, 4, 5, 7
CRV_P256, CRV_P384, CRV_ED25519 = 1, 2, 6
PUB = -1  # HSS-LMS (RFC 8778) and AKP (draft-ietf-cose-dilithium) public key member

#: ML-DSA parameter sets: kind -> (COSE alg, private class, public class, public key bytes).
_MLDSA: dict[str, tuple[int, Any, Any, int]] = {
    "ml-dsa-44": (-48, mldsa.MLDSA44PrivateKey, mldsa.MLDSA44PublicKey, 1312),
    "ml-dsa-65": (-49, mldsa.MLDSA65PrivateKey, mldsa.MLDSA65PublicKey, 1952),
    "ml-dsa-87": (-50, mldsa.MLDSA87PrivateKey, mldsa.MLDSA87PublicKey, 2592),
}
_MLDSA_BY_ALG = {v[0]: k for k, v in _MLDSA.items()}


@dataclass(frozen=True)
class SymmetricKey:
    """A MAC key. Its bytes are excluded from repr so they cannot leak into logs."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 32:
            raise KeyLoadError("HMAC 256/256 keys must be at least 32 bytes")


@dataclass(frozen=True)
class HssLmsPublicKey:
    """An HSS-LMS public key (RFC 8554 section 6.1): u32str(L) || the top LMS public key."""

    raw: bytes

    def __post_init__(self) -> None:
        from .pq.hsslms import parse_hss_public

        if parse_hss_public(self.raw) is None:
            raise KeyLoadError("not an HSS-LMS public key of a supported parameter set (RFC 8554, SHA-256, m = 32)")


def key_kind(key: PrivateKey | PublicKey) -> str:
    if isinstance(key, HssLmsPublicKey):
        return "hss-lms"
    for kind, (_alg, priv_cls, pub_cls, _n) in _MLDSA.items():
        if isinstance(key, (priv_cls, pub_cls)):
            return kind
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "ed25519"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        if isinstance(key.curve, ec.SECP256R1):
            return "p256"
        if isinstance(key.curve, ec.SECP384R1):
            return "p384"
        raise KeyLoadError(f"unsupported curve {key.curve.name}")
    return "hmac"


def check_alg(kind: str, alg: int) -> None:
    if alg not in KIND_ALGS.get(kind, ()):
        names = ", ".join(ALG_DISPLAY[a] for a in KIND_ALGS.get(kind, ()))
        raise KeyLoadError(
            f"a {kind} key cannot be used with {ALG_DISPLAY.get(alg, str(alg))}; use {names}"
        )


def public_of(key: PrivateKey | PublicKey) -> PublicKey:
    if isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey, mldsa.MLDSA44PrivateKey,
                        mldsa.MLDSA65PrivateKey, mldsa.MLDSA87PrivateKey)):
        return key.public_key()
    return key


# -- COSE_Key and kid ----------------------------------------------------------------


def cose_key_map(key: PublicKey, *, with_kid: bool = True, thumbprint_only: bool = False) -> dict[int, object]:
    """COSE_Key of a public key (or of a symmetric key, which is secret)."""
    kind = key_kind(key)
    out: dict[int, object]
    if kind == "ed25519":
        assert isinstance(key, ed25519.Ed25519PublicKey)
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        out = {KTY: KTY_OKP, CRV: CRV_ED25519, X: raw}
    elif kind in ("p256", "p384"):
        assert isinstance(key, ec.EllipticCurvePublicKey)
        size = 32 if kind == "p256" else 48
        nums = key.public_numbers()
        out = {
            KTY: KTY_EC2,
            CRV: CRV_P256 if kind == "p256" else CRV_P384,
            X: nums.x.to_bytes(size, "big"),
            Y: nums.y.to_bytes(size, "big"),
        }
    elif kind == "hss-lms":
        assert isinstance(key, HssLmsPublicKey)
        out = {KTY: KTY_HSS_LMS, PUB: key.raw}
    elif kind in _MLDSA:
        out = {KTY: KTY_AKP, ALG_LABEL: _MLDSA[kind][0], PUB: public_raw(key)}
    else:
        assert isinstance(key, SymmetricKey)
        out = {KTY: KTY_SYMMETRIC, K: key.secret}
    if not thumbprint_only and with_kid:
        out[KID_LABEL] = key_id(key)
    return out


def thumbprint(key: PublicKey) -> bytes:
    """RFC 9679 COSE Key Thumbprint (SHA-256 of the canonical required members)."""
    return _kid.thumbprint(cose_key_map(key, thumbprint_only=True))


def key_id(key: PrivateKey | PublicKey) -> bytes:
    """fwsign's key id of a key (:func:`fwsign.cose.kid.kid_of` of its public COSE_Key)."""
    return _kid.kid_of(cose_key_map(public_of(key), thumbprint_only=True))


def encode_cose_key(key: PublicKey) -> bytes:
    return cbor.dumps(cose_key_map(key))


def decode_cose_key(data: bytes) -> PublicKey:
    try:
        value = cbor.loads(data)
    except FwsignError as exc:
        raise KeyLoadError(f"not a COSE_Key: {exc.message}") from None
    if not isinstance(value, cbor.FrozenMap):
        raise KeyLoadError("not a COSE_Key: expected a map")
    kty = value.get(KTY)
    try:
        if kty == KTY_OKP and value.get(CRV) == CRV_ED25519:
            x = value.get(X)
            if not isinstance(x, bytes):
                raise KeyLoadError("COSE_Key x must be bytes")
            return ed25519.Ed25519PublicKey.from_public_bytes(x)
        if kty == KTY_EC2 and value.get(CRV) in (CRV_P256, CRV_P384):
            x, y = value.get(X), value.get(Y)
            if not isinstance(x, bytes) or not isinstance(y, bytes):
                raise KeyLoadError("COSE_Key x and y must be bytes")
            curve: ec.EllipticCurve = ec.SECP256R1() if value.get(CRV) == CRV_P256 else ec.SECP384R1()
            return ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve
            ).public_key()
        if kty == KTY_SYMMETRIC:
            k = value.get(K)
            if not isinstance(k, bytes):
                raise KeyLoadError("COSE_Key k must be bytes")
            return SymmetricKey(k)
        if kty == KTY_HSS_LMS:
            pub = value.get(PUB)
            if not isinstance(pub, bytes):
                raise KeyLoadError("COSE_Key pub must be bytes")
            return HssLmsPublicKey(pub)
        if kty == KTY_AKP:
            pub, alg = value.get(PUB), value.get(ALG_LABEL)
            kind = _MLDSA_BY_ALG.get(alg) if isinstance(alg, int) else None
            if kind is None:
                raise KeyLoadError(f"AKP COSE_Key with algorithm {alg!r}: only ML-DSA-44/-65/-87 (-48/-49/-50) are supported")
            if not isinstance(pub, bytes) or len(pub) != _MLDSA[kind][3]:
                raise KeyLoadError(f"COSE_Key pub must be the {_MLDSA[kind][3]}-byte {kind.upper()} public key")
            return _MLDSA[kind][2].from_public_bytes(pub)  # type: ignore[no-any-return]
    except ValueError as exc:
        raise KeyLoadError(f"invalid COSE_Key: {exc}") from None
    raise KeyLoadError(f"unsupported COSE_Key (kty {kty!r}, crv {value.get(CRV)!r})")


# -- generation and files ------------------------------------------------------------


def generate(kind: str) -> PrivateKey:
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "hmac":
        return SymmetricKey(secrets.token_bytes(32))
    if kind in _MLDSA:
        return _MLDSA[kind][1].generate()  # type: ignore[no-any-return]
    raise UsageError(f"unknown key kind {kind!r}; choose ed25519, p256, p384, hmac, ml-dsa-44, ml-dsa-65 or ml-dsa-87")


def private_pem(key: PrivateKey) -> bytes:
    if isinstance(key, SymmetricKey):
        b64 = base64.encodebytes(key.secret).decode().replace("\n", "")
        return f"-----BEGIN {SYMMETRIC_PEM_LABEL}-----\n{b64}\n-----END {SYMMETRIC_PEM_LABEL}-----\n".encode()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: PublicKey) -> bytes:
    if isinstance(key, SymmetricKey):
        raise KeyLoadError("a symmetric key has no public part")
    if isinstance(key, HssLmsPublicKey):
        raise KeyLoadError("HSS-LMS public keys are kept as COSE_Key files (NAME.cose), not PEM")
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and rename.

    A crash or error leaves either the old file or the new one, never a partial write.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_key_file(path: Path, what: str = "key") -> bytes:
    """A key file's bytes, refusing anything too large to be one (never echoes the content)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > 64 * 1024:
        raise KeyLoadError(f"{what} {path} is larger than 64 KiB; not a key file")
    return data


def pem_secret(data: bytes, label: str, what: str) -> bytes | None:
    """The base64 body of a ``-----BEGIN <label>-----`` block, or None when there is none."""
    begin = f"-----BEGIN {label}-----".encode()
    end = f"-----END {label}-----".encode()
    if begin not in data:
        return None
    try:
        body = data.split(begin, 1)[1].split(end, 1)[0]
        return base64.b64decode(b"".join(body.split()), validate=True)
    except (ValueError, IndexError):
        raise KeyLoadError(f"malformed {what} PEM") from None


def _parse_symmetric_pem(data: bytes) -> SymmetricKey | None:
    secret = pem_secret(data, SYMMETRIC_PEM_LABEL, "symmetric key")
    return None if secret is None else SymmetricKey(secret)


def load_private(path: Path, *, passphrase: bytes | None = None) -> PrivateKey:
    """Load a private key (PKCS#8/SEC1 PEM or symmetric-key PEM). Never echoes key bytes.

    An encrypted PEM takes ``passphrase`` or else ``FWSIGN_KEY_PASSPHRASE``.
    """
    data = read_key_file(path, "private key")
    sym = _parse_symmetric_pem(data)
    if sym is not None:
        return sym
    if b"HSS-LMS PRIVATE KEY" in data:
        raise KeyLoadError(f"{path} is a stateful HSS-LMS key: it signs only through its state (fwsign.stateful.HssSigner)")
    if passphrase is None:
        env = os.environ.get("FWSIGN_KEY_PASSPHRASE")
        passphrase = env.encode() if env else None
    if passphrase is not None and b"ENCRYPTED" not in data:
        passphrase = None  # a passphrase in the environment must not break unencrypted keys
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        raise KeyLoadError(
            f"{path} is encrypted: set FWSIGN_KEY_PASSPHRASE to its passphrase"
        ) from None
    except ValueError:
        if b"PUBLIC KEY" in data:
            raise KeyLoadError(f"{path} holds a public key; signing needs the private key") from None
        raise KeyLoadError(f"{path} is not a PEM private key (or the passphrase is wrong)") from None
    if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey, mldsa.MLDSA44PrivateKey,
                            mldsa.MLDSA65PrivateKey, mldsa.MLDSA87PrivateKey)):
        raise KeyLoadError(f"{path}: unsupported key type {type(key).__name__}")
    key_kind(key)  # rejects unsupported curves
    return key


def load_public(path: Path) -> PublicKey:
    """Load a verification key: public PEM, COSE_Key, private PEM (public part) or symmetric key."""
    data = read_key_file(path, "key")
    sym = _parse_symmetric_pem(data)
    if sym is not None:
        return sym
    if b"HSS-LMS PRIVATE KEY" in data:
        from .stateful import decode_key

        return HssLmsPublicKey(decode_key(data, str(path)).public_key)
    if b"-----BEGIN" in data:
        if b"PRIVATE KEY" in data:
            return public_of(load_private(path))
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            raise KeyLoadError(f"{path} is not a PEM public key") from None
        if not isinstance(key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey, mldsa.MLDSA44PublicKey,
                                mldsa.MLDSA65PublicKey, mldsa.MLDSA87PublicKey)):
            raise KeyLoadError(f"{path}: unsupported key type {type(key).__name__}")
        key_kind(key)
        return key
    return decode_cose_key(data)


# -- signing and verification primitives ---------------------------------------------


class Signer(Protocol):
    """Anything that can produce a COSE signature or MAC tag over bytes."""

    @property
    def alg(self) -> int: ...

    @property
    def kid(self) -> bytes | None: ...

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class LocalSigner:
    """A signer backed by a key in process memory."""

    key: PrivateKey = field(repr=False)
    alg: int
    kid: bytes | None

    def __post_init__(self) -> None:
        check_alg(key_kind(self.key), self.alg)

    def sign(self, data: bytes) -> bytes:
        key = self.key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            size = 32 if isinstance(key.curve, ec.SECP256R1) else 48
            h: hashes.HashAlgorithm = hashes.SHA256() if size == 32 else hashes.SHA384()
            # RFC 6979 deterministic nonces: the same input always gives the same
            # signature, so releases are reproducible byte for byte.
            der = key.sign(data, ec.ECDSA(h, deterministic_signing=True))
            r, s = decode_dss_signature(der)
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if isinstance(key, SymmetricKey):
            return _hmac.new(key.secret, data, hashlib.sha256).digest()
        # ML-DSA, pure mode with the empty context (draft-ietf-cose-dilithium); FIPS 204's
        # hedged signing, so two signatures of one release differ (both verify).
        return key.sign(data)


def make_signer(key: PrivateKey, alg: int | None = None, *, kid: bool = True) -> LocalSigner:
    kind = key_kind(key)
    chosen = KIND_ALGS[kind][0] if alg is None else alg
    return LocalSigner(key, chosen, key_id(key) if kid else None)


def verify_raw(key: PublicKey, alg: int, data: bytes, signature: bytes) -> bool:
    """Check a raw COSE signature/tag. Returns False on any mismatch, never raises for it."""
    kind = key_kind(key)
    if alg not in KIND_ALGS.get(kind, ()):
        return False
    if kind == "ed25519":
        assert isinstance(key, ed25519.Ed25519PublicKey)
        if len(signature) != 64:
            return False
        return _ed25519_verify(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw), data, signature)
    if kind in ("p256", "p384"):
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return _ecdsa_verifier(key, kind)(alg, data, signature)
    if kind == "hss-lms":
        from .pq.hsslms import hss_verify

        assert isinstance(key, HssLmsPublicKey)
        return hss_verify(key.raw, data, signature)
    if kind in _MLDSA:
        return _mldsa_verifier(key)(alg, data, signature)  # type: ignore[arg-type]
    assert isinstance(key, SymmetricKey)
    expected = _hmac.new(key.secret, data, hashlib.sha256).digest()
    return _hmac.compare_digest(expected, signature)


Verifier = Callable[[int, bytes, bytes], bool]


def make_verifier(key: PublicKey, *, bulk: bool = True) -> Verifier:
    """A prepared ``verify_raw`` for one key: (alg, data, signature) -> bool.

    For Ed25519 with ``bulk`` (many verifications in one process: gateways, servers) the
    libsodium key object is built once; libsodium verifies markedly faster than OpenSSL.
    Without ``bulk`` (one verification per process, the CLI) OpenSSL through cryptography
    is used, which is already loaded, instead of paying for importing PyNaCl.
    """
    kind = key_kind(key)
    if kind in ("p256", "p384"):
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return _ecdsa_verifier(key, kind)
    if kind in _MLDSA:
        return _mldsa_verifier(key)  # type: ignore[arg-type]
    if kind != "ed25519":
        return lambda alg, data, signature: verify_raw(key, alg, data, signature)
    assert isinstance(key, ed25519.Ed25519PublicKey)
    allowed = KIND_ALGS["ed25519"]
    if not bulk:
        def verify_openssl(alg: int, data: bytes, signature: bytes) -> bool:
            if alg not in allowed or len(signature) != 64:
                return False
            try:
                key.verify(signature, data)
            except InvalidSignature:
                return False
            return True

        return verify_openssl
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    verify_key = VerifyKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    def verify(alg: int, data: bytes, signature: bytes) -> bool:
        if alg not in allowed or len(signature) != 64:
            return False
        try:
            verify_key.verify(data, signature)
        except (BadSignatureError, ValueError):
            return False
        return True

    return verify


def _ecdsa_verifier(key: ec.EllipticCurvePublicKey, kind: str) -> Verifier:
    """``verify_raw`` for one ECDSA key with the algorithm objects built once."""
    size = 32 if kind == "p256" else 48
    algorithm = ec.ECDSA(hashes.SHA256() if size == 32 else hashes.SHA384())
    allowed = KIND_ALGS[kind]

    def verify(alg: int, data: bytes, signature: bytes) -> bool:
        if alg not in allowed or len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        try:
            key.verify(encode_dss_signature(r, s), data, algorithm)
        except (InvalidSignature, ValueError):
            return False
        return True

    return verify


def _mldsa_verifier(key: MlDsaPublicKey) -> Verifier:
    """``verify_raw`` for one ML-DSA key: pure ML-DSA, empty context (FIPS 204 Algorithm 3)."""
    kind = key_kind(key)
    alg = _MLDSA[kind][0]
    size = {"ml-dsa-44": 2420, "ml-dsa-65": 3309, "ml-dsa-87": 4627}[kind]

    def verify(a: int, data: bytes, signature: bytes) -> bool:
        if a != alg or len(signature) != size:
            return False
        try:
            key.verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True

    return verify


def _ed25519_verify(public: bytes, data: bytes, signature: bytes) -> bool:
    # libsodium (PyNaCl) verifies Ed25519 markedly faster than OpenSSL through
    # cryptography on this hot path; imported lazily to keep CLI start-up lean.
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    try:
        VerifyKey(public).verify(data, signature)
    except (BadSignatureError, ValueError):
        return False
    return True


def c_array(name: str, data: bytes) -> str:
    """A C declaration embedding ``data``, for provisioning keys into a bootloader."""
    rows = [", ".join(f"0x{b:02x}" for b in data[i : i + 12]) for i in range(0, len(data), 12)]
    body = ",\n    ".join(rows)
    return f"static const unsigned char {name}[{len(data)}] = {{\n    {body}\n}};"


def public_raw(key: PublicKey) -> bytes:
    """Raw public key bytes as a device stores them (Ed25519 32 B; EC uncompressed point)."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    if isinstance(key, HssLmsPublicKey):
        return key.raw
    if isinstance(key, (mldsa.MLDSA44PublicKey, mldsa.MLDSA65PublicKey, mldsa.MLDSA87PublicKey)):
        return key.public_bytes_raw()
    raise KeyLoadError("a symmetric key has no public part")
