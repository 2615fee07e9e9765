"""Encrypt and decrypt payloads as streams, and distribute the content key to recipients.

Content encryption (the payload is never whole in memory):

* AES-GCM (RFC 9053 section 4.1) and ChaCha20/Poly1305 (RFC 9053 section 4.3, RFC 8439
  section 2.8): AAD = ``Enc_structure = ["Encrypt", protected, external_aad = h'']``
  (RFC 9052 section 5.3); the 16-byte tag follows the ciphertext, as in COSE. On
  decryption the last 16 bytes are held back and checked at the end of the stream:
  bytes decrypted before that are not yet authenticated, so a consumer must not act
  on them before the stream ends without an error (the SUIT image digest, checked
  after decryption, covers them too).
* AES-CTR (RFC 9459): no authentication of its own; the signed manifest's image
  digest over the plaintext is what detects tampering.

Content-key distribution (RFC 9053 section 6): AES Key Wrap with a pre-shared KEK
(A128KW/A256KW), or ECDH-ES+A128KW: an ephemeral key pair per recipient, the shared
secret through HKDF-SHA-256 with the COSE_KDF_Context of
draft-ietf-suit-firmware-encryption-26 section 6.2 (AlgorithmID A128KW, PartyU/V
info nil, SuppPubInfo = [128, recipient protected header, "SUIT Payload Encryption"]),
the derived key wraps the content key.
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from cryptography.hazmat.primitives.poly1305 import Poly1305

from .. import cbor
from ..errors import DecryptionError, EncryptionInfoError, KeyUnwrapError, NonceReuse, NoRecipient, UsageError
from .algs import CONTENT_ALGS, KDF_OTHER, ContentAlg, Header, KeyAlg, content_name, key_alg_name
from .info import CRV_P256, CRV_X25519, EncryptionInfo, EphemeralKey, Recipient, parse_info
from .keys import DecryptionKey, Kek, RecipientKey

TAG_BYTES = 16


def enc_structure(protected: bytes) -> bytes:
    """AAD of an AEAD content encryption: ``["Encrypt", protected, h'']`` (RFC 9052 5.3)."""
    return cbor.dumps(["Encrypt", protected, b""])


def kdf_context(recipient_protected: bytes) -> bytes:
    """COSE_KDF_Context for ECDH-ES+A128KW in SUIT (draft-ietf-suit-firmware-encryption-26 6.2)."""
    return cbor.dumps([int(KeyAlg.A128KW), [None, None, None], [None, None, None],
                       [128, recipient_protected, KDF_OTHER]])


# -- streaming content ciphers ---------------------------------------------------------


class _Stream(Protocol):
    def update(self, data: bytes) -> bytes: ...

    def tag(self) -> bytes: ...

    def verify(self, tag: bytes) -> None: ...


class _Gcm:
    def __init__(self, key: bytes, iv: bytes, aad: bytes, encrypt: bool) -> None:
        cipher = Cipher(algorithms.AES(key), modes.GCM(iv))
        self._enc = cipher.encryptor() if encrypt else None
        self._dec = None if encrypt else cipher.decryptor()
        ctx = self._enc if self._enc is not None else self._dec
        assert ctx is not None
        ctx.authenticate_additional_data(aad)
        self._ctx = ctx

    def update(self, data: bytes) -> bytes:
        return self._ctx.update(data)

    def tag(self) -> bytes:
        assert self._enc is not None
        self._enc.finalize()
        return bytes(self._enc.tag)

    def verify(self, tag: bytes) -> None:
        assert self._dec is not None
        try:
            self._dec.finalize_with_tag(tag)
        except InvalidTag:
            raise DecryptionError("the AES-GCM authentication tag does not verify: "
                                  "the ciphertext was tampered with or truncated") from None


class _ChaChaPoly:
    """ChaCha20/Poly1305 AEAD (RFC 8439 section 2.8) computed incrementally."""

    def __init__(self, key: bytes, nonce: bytes, aad: bytes, encrypt: bool) -> None:
        self._encrypt = encrypt
        # cryptography's ChaCha20 takes a 16-byte nonce: 32-bit little-endian block
        # counter, then the 96-bit nonce (RFC 8439 section 2.3). Block 0 gives the
        # Poly1305 key; the payload is encrypted from block 1 on.
        self._ks = Cipher(algorithms.ChaCha20(key, b"\x00\x00\x00\x00" + nonce), mode=None).encryptor()
        self._mac = Poly1305(self._ks.update(bytes(64))[:32])
        self._mac.update(aad + bytes(-len(aad) % 16))
        self._aad_len = len(aad)
        self._ct_len = 0

    def update(self, data: bytes) -> bytes:
        out = self._ks.update(data)
        self._mac.update(out if self._encrypt else data)
        self._ct_len += len(data)
        return out

    def _finish(self) -> None:
        self._mac.update(bytes(-self._ct_len % 16) + struct.pack("<QQ", self._aad_len, self._ct_len))

    def tag(self) -> bytes:
        self._finish()
        return self._mac.finalize()

    def verify(self, tag: bytes) -> None:
        self._finish()
        try:
            self._mac.verify(tag)
        except Exception:  # cryptography raises InvalidSignature
            raise DecryptionError("the ChaCha20/Poly1305 tag does not verify: "
                                  "the ciphertext was tampered with or truncated") from None


class _Ctr:
    def __init__(self, key: bytes, iv: bytes) -> None:
        self._ctx = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()

    def update(self, data: bytes) -> bytes:
        return self._ctx.update(data)

    def tag(self) -> bytes:
        return b""

    def verify(self, tag: bytes) -> None:
        return None


def _content_stream(alg: int, key: bytes, iv: bytes, protected: bytes, encrypt: bool) -> _Stream:
    if alg in (ContentAlg.A128GCM, ContentAlg.A256GCM):
        return _Gcm(key, iv, enc_structure(protected), encrypt)
    if alg == ContentAlg.CHACHA20_POLY1305:
        return _ChaChaPoly(key, iv, enc_structure(protected), encrypt)
    return _Ctr(key, iv)


# -- nonce reuse -----------------------------------------------------------------------

_USED_LOCK = threading.Lock()
_USED: set[bytes] = set()


def _claim_nonce(cek: bytes, iv: bytes) -> None:
    """Refuse a (content key, IV) pair this process has encrypted with before.

    Fresh random content keys make reuse practically impossible; the check matters when a
    caller supplies the key and IV (reproducible builds, test vectors): a repeated IV under
    one key reveals the XOR of two plaintexts for CTR and GCM and lets GCM tags be forged.
    """
    fp = hashlib.sha256(b"fwsign-nonce\x00" + cek + iv).digest()
    with _USED_LOCK:
        if fp in _USED:
            raise NonceReuse("this IV was already used with this content-encryption key; "
                             "every encryption needs a fresh IV (or a fresh key)")
        _USED.add(fp)


# -- recipients ------------------------------------------------------------------------


def _ecdh_kek(private: x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey,
              peer: x25519.X25519PublicKey | ec.EllipticCurvePublicKey, protected: bytes) -> bytes:
    if isinstance(private, x25519.X25519PrivateKey):
        assert isinstance(peer, x25519.X25519PublicKey)
        shared = private.exchange(peer)
    else:
        assert isinstance(peer, ec.EllipticCurvePublicKey)
        shared = private.exchange(ec.ECDH(), peer)
    return HKDF(hashes.SHA256(), 16, None, kdf_context(protected)).derive(shared)


def _make_recipient(rk: RecipientKey, cek: bytes) -> Recipient:
    key = rk.key
    if isinstance(key, Kek):
        return Recipient(key.alg, b"", rk.kid or None, aes_key_wrap(key.secret, cek))
    protected = cbor.dumps({int(Header.ALG): int(KeyAlg.ECDH_ES_A128KW)})
    if isinstance(key, x25519.X25519PublicKey):
        eph_x = x25519.X25519PrivateKey.generate()
        raw = eph_x.public_key().public_bytes_raw()
        eph = EphemeralKey(CRV_X25519, raw)
        kek = _ecdh_kek(eph_x, key, protected)
    else:
        eph_p = ec.generate_private_key(ec.SECP256R1())
        nums = eph_p.public_key().public_numbers()
        eph = EphemeralKey(CRV_P256, nums.x.to_bytes(32, "big"), nums.y.to_bytes(32, "big"))
        kek = _ecdh_kek(eph_p, key, protected)
    return Recipient(KeyAlg.ECDH_ES_A128KW, protected, rk.kid or None, aes_key_wrap(kek, cek), eph, True)


def _fits(key: DecryptionKey, r: Recipient) -> bool:
    kind = key.kind
    if r.alg == KeyAlg.ECDH_ES_A128KW and r.ephemeral is not None:
        want = "x25519" if r.ephemeral.crv == CRV_X25519 else "p256"
        return kind == want
    return (kind, r.alg) in (("a128kw", KeyAlg.A128KW), ("a256kw", KeyAlg.A256KW))


def _unwrap(key: DecryptionKey, r: Recipient, path: str) -> bytes:
    k = key.key
    if isinstance(k, Kek):
        kek = k.secret
    else:
        assert r.ephemeral is not None
        try:
            if isinstance(k, x25519.X25519PrivateKey):
                peer: x25519.X25519PublicKey | ec.EllipticCurvePublicKey = x25519.X25519PublicKey.from_public_bytes(
                    r.ephemeral.x)
            else:
                peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + r.ephemeral.x + r.ephemeral.y)
        except ValueError:
            raise EncryptionInfoError("the ephemeral key is not a valid public key", path=path) from None
        try:
            kek = _ecdh_kek(k, peer, r.protected)
        except ValueError:  # X25519 with a low-order point: all-zero shared secret
            raise KeyUnwrapError("key agreement with the ephemeral key failed", path=path) from None
    try:
        return aes_key_unwrap(kek, r.wrapped_key)
    except (InvalidUnwrap, ValueError):
        raise KeyUnwrapError(
            f"the {key_alg_name(r.alg)} wrapped content key does not unwrap with the {key.kind} key "
            f"{key.kid.hex()} (wrong key, or the wrapped key was tampered with)", path=path) from None


@dataclass(frozen=True)
class Opened:
    """The content key recovered from an encryption info, and which recipient gave it."""

    info: EncryptionInfo
    cek: bytes = field(repr=False)
    recipient: int


def open_info(info: EncryptionInfo | bytes, keys: Sequence[DecryptionKey], path: str = "encryption-info") -> Opened:
    """Find the recipient addressed to one of ``keys`` and unwrap the content key."""
    parsed = parse_info(info, path) if isinstance(info, bytes) else info
    if not keys:
        raise UsageError("give a decryption key (--decrypt-key) for the encrypted payload")
    last: KeyUnwrapError | None = None
    for i, r in enumerate(parsed.recipients):
        rpath = f"{path}.recipients[{i}]"
        for key in keys:
            if not _fits(key, r) or (r.kid is not None and r.kid != key.kid):
                continue
            try:
                cek = _unwrap(key, r, rpath)
            except KeyUnwrapError as exc:
                last = exc
                continue
            if len(cek) != CONTENT_ALGS[parsed.content_alg].key_bytes:
                raise KeyUnwrapError(f"the content key is {len(cek)} bytes; {content_name(parsed.content_alg)} "
                                     f"needs {CONTENT_ALGS[parsed.content_alg].key_bytes}", path=rpath)
            return Opened(parsed, cek, i)
    if last is not None:
        raise last
    present = ", ".join(
        f"{key_alg_name(r.alg)}" + (f" kid {r.kid.hex()}" if r.kid is not None else "") for r in parsed.recipients
    )
    mine = ", ".join(f"{k.kind} {k.kid.hex()}" for k in keys)
    raise NoRecipient(f"the payload is encrypted for {present}; none is the key given ({mine})", path=path)


# -- encryption ------------------------------------------------------------------------


def new_info(recipients: Sequence[RecipientKey], content_alg: int = ContentAlg.A128GCM, *,
             cek: bytes | None = None, iv: bytes | None = None) -> tuple[EncryptionInfo, bytes]:
    """A fresh content key and IV wrapped for every recipient: (info, content key)."""
    if not recipients:
        raise UsageError("encryption needs at least one recipient (--encrypt-for or --encrypt-kek)")
    alg_info = CONTENT_ALGS.get(content_alg)
    if alg_info is None:
        raise UsageError(f"unknown content encryption algorithm {content_alg}")
    cek = os.urandom(alg_info.key_bytes) if cek is None else cek
    iv = os.urandom(alg_info.iv_bytes) if iv is None else iv
    if len(cek) != alg_info.key_bytes or len(iv) != alg_info.iv_bytes:
        raise UsageError(f"{alg_info.name} needs a {alg_info.key_bytes}-byte key and a {alg_info.iv_bytes}-byte IV")
    _claim_nonce(cek, iv)
    protected = cbor.dumps({int(Header.ALG): int(content_alg)}) if alg_info.aead else b""
    recips = tuple(_make_recipient(r, cek) for r in recipients)
    return EncryptionInfo(int(content_alg), iv, protected, recips), cek


def encrypt_stream(info: EncryptionInfo, cek: bytes, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The detached ciphertext of ``chunks`` (tag appended for AEAD algorithms)."""
    stream = _content_stream(info.content_alg, cek, info.iv, info.protected, True)
    for chunk in chunks:
        out = stream.update(chunk)
        if out:
            yield out
    tag = stream.tag()
    if tag:
        yield tag


def decrypt_stream(opened: Opened, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Plaintext of a detached ciphertext stream; raises DecryptionError at the end if it
    does not authenticate. The tag (last 16 bytes for AEAD) is held back while streaming."""
    info = opened.info
    stream = _content_stream(info.content_alg, opened.cek, info.iv, info.protected, False)
    hold = info.tag_bytes
    pending = b""
    for chunk in chunks:
        if not hold:
            if chunk:
                yield stream.update(chunk)
            continue
        data = pending + chunk
        if len(data) > hold:
            out = stream.update(data[:-hold])
            pending = data[-hold:]
            if out:
                yield out
        else:
            pending = data
    if hold:
        if len(pending) < hold:
            raise DecryptionError(f"the encrypted payload is shorter than its {hold}-byte authentication tag (truncated)")
        stream.verify(pending)


def decrypt_chunks(info: bytes | EncryptionInfo, keys: Sequence[DecryptionKey], chunks: Iterable[bytes],
                   path: str = "encryption-info") -> Iterator[bytes]:
    """Open ``info`` with ``keys`` and decrypt the stream (convenience for verifiers)."""
    return decrypt_stream(open_info(info, keys, path), chunks)


def ciphertext_size(info: EncryptionInfo, plaintext_size: int) -> int:
    return plaintext_size + info.tag_bytes
