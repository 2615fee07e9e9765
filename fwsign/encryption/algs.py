"""Algorithm identifiers and sizes for SUIT payload encryption.

Content encryption (RFC 9053 section 4, RFC 9459 for AES-CTR) and content-key
distribution (RFC 9053 section 6: AES Key Wrap, ECDH-ES + AES Key Wrap) as
draft-ietf-suit-firmware-encryption-26 and the algorithm profiles of
draft-ietf-suit-mti-23 use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ..cose.messages import TAG_COSE_ENCRYPT as TAG_COSE_ENCRYPT


class ContentAlg(IntEnum):
    A128GCM = 1
    A256GCM = 3
    CHACHA20_POLY1305 = 24
    A128CTR = -65534
    A256CTR = -65532


class KeyAlg(IntEnum):
    A128KW = -3
    A256KW = -5
    ECDH_ES_A128KW = -29


class Header(IntEnum):
    """COSE header labels used in SUIT_Encryption_Info (RFC 9052 section 3.1, RFC 9053 6.4.1).

    The common labels are :class:`fwsign.cose.headers.CoseHeader`'s; the ephemeral key is
    specific to the key-agreement algorithms.
    """

    ALG = 1
    CRIT = 2
    KID = 4
    IV = 5
    #: ephemeral key of ECDH-ES (RFC 9053 section 6.4.1), an algorithm-specific label.
    EPHEMERAL_KEY = -1


#: COSE_KDF_Context.SuppPubInfo.other for SUIT (draft-ietf-suit-firmware-encryption-26 section 6.2).
KDF_OTHER = b"SUIT Payload Encryption"


@dataclass(frozen=True)
class ContentAlgInfo:
    name: str
    key_bytes: int
    iv_bytes: int
    #: Authentication tag appended to the ciphertext (0: not authenticated, e.g. AES-CTR).
    tag_bytes: int

    @property
    def aead(self) -> bool:
        return self.tag_bytes > 0


CONTENT_ALGS: dict[int, ContentAlgInfo] = {
    ContentAlg.A128GCM: ContentAlgInfo("A128GCM", 16, 12, 16),
    ContentAlg.A256GCM: ContentAlgInfo("A256GCM", 32, 12, 16),
    ContentAlg.CHACHA20_POLY1305: ContentAlgInfo("ChaCha20/Poly1305", 32, 12, 16),
    # RFC 9459: the IV is the full 16-byte initial counter block.
    ContentAlg.A128CTR: ContentAlgInfo("A128CTR", 16, 16, 0),
    ContentAlg.A256CTR: ContentAlgInfo("A256CTR", 32, 16, 0),
}

#: Command-line names of the content algorithms.
CONTENT_NAMES: dict[str, int] = {
    "a128gcm": ContentAlg.A128GCM,
    "a256gcm": ContentAlg.A256GCM,
    "chacha20-poly1305": ContentAlg.CHACHA20_POLY1305,
    "a128ctr": ContentAlg.A128CTR,
    "a256ctr": ContentAlg.A256CTR,
}

#: Key-encryption key size of each AES Key Wrap algorithm (RFC 3394 via RFC 9053 section 6.2.1).
KW_KEY_BYTES: dict[int, int] = {KeyAlg.A128KW: 16, KeyAlg.A256KW: 32}

KEY_ALG_NAMES: dict[int, str] = {
    KeyAlg.A128KW: "A128KW",
    KeyAlg.A256KW: "A256KW",
    KeyAlg.ECDH_ES_A128KW: "ECDH-ES+A128KW",
}


def content_name(alg: int) -> str:
    info = CONTENT_ALGS.get(alg)
    return info.name if info is not None else str(alg)


def key_alg_name(alg: int) -> str:
    return KEY_ALG_NAMES.get(alg, str(alg))
