"""SUIT_Encryption_Info: a COSE_Encrypt (tag 96) with a detached ciphertext.

draft-ietf-suit-firmware-encryption-26 section 5-7 over RFC 9052 section 5.1::

    COSE_Encrypt = 96([ protected: bstr .cbor {1: content alg} / h'',
                        unprotected: {5: IV (, 1: content alg)},
                        ciphertext: nil,               ; detached: the payload
                        recipients: [+ COSE_recipient] ])
    COSE_recipient = [ protected: bstr, unprotected: {1: alg, 4: kid, -1: ephemeral COSE_Key},
                       ciphertext: bstr ]              ; the wrapped content key

The parser takes untrusted bytes (the manifest is signed, but a verifier must not trust
a structure before it has checked it): strict CBOR with explicit limits, exactly the
members above, known algorithms, sizes checked, and every failure an
:class:`~fwsign.errors.EncryptionInfoError` (or ``unsupported`` for an unknown
algorithm) naming where it failed. Map keys may come in any order (the draft's own
examples are not in deterministic order); duplicates are refused. The header buckets are
read by :mod:`fwsign.cose.headers` (its explicitly-allowed-labels rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import cbor
from ..cbor import FrozenMap, Tag
from ..cose.headers import decode_protected, labelled_map, merge_buckets
from ..errors import DecodeError, EncryptionInfoError, UnsupportedError
from ..limits import Limits
from .algs import CONTENT_ALGS, KEY_ALG_NAMES, TAG_COSE_ENCRYPT, ContentAlg, Header, KeyAlg, content_name

#: Limits for encryption info: small structures only.
INFO_LIMITS = Limits(max_envelope_bytes=8192, max_depth=6, max_container_items=32, max_string_bytes=1024)
MAX_INFO_BYTES = 8192
MAX_RECIPIENTS = 16
MAX_KID_BYTES = 64

_KTY, _CRV, _X, _Y = 1, -1, -2, -3
KTY_OKP, KTY_EC2 = 1, 2
CRV_P256, CRV_X25519 = 1, 4


@dataclass(frozen=True)
class EphemeralKey:
    """The sender's ephemeral public key of an ECDH-ES recipient (COSE_Key, header -1)."""

    crv: int
    x: bytes
    y: bytes = b""

    def cose_map(self) -> dict[int, object]:
        if self.crv == CRV_X25519:
            return {_KTY: KTY_OKP, _CRV: CRV_X25519, _X: self.x}
        return {_KTY: KTY_EC2, _CRV: CRV_P256, _X: self.x, _Y: self.y}


@dataclass(frozen=True)
class Recipient:
    alg: int
    protected: bytes
    kid: bytes | None
    wrapped_key: bytes = field(repr=False)
    ephemeral: EphemeralKey | None = None
    #: Whether alg sits in the protected header (serialized into the KDF context either way).
    alg_protected: bool = False


@dataclass(frozen=True)
class EncryptionInfo:
    content_alg: int
    iv: bytes
    protected: bytes
    recipients: tuple[Recipient, ...]

    @property
    def tag_bytes(self) -> int:
        return CONTENT_ALGS[self.content_alg].tag_bytes

    def encode(self) -> bytes:
        """Deterministic encoding (what the builder puts into parameter 19)."""
        unprotected: dict[int, object] = {Header.IV: self.iv}
        if not self.protected:
            unprotected[Header.ALG] = self.content_alg
        recips = []
        for r in self.recipients:
            u: dict[int, object] = {}
            if not r.alg_protected:
                u[Header.ALG] = r.alg
            if r.kid is not None:
                u[Header.KID] = r.kid
            if r.ephemeral is not None:
                u[Header.EPHEMERAL_KEY] = r.ephemeral.cose_map()
            recips.append([r.protected, u, r.wrapped_key])
        return cbor.dumps_tagged(TAG_COSE_ENCRYPT, [self.protected, unprotected, None, recips])


def _fail(msg: str, path: str) -> EncryptionInfoError:
    return EncryptionInfoError(msg, path=path)


def _header_map(value: object, path: str, allowed: frozenset[int]) -> dict[int, object]:
    return labelled_map(value, path, allowed, _fail)


def _protected(raw: object, path: str, allowed: frozenset[int]) -> tuple[bytes, dict[int, object]]:
    return decode_protected(raw, path, allowed, INFO_LIMITS, _fail)


def _merge(prot: dict[int, object], unprot: dict[int, object], path: str) -> dict[int, object]:
    return merge_buckets(prot, unprot, path, _fail)


def _int(v: object, what: str, path: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise _fail(f"{what} must be an integer", path)
    return v


def _ephemeral(value: object, path: str) -> EphemeralKey:
    if not isinstance(value, FrozenMap):
        raise _fail("ephemeral key must be a COSE_Key map", path)
    allowed = {_KTY, _CRV, _X, _Y}
    for k in value:
        if k not in allowed:
            raise _fail(f"ephemeral key member {k!r} is not allowed", path)
    kty = _int(value.get(_KTY), "ephemeral key kty", path)
    crv = _int(value.get(_CRV), "ephemeral key crv", path)
    x = value.get(_X)
    if not isinstance(x, bytes):
        raise _fail("ephemeral key x must be a byte string", path)
    if kty == KTY_OKP and crv == CRV_X25519:
        if _Y in value:
            raise _fail("an X25519 ephemeral key has no y coordinate", path)
        if len(x) != 32:
            raise _fail("an X25519 ephemeral key is 32 bytes", path)
        return EphemeralKey(CRV_X25519, x)
    if kty == KTY_EC2 and crv == CRV_P256:
        y = value.get(_Y)
        if isinstance(y, bool):
            raise UnsupportedError("compressed P-256 ephemeral keys are not supported", path=path)
        if not isinstance(y, bytes) or len(x) != 32 or len(y) != 32:
            raise _fail("a P-256 ephemeral key needs 32-byte x and y", path)
        return EphemeralKey(CRV_P256, x, y)
    raise UnsupportedError(f"ephemeral key type {kty} curve {crv} is not supported (X25519 or P-256)", path=path)


_RECIPIENT_LABELS = frozenset({Header.ALG, Header.KID, Header.EPHEMERAL_KEY})


def _recipient(value: object, path: str) -> Recipient:
    if not isinstance(value, tuple) or len(value) != 3:
        raise _fail("a recipient is [protected, unprotected, wrapped key] (no nested recipients)", path)
    raw_prot, prot = _protected(value[0], f"{path}.protected", frozenset({Header.ALG}))
    unprot = _header_map(value[1], f"{path}.unprotected", _RECIPIENT_LABELS)
    headers = _merge(prot, unprot, path)
    if Header.ALG not in headers:
        raise _fail("recipient has no alg", path)
    alg = _int(headers[Header.ALG], "recipient alg", path)
    if alg not in KEY_ALG_NAMES:
        raise UnsupportedError(f"key distribution algorithm {alg} is not supported (A128KW, A256KW, ECDH-ES+A128KW)",
                               path=path)
    kid = headers.get(Header.KID)
    if kid is not None and (not isinstance(kid, bytes) or not 0 < len(kid) <= MAX_KID_BYTES):
        raise _fail(f"kid must be a byte string of 1-{MAX_KID_BYTES} bytes", path)
    wrapped = value[2]
    if not isinstance(wrapped, bytes):
        raise _fail("the wrapped content key must be a byte string", path)
    if len(wrapped) not in (24, 40):  # a 16- or 32-byte key wrapped by RFC 3394 (+8 bytes)
        raise _fail(f"a wrapped content key is 24 or 40 bytes, got {len(wrapped)}", path)
    eph: EphemeralKey | None = None
    if alg == KeyAlg.ECDH_ES_A128KW:
        if Header.EPHEMERAL_KEY not in unprot:
            raise _fail("an ECDH-ES recipient needs the ephemeral key (-1) in its unprotected header", path)
        eph = _ephemeral(unprot[Header.EPHEMERAL_KEY], f"{path}.ephemeral-key")
    elif Header.EPHEMERAL_KEY in headers:
        raise _fail("an AES Key Wrap recipient carries no ephemeral key", path)
    return Recipient(alg, raw_prot, kid if isinstance(kid, bytes) else None, wrapped, eph, Header.ALG in prot)


def parse_info(data: bytes, path: str = "encryption-info") -> EncryptionInfo:
    """Parse untrusted SUIT_Encryption_Info bytes strictly; raises typed errors only."""
    if not isinstance(data, bytes):
        raise _fail("encryption info must be a byte string", path)
    if len(data) > MAX_INFO_BYTES:
        raise EncryptionInfoError(f"encryption info is {len(data)} bytes, more than {MAX_INFO_BYTES}", path=path,
                                  reason="limit-exceeded")
    try:
        value = cbor.loads(data, INFO_LIMITS, path=path, require_canonical=False)
    except DecodeError as exc:
        raise _fail(f"not well-formed CBOR: {exc.message}", exc.path or path) from None
    if not isinstance(value, Tag) or value.tag != TAG_COSE_ENCRYPT:
        raise _fail("must be a COSE_Encrypt tagged 96", path)
    body = value.value
    if not isinstance(body, tuple) or len(body) != 4:
        raise _fail("COSE_Encrypt has four members", path)
    raw_prot, prot = _protected(body[0], f"{path}.protected", frozenset({Header.ALG}))
    unprot = _header_map(body[1], f"{path}.unprotected", frozenset({Header.ALG, Header.IV}))
    headers = _merge(prot, unprot, path)
    if body[2] is not None:
        raise _fail("the ciphertext must be detached (nil): the payload carries it", path)
    if Header.ALG not in headers:
        raise _fail("COSE_Encrypt has no content encryption alg", path)
    alg = _int(headers[Header.ALG], "content alg", path)
    info = CONTENT_ALGS.get(alg)
    if info is None:
        raise UnsupportedError(f"content encryption algorithm {alg} is not supported "
                               "(A128GCM, A256GCM, ChaCha20/Poly1305, A128CTR, A256CTR)", path=path)
    if not info.aead and raw_prot:
        # RFC 9459 section 4: a non-AEAD algorithm cannot protect a header; it must be empty.
        raise _fail(f"{content_name(alg)} takes a zero-length protected header", path)
    iv = headers.get(Header.IV)
    if not isinstance(iv, bytes) or len(iv) != info.iv_bytes:
        raise _fail(f"{content_name(alg)} needs a {info.iv_bytes}-byte IV (header 5)", path)
    recips = body[3]
    if not isinstance(recips, tuple) or not recips:
        raise _fail("COSE_Encrypt needs one or more recipients", path)
    if len(recips) > MAX_RECIPIENTS:
        raise EncryptionInfoError(f"more than {MAX_RECIPIENTS} recipients", path=path, reason="limit-exceeded")
    recipients = tuple(_recipient(r, f"{path}.recipients[{i}]") for i, r in enumerate(recips))
    return EncryptionInfo(alg, iv, raw_prot, recipients)


__all__ = ["ContentAlg", "EncryptionInfo", "EphemeralKey", "Recipient", "parse_info"]
