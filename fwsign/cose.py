"""COSE_Sign1 and COSE_Mac0 with a detached payload, as SUIT uses them (RFC 9052).

In SUIT the detached payload of every authentication block is the bstr-wrapped
SUIT_Digest of the manifest (the first element of the authentication wrapper), so the
to-be-signed bytes are
``Sig_structure = ["Signature1", protected, h'', bstr(SUIT_Digest)]`` (RFC 9052 4.4) or
``MAC_structure = ["MAC0", protected, h'', bstr(SUIT_Digest)]`` (RFC 9052 6.3).
ECDSA signatures are the raw r || s concatenation, never DER (RFC 9053 2.1).
"""

from __future__ import annotations

from . import cbor
from .errors import SignatureInvalid, UnsupportedError
from .keys import ALG_DISPLAY, KIND_ALGS, PublicKey, Signer, Verifier, key_kind, verify_raw
from .suit.codepoints import TAG_COSE_MAC0, TAG_COSE_SIGN1, CoseAlg, CoseHeader
from .suit.model import CoseMessage

_SIG1_CONTEXT = b"\x84" + cbor.dumps("Signature1")
_MAC0_CONTEXT = b"\x84" + cbor.dumps("MAC0")

SUPPORTED_ALGS = frozenset(a for algs in KIND_ALGS.values() for a in algs)


def protected_header(alg: int, kid: bytes | None = None, *, kid_protected: bool = True) -> bytes:
    """Serialized protected header: alg (and kid, when protected)."""
    header: dict[int, object] = {CoseHeader.ALG: alg}
    if kid is not None and kid_protected:
        header[CoseHeader.KID] = kid
    return cbor.dumps(header)


def to_be_signed(cose_tag: int, protected: bytes, detached_payload: bytes) -> bytes:
    """The exact bytes a signer signs (or a MAC covers) for a detached payload."""
    # ["Signature1" / "MAC0", protected, external_aad = h'', payload], encoded directly.
    context = _SIG1_CONTEXT if cose_tag == TAG_COSE_SIGN1 else _MAC0_CONTEXT
    return context + cbor.bstr(protected) + b"\x40" + cbor.bstr(detached_payload)


def build(signer: Signer, detached_payload: bytes) -> bytes:
    """Sign (or MAC) ``detached_payload`` and return the tagged COSE message bytes."""
    cose_tag = TAG_COSE_MAC0 if signer.alg == CoseAlg.HMAC_256_256 else TAG_COSE_SIGN1
    protected = protected_header(signer.alg, signer.kid)
    signature = signer.sign(to_be_signed(cose_tag, protected, detached_payload))
    return assemble(cose_tag, protected, signature)


def assemble(cose_tag: int, protected: bytes, signature: bytes, unprotected: dict[int, object] | None = None) -> bytes:
    """Encode a COSE_Sign1/COSE_Mac0 with a nil (detached) payload."""
    return cbor.dumps_tagged(cose_tag, (protected, unprotected or {}, None, signature))


def verify(message: CoseMessage, key: PublicKey, detached_payload: bytes, verifier: Verifier | None = None) -> None:
    """Raise :class:`SignatureInvalid` unless ``message`` verifies with ``key``.

    ``verifier`` is an optional prepared form of ``key`` (:func:`fwsign.keys.make_verifier`).
    """
    alg = message.alg
    if alg is None or alg not in SUPPORTED_ALGS:
        raise UnsupportedError(f"COSE algorithm {alg} is not supported")
    is_mac = alg == CoseAlg.HMAC_256_256
    if is_mac != (message.cose_tag == TAG_COSE_MAC0):
        raise SignatureInvalid(
            f"algorithm {ALG_DISPLAY.get(alg, alg)} does not fit a COSE message with tag {message.cose_tag}"
        )
    tbs = to_be_signed(message.cose_tag, message.protected, detached_payload)
    ok = verifier(alg, tbs, message.tag) if verifier is not None else verify_raw(key, alg, tbs, message.tag)
    if not ok:
        raise SignatureInvalid(
            f"{ALG_DISPLAY.get(alg, alg)} {'MAC' if is_mac else 'signature'} does not verify "
            f"with the {key_kind(key)} key"
        )
