"""The COSE message model and the strict decoder of signed and MACed messages (RFC 9052).

The four structures that carry a signature or a MAC share one shape::

    COSE_Sign1 = 18([protected, unprotected, payload, signature])
    COSE_Mac0  = 17([protected, unprotected, payload, tag])
    COSE_Sign  = 98([protected, unprotected, payload, [+ COSE_Signature]])
    COSE_Mac   = 97([protected, unprotected, payload, [+ COSE_recipient]])

:class:`CoseMessage` holds any of them: the single-signer forms keep the signature or tag
in ``tag``; the multi-signer forms keep one :class:`CoseSignature` per signer in
``signers``. The decoder here reads authentication blocks of a SUIT envelope, which
today are COSE_Sign1 and COSE_Mac0 only (docs/processing-model.md section 5): the
multi-signer forms are recognised and refused as ``unsupported``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..cbor import FrozenMap, Tag, loads
from ..errors import DecodeError, UnsupportedError
from ..limits import Limits
from .headers import check_auth_headers, check_header_map, expected

# CBOR tags of the COSE messages (RFC 9052 section 2).
TAG_COSE_SIGN1: Final = 18
TAG_COSE_SIGN: Final = 98
TAG_COSE_MAC0: Final = 17
TAG_COSE_MAC: Final = 97
TAG_COSE_ENCRYPT: Final = 96

#: Single-signer forms: the fourth member is the signature or tag itself.
SINGLE_SIGNER_TAGS: Final = frozenset({TAG_COSE_SIGN1, TAG_COSE_MAC0})
#: Multi-signer forms: the fourth member is an array of signers (or MAC recipients).
MULTI_SIGNER_TAGS: Final = frozenset({TAG_COSE_SIGN, TAG_COSE_MAC})


# Spelled-out __init__ (init=False): a compiled build turns it into native code.


@dataclass(frozen=True, init=False)
class CoseSignature:
    """One signer of a COSE_Sign (RFC 9052 section 4.1), or one recipient of a COSE_Mac."""

    protected: bytes
    protected_map: FrozenMap
    unprotected: FrozenMap
    signature: bytes

    def __init__(self, protected: bytes, protected_map: FrozenMap, unprotected: FrozenMap, signature: bytes) -> None:
        object.__setattr__(self, "protected", protected)
        object.__setattr__(self, "protected_map", protected_map)
        object.__setattr__(self, "unprotected", unprotected)
        object.__setattr__(self, "signature", signature)


@dataclass(frozen=True, init=False)
class CoseMessage:
    """A COSE_Sign1 (tag 18) or COSE_Mac0 (tag 17) authentication block.

    ``protected`` is the serialized protected header exactly as received (it is part of
    what is signed); ``tag`` is the value of the signature or MAC field. A COSE_Sign or
    COSE_Mac (tags 98, 97) has an empty ``tag`` and its signers in ``signers``.
    """

    cose_tag: int
    protected: bytes
    protected_map: FrozenMap
    unprotected: FrozenMap
    payload: bytes | None
    tag: bytes
    signers: tuple[CoseSignature, ...]

    def __init__(self, cose_tag: int, protected: bytes, protected_map: FrozenMap, unprotected: FrozenMap,
                 payload: bytes | None, tag: bytes, signers: tuple[CoseSignature, ...] = ()) -> None:
        object.__setattr__(self, "cose_tag", cose_tag)
        object.__setattr__(self, "protected", protected)
        object.__setattr__(self, "protected_map", protected_map)
        object.__setattr__(self, "unprotected", unprotected)
        object.__setattr__(self, "payload", payload)
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "signers", signers)

    @property
    def alg(self) -> int | None:
        alg = self.protected_map.get(1)
        return alg if isinstance(alg, int) and not isinstance(alg, bool) else None

    @property
    def kid(self) -> bytes | None:
        for header in (self.protected_map, self.unprotected):
            kid = header.get(4)
            if isinstance(kid, bytes):
                return kid
        return None


_EMPTY_MAP: Final = FrozenMap()


def decode_cose(data: bytes, limits: Limits, path: str, *, attached: bool = False,
                string_limit: int | None = None) -> CoseMessage:
    """Decode a tagged COSE_Sign1 or COSE_Mac0 (RFC 9052 sections 4.2 and 6.2).

    SUIT's authentication blocks sign a detached SUIT_Digest, so the payload must be nil;
    with ``attached`` (a SUIT report, draft-ietf-suit-report's container) it must be a bstr.
    The header rules and the to-be-signed structure are the same for both.
    """
    value = loads(data, limits, path=path, string_limit=string_limit)
    if not isinstance(value, Tag):
        raise expected("tagged COSE message", value, path)
    if value.tag in MULTI_SIGNER_TAGS:
        raise UnsupportedError(
            f"COSE message with tag {value.tag} (multi-signer form) is not supported; "
            "use one COSE_Sign1/COSE_Mac0 per signer",
            path=path,
        )
    if value.tag not in SINGLE_SIGNER_TAGS:
        raise DecodeError(f"unexpected tag {value.tag} for a COSE message", path=path)
    body = value.value
    if not (isinstance(body, tuple) and len(body) == 4):
        raise expected("4-element COSE array", body, path)
    protected, unprotected, payload, tag = body
    if type(protected) is not bytes:
        raise expected("protected header (bstr)", protected, f"{path}.protected")
    pmap = _EMPTY_MAP
    if protected:
        ppath = f"{path}.protected"
        pmap = check_header_map(loads(protected, limits, path=ppath), ppath)
    if type(unprotected) is FrozenMap and not unprotected:
        umap = unprotected
    else:
        umap = check_header_map(unprotected, f"{path}.unprotected")
    check_auth_headers(pmap, umap, path)
    if attached:
        if type(payload) is not bytes:
            raise expected("attached payload (bstr)", payload, f"{path}.payload")
    elif payload is not None:
        raise DecodeError(
            "COSE payload must be nil: SUIT signs the detached SUIT_Digest", path=f"{path}.payload"
        )
    if type(tag) is not bytes:
        raise expected("signature/tag (bstr)", tag, f"{path}.signature")
    return CoseMessage(value.tag, protected, pmap, umap, payload if attached else None, tag)


__all__ = [
    "MULTI_SIGNER_TAGS",
    "SINGLE_SIGNER_TAGS",
    "TAG_COSE_ENCRYPT",
    "TAG_COSE_MAC",
    "TAG_COSE_MAC0",
    "TAG_COSE_SIGN",
    "TAG_COSE_SIGN1",
    "CoseMessage",
    "CoseSignature",
    "decode_cose",
]
