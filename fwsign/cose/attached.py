"""COSE_Sign1 / COSE_Mac0 with an attached payload (RFC 9052 sections 4.2 and 6.2).

SUIT's authentication blocks sign a detached digest (:func:`fwsign.cose.decode_cose`
refuses a payload there); a SUIT report travels the other way, as the payload of its own
COSE_Sign1 or COSE_Mac0 (draft-ietf-suit-report, "SUIT_Report Container"). The header
rules are the authentication blocks' (:mod:`fwsign.cose.headers`) and the to-be-signed
bytes are the same Sig_structure / MAC_structure with the attached payload in place of
the detached one, so :func:`fwsign.cose.to_be_signed` and :func:`fwsign.cose.verify`
serve both.
"""

from __future__ import annotations

from ..cbor import Tag, loads
from ..errors import DecodeError, UnsupportedError
from ..limits import Limits
from .headers import check_auth_headers, check_header_map, expected
from .messages import _EMPTY_MAP, MULTI_SIGNER_TAGS, SINGLE_SIGNER_TAGS, CoseMessage


def decode_attached(data: bytes, limits: Limits, path: str, *, string_limit: int | None = None) -> CoseMessage:
    """Decode a tagged COSE_Sign1 (18) or COSE_Mac0 (17) whose payload is a bstr."""
    value = loads(data, limits, path=path, string_limit=string_limit)
    if not isinstance(value, Tag):
        raise expected("tagged COSE_Sign1 or COSE_Mac0", value, path)
    if value.tag in MULTI_SIGNER_TAGS:
        raise UnsupportedError(f"COSE message with tag {value.tag} (multi-signer form) is not supported", path=path)
    if value.tag not in SINGLE_SIGNER_TAGS:
        raise DecodeError(f"unexpected tag {value.tag} for a COSE_Sign1 or COSE_Mac0", path=path)
    body = value.value
    if not (isinstance(body, tuple) and len(body) == 4):
        raise expected("4-element COSE array", body, path)
    protected, unprotected, payload, tag = body
    if type(protected) is not bytes:
        raise expected("protected header (bstr)", protected, f"{path}.protected")
    pmap = _EMPTY_MAP
    if protected:
        pmap = check_header_map(loads(protected, limits, path=f"{path}.protected"), f"{path}.protected")
    umap = check_header_map(unprotected, f"{path}.unprotected")
    check_auth_headers(pmap, umap, path)
    if type(payload) is not bytes:
        raise expected("attached payload (bstr)", payload, f"{path}.payload")
    if type(tag) is not bytes:
        raise expected("signature/tag (bstr)", tag, f"{path}.signature")
    return CoseMessage(value.tag, protected, pmap, umap, payload, tag)


__all__ = ["decode_attached"]
