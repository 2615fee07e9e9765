"""The COSE algorithm table: every signature and MAC algorithm fwsign knows, in one place.

Each row gives the IANA COSE algorithm id (RFC 9053, RFC 9864 for the fully specified
ids), its display name, the name accepted on the command line, the kind of key it is used
with, the length of its signature or tag on the wire and the hash it applies. Everything
else (the key-kind table, the names, the set of algorithms this verifier implements, the
sizes the raw verifiers check) is derived from :data:`ALGS`, so a new algorithm is one
row here plus its primitive.

ECDSA signatures are the raw r || s concatenation, never DER (RFC 9053 section 2.1),
which is why their length is fixed per curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final


class CoseAlg(IntEnum):
    """COSE algorithm identifiers used for SUIT authentication (IANA COSE Algorithms)."""

    ES256 = -7
    ESP256 = -9
    ES384 = -35
    ESP384 = -51
    EDDSA = -8
    ED25519 = -19
    HMAC_256_256 = 5
    HSS_LMS = -46
    ML_DSA_44 = -48
    ML_DSA_65 = -49
    ML_DSA_87 = -50


@dataclass(frozen=True)
class AlgInfo:
    """One row of the algorithm table."""

    alg: int
    #: The name the specifications use, shown in reports and messages.
    name: str
    #: The name accepted on the command line and in policy files (None: not selectable).
    cli_name: str | None
    #: The kind of key the algorithm takes (None: recognised but not implemented).
    kind: str | None
    #: Length of the signature or MAC tag in bytes (0: variable).
    sig_bytes: int
    #: The hash the algorithm applies to the to-be-signed bytes (None: internal to it, as in EdDSA).
    hash: str | None

    @property
    def is_mac(self) -> bool:
        return self.kind == "hmac"


#: The table, in the order names are listed to users.
ALGS: Final[tuple[AlgInfo, ...]] = (
    AlgInfo(CoseAlg.ESP256, "ESP256", "esp256", "p256", 64, "sha256"),
    AlgInfo(CoseAlg.ES256, "ES256", "es256", "p256", 64, "sha256"),
    AlgInfo(CoseAlg.ESP384, "ESP384", "esp384", "p384", 96, "sha384"),
    AlgInfo(CoseAlg.ES384, "ES384", "es384", "p384", 96, "sha384"),
    AlgInfo(CoseAlg.ED25519, "Ed25519", "ed25519", "ed25519", 64, None),
    AlgInfo(CoseAlg.EDDSA, "EdDSA", "eddsa", "ed25519", 64, None),
    AlgInfo(CoseAlg.HMAC_256_256, "HMAC 256/256", "hmac256", "hmac", 32, "sha256"),
    # Post-quantum: HSS-LMS (RFC 8554, COSE RFC 8778; the signature's length follows its
    # parameter sets) and ML-DSA (FIPS 204, draft-ietf-cose-dilithium; pure mode, empty context).
    AlgInfo(CoseAlg.HSS_LMS, "HSS-LMS", "hss-lms", "hss-lms", 0, "sha256"),
    AlgInfo(CoseAlg.ML_DSA_44, "ML-DSA-44", "ml-dsa-44", "ml-dsa-44", 2420, None),
    AlgInfo(CoseAlg.ML_DSA_65, "ML-DSA-65", "ml-dsa-65", "ml-dsa-65", 3309, None),
    AlgInfo(CoseAlg.ML_DSA_87, "ML-DSA-87", "ml-dsa-87", "ml-dsa-87", 4627, None),
)

#: Key kinds, in the order they are listed to users.
KINDS: Final = ("ed25519", "p256", "p384", "hmac", "hss-lms", "ml-dsa-44", "ml-dsa-65", "ml-dsa-87")

#: Post-quantum key kinds (hash-based and lattice signatures).
PQ_KINDS: Final = frozenset({"hss-lms", "ml-dsa-44", "ml-dsa-65", "ml-dsa-87"})

#: Row of each algorithm by id.
ALG_INFO: Final[dict[int, AlgInfo]] = {a.alg: a for a in ALGS}

#: Algorithm names accepted on the command line -> COSE algorithm id.
ALG_NAMES: Final[dict[str, int]] = {a.cli_name: a.alg for a in ALGS if a.cli_name is not None}

#: Display name of each algorithm id.
ALG_DISPLAY: Final[dict[int, str]] = {a.alg: a.name for a in ALGS}

#: Algorithms each kind of key may be used with; the first is the default.
KIND_ALGS: Final[dict[str, tuple[int, ...]]] = {
    kind: tuple(a.alg for a in ALGS if a.kind == kind) for kind in KINDS
}

#: Algorithms this verifier implements (a block with any other is ignored, model section 5).
SUPPORTED_ALGS: Final[frozenset[int]] = frozenset(a for algs in KIND_ALGS.values() for a in algs)

#: Algorithms that produce a MAC (COSE_Mac0 / COSE_Mac) rather than a signature.
MAC_ALGS: Final[frozenset[int]] = frozenset(a.alg for a in ALGS if a.is_mac)


def sig_bytes(alg: int) -> int:
    """Signature or tag length of ``alg`` (0 when variable or unknown)."""
    info = ALG_INFO.get(alg)
    return info.sig_bytes if info is not None else 0


__all__ = [
    "ALGS",
    "ALG_DISPLAY",
    "ALG_INFO",
    "ALG_NAMES",
    "KINDS",
    "KIND_ALGS",
    "MAC_ALGS",
    "PQ_KINDS",
    "SUPPORTED_ALGS",
    "AlgInfo",
    "CoseAlg",
    "sig_bytes",
]
