"""Sig_structure and MAC_structure: what is signed, building a message and verifying one.

In SUIT the detached payload of every authentication block is the bstr-wrapped
SUIT_Digest of the manifest (the first element of the authentication wrapper), so the
to-be-signed bytes are
``Sig_structure = ["Signature1", protected, h'', bstr(SUIT_Digest)]`` (RFC 9052 4.4) or
``MAC_structure = ["MAC0", protected, h'', bstr(SUIT_Digest)]`` (RFC 9052 6.3).
An attached payload (a CWT in a delegation chain) takes the same place in the structure.
ECDSA signatures are the raw r || s concatenation, never DER (RFC 9053 2.1).

The cryptographic primitives themselves sit with the keys (:mod:`fwsign.keys`), which
this module loads only when it verifies without a prepared verifier, so reading and
building COSE stays free of the cryptography imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .. import cbor
from ..errors import SignatureInvalid, UnsupportedError
from .algs import ALG_DISPLAY, MAC_ALGS, SUPPORTED_ALGS
from .headers import protected_header
from .messages import TAG_COSE_MAC0, TAG_COSE_SIGN1, CoseMessage

if TYPE_CHECKING:
    from ..keys import PublicKey, Signer, Verifier

_SIG1_CONTEXT: Final = b"\x84" + cbor.dumps("Signature1")
_MAC0_CONTEXT: Final = b"\x84" + cbor.dumps("MAC0")


def to_be_signed(cose_tag: int, protected: bytes, detached_payload: bytes) -> bytes:
    """The exact bytes a signer signs (or a MAC covers) for a detached payload."""
    # ["Signature1" / "MAC0", protected, external_aad = h'', payload], encoded directly.
    context = _SIG1_CONTEXT if cose_tag == TAG_COSE_SIGN1 else _MAC0_CONTEXT
    return context + cbor.bstr(protected) + b"\x40" + cbor.bstr(detached_payload)


def build(signer: Signer, detached_payload: bytes) -> bytes:
    """Sign (or MAC) ``detached_payload`` and return the tagged COSE message bytes."""
    cose_tag = TAG_COSE_MAC0 if signer.alg in MAC_ALGS else TAG_COSE_SIGN1
    protected = protected_header(signer.alg, signer.kid)
    signature = signer.sign(to_be_signed(cose_tag, protected, detached_payload))
    return assemble(cose_tag, protected, signature)


def assemble(cose_tag: int, protected: bytes, signature: bytes, unprotected: dict[int, object] | None = None, *,
             payload: bytes | None = None) -> bytes:
    """Encode a COSE_Sign1/COSE_Mac0; the payload is nil (detached) unless given."""
    return cbor.dumps_tagged(cose_tag, (protected, unprotected or {}, payload, signature))


def verify(message: CoseMessage, key: PublicKey, detached_payload: bytes, verifier: Verifier | None = None) -> None:
    """Raise :class:`SignatureInvalid` unless ``message`` verifies with ``key``.

    ``verifier`` is an optional prepared form of ``key`` (:func:`fwsign.keys.make_verifier`).
    """
    alg = message.alg
    if alg is None or alg not in SUPPORTED_ALGS:
        raise UnsupportedError(f"COSE algorithm {alg} is not supported")
    is_mac = alg in MAC_ALGS
    if is_mac != (message.cose_tag == TAG_COSE_MAC0):
        raise SignatureInvalid(
            f"algorithm {ALG_DISPLAY.get(alg, alg)} does not fit a COSE message with tag {message.cose_tag}"
        )
    tbs = to_be_signed(message.cose_tag, message.protected, detached_payload)
    if verifier is not None:
        ok = verifier(alg, tbs, message.tag)
    else:
        from ..keys import verify_raw

        ok = verify_raw(key, alg, tbs, message.tag)
    if not ok:
        from ..keys import key_kind

        raise SignatureInvalid(
            f"{ALG_DISPLAY.get(alg, alg)} {'MAC' if is_mac else 'signature'} does not verify "
            f"with the {key_kind(key)} key"
        )


__all__ = ["assemble", "build", "to_be_signed", "verify"]
