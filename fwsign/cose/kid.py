"""Key ids as fwsign makes them: RFC 9679 COSE Key Thumbprints, shortened.

The thumbprint is SHA-256 over the deterministic CBOR encoding of a COSE_Key's required
members only (RFC 9679 section 4: ``kty`` and, per key type, ``crv``/``x``/``y`` or ``k``; ``pub``
for HSS-LMS; ``alg`` and ``pub`` for the AKP keys of draft-ietf-cose-dilithium).
fwsign's key id (``kid``) is its first :data:`KID_BYTES` bytes, so any tool can
recompute the id of a key from the key alone. The same rule names signing keys
(:mod:`fwsign.keys`) and key-agreement keys and KEKs (:mod:`fwsign.encryption.keys`).

A kid in a COSE header is a hint (RFC 9052 section 3.1): it narrows which trusted keys
are tried; it proves nothing by itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Final

from .. import cbor

KID_BYTES: Final = 8

# COSE_Key labels and key types (RFC 9052 section 7, RFC 9053 section 7).
_KTY: Final = 1
KTY_OKP: Final = 1
KTY_EC2: Final = 2
KTY_SYMMETRIC: Final = 4
#: HSS-LMS public keys (RFC 8778 section 4): the raw HSS public key in ``pub`` (-1).
KTY_HSS_LMS: Final = 5
#: Algorithm Key Pair (draft-ietf-cose-dilithium): ML-DSA public keys in ``pub`` (-1), with ``alg``.
KTY_AKP: Final = 7

#: The members each key type's thumbprint covers (RFC 9679 section 4).
REQUIRED_MEMBERS: Final[dict[int, frozenset[int]]] = {
    KTY_OKP: frozenset({1, -1, -2}),  # kty, crv, x
    KTY_EC2: frozenset({1, -1, -2, -3}),  # kty, crv, x, y
    KTY_SYMMETRIC: frozenset({1, -1}),  # kty, k
    KTY_HSS_LMS: frozenset({1, -1}),  # kty, pub
    KTY_AKP: frozenset({1, 3, -1}),  # kty, alg, pub (draft-ietf-cose-dilithium)
}


def thumbprint(cose_key: Mapping[int, object]) -> bytes:
    """RFC 9679 COSE Key Thumbprint (SHA-256) of a COSE_Key given as a map."""
    kty = cose_key.get(_KTY)
    required = REQUIRED_MEMBERS.get(kty) if isinstance(kty, int) else None
    if required is None:
        raise ValueError(f"no thumbprint rule for COSE_Key type {kty!r}")
    members = {k: v for k, v in cose_key.items() if k in required}
    return hashlib.sha256(cbor.dumps(members)).digest()


def kid_of(cose_key: Mapping[int, object]) -> bytes:
    """fwsign's key id of a COSE_Key: the first :data:`KID_BYTES` bytes of its thumbprint."""
    return thumbprint(cose_key)[:KID_BYTES]


__all__ = ["KID_BYTES", "KTY_AKP", "KTY_EC2", "KTY_HSS_LMS", "KTY_OKP", "KTY_SYMMETRIC", "REQUIRED_MEMBERS", "kid_of", "thumbprint"]
