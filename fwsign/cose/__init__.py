"""COSE as fwsign uses it (RFC 9052/9053): one home for messages, headers, algorithms and key ids.

* :mod:`~fwsign.cose.algs` -- the algorithm table (id, name, key kind, signature length,
  hash) that the key tables, names and supported set derive from;
* :mod:`~fwsign.cose.headers` -- header maps and the rules for their buckets;
* :mod:`~fwsign.cose.messages` -- the message model (COSE_Sign1 / COSE_Mac0, and room for
  COSE_Sign / COSE_Mac signers) and the strict decoder of authentication blocks;
* :mod:`~fwsign.cose.sign` -- Sig_structure / MAC_structure, building and verifying;
* :mod:`~fwsign.cose.kid` -- key ids (RFC 9679 thumbprints, shortened).

Importing the package loads no cryptography: the primitives stay with the keys
(:mod:`fwsign.keys`) and are loaded when a message is verified without a prepared verifier.
COSE_Encrypt's content encryption and key wrap live in :mod:`fwsign.encryption`, which
reads its headers with :mod:`~fwsign.cose.headers`.
"""

from __future__ import annotations

from .algs import ALG_DISPLAY, ALG_INFO, ALG_NAMES, ALGS, KIND_ALGS, MAC_ALGS, SUPPORTED_ALGS, AlgInfo, CoseAlg
from .headers import CoseHeader, protected_header
from .kid import KID_BYTES, kid_of, thumbprint
from .messages import (
    TAG_COSE_ENCRYPT,
    TAG_COSE_MAC,
    TAG_COSE_MAC0,
    TAG_COSE_SIGN,
    TAG_COSE_SIGN1,
    CoseMessage,
    CoseSignature,
    decode_cose,
)
from .sign import assemble, build, to_be_signed, verify

__all__ = [
    "ALGS",
    "ALG_DISPLAY",
    "ALG_INFO",
    "ALG_NAMES",
    "KID_BYTES",
    "KIND_ALGS",
    "MAC_ALGS",
    "SUPPORTED_ALGS",
    "TAG_COSE_ENCRYPT",
    "TAG_COSE_MAC",
    "TAG_COSE_MAC0",
    "TAG_COSE_SIGN",
    "TAG_COSE_SIGN1",
    "AlgInfo",
    "CoseAlg",
    "CoseHeader",
    "CoseMessage",
    "CoseSignature",
    "assemble",
    "build",
    "decode_cose",
    "kid_of",
    "protected_header",
    "thumbprint",
    "to_be_signed",
    "verify",
]
