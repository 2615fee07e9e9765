"""HSS-LMS hash-based signatures (RFC 8554): key trees, signing and verification.

Written from RFC 8554 (sections 3-6 and Appendix A) for the SHA-256 parameter sets with
n = m = 32 that RFC 8554 defines and NIST SP 800-208 (section 4) approves:

* LM-OTS (section 4): LMOTS_SHA256_N32_W1/W2/W4/W8, type codes 1-4;
* LMS (section 5): LMS_SHA256_M32_H5/H10/H15/H20/H25, type codes 5-9;
* HSS (section 6): 1 to 8 levels, each with its own LMS and LM-OTS type.

Verification (:func:`hss_verify`) is a pure function over bytes that returns a bool and
never raises for a bad signature; it bounds every length before reading it. Signing
needs a one-time index that nobody has used before: this module computes a signature
for an index it is *given* and never decides which index to use. Keeping that index
unique (reservation, durable state, locking) is :mod:`fwsign.stateful`'s job.

Private keys are pseudorandom (Appendix A): every LM-OTS secret of a tree comes from its
SEED and identifier I, ``x_q[i] = H(I || u32str(q) || u16str(i) || u8str(0xff) || SEED)``.
The keys of the lower HSS levels, which RFC 8554 leaves to the implementation, come the
same way from their parent's SEED and I and the parent leaf that signs them (the
``0xffff`` / ``0xfffe`` / ``0xfffd`` values of ``i`` below never occur as a chain index,
whose largest value is p - 1 = 264), so one 32-byte SEED and one 16-byte I are the whole
private key and a restarted signer rebuilds exactly the trees it had. The randomizer C of
each LM-OTS signature is derived the same way, which makes signing deterministic: a
parent leaf that signs its child's public key again after a restart produces the same
signature, never a second one-time signature with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

# Domain separators (RFC 8554 section 7.1 and 5.3).
D_PBLC: Final = b"\x80\x80"
D_MESG: Final = b"\x81\x81"
D_LEAF: Final = b"\x82\x82"
D_INTR: Final = b"\x83\x83"
# Derivation of the lower levels' keys and of the randomizers (see the module docstring).
_I_CHILD_SEED: Final = b"\xff\xff"
_I_CHILD_ID: Final = b"\xff\xfe"
_I_RANDOMIZER: Final = b"\xff\xfd"

MAX_LEVELS: Final = 8
_JB: Final = tuple(bytes((j,)) for j in range(256))


@dataclass(frozen=True)
class LmotsType:
    """An LM-OTS parameter set (RFC 8554 section 4.1, Table 1)."""

    code: int
    name: str
    n: int
    w: int
    p: int
    ls: int

    @property
    def sig_bytes(self) -> int:
        return 4 + self.n * (self.p + 1)


@dataclass(frozen=True)
class LmsType:
    """An LMS parameter set (RFC 8554 section 5.1, Table 2)."""

    code: int
    name: str
    m: int
    h: int


def _lmots(code: int, w: int, n: int = 32) -> LmotsType:
    # p and ls from RFC 8554 Appendix B; the table in section 4.1 lists the same values.
    u = -(-8 * n // w)
    v = -(-(((2**w - 1) * u).bit_length()) // w)
    return LmotsType(code, f"LMOTS_SHA256_N{n}_W{w}", n, w, u + v, 16 - v * w)


LMOTS_TYPES: Final[dict[int, LmotsType]] = {t.code: t for t in (_lmots(1, 1), _lmots(2, 2), _lmots(3, 4), _lmots(4, 8))}
LMS_TYPES: Final[dict[int, LmsType]] = {
    code: LmsType(code, f"LMS_SHA256_M32_H{h}", 32, h) for code, h in ((5, 5), (6, 10), (7, 15), (8, 20), (9, 25))
}
LMOTS_BY_W: Final[dict[int, LmotsType]] = {t.w: t for t in LMOTS_TYPES.values()}
LMS_BY_H: Final[dict[int, LmsType]] = {t.h: t for t in LMS_TYPES.values()}


def _u32(x: int) -> bytes:
    return x.to_bytes(4, "big")


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _coefs(s: bytes, w: int, count: int) -> list[int]:
    """coef(S, i, w) for i < count (RFC 8554 section 3.1.3), most significant bits first."""
    if w == 8:
        return list(s[:count])
    mask = (1 << w) - 1
    per = 8 // w
    out = []
    for i in range(count):
        out.append((s[i // per] >> (8 - (w * (i % per) + w))) & mask)
    return out


def _digits(q_hash: bytes, ots: LmotsType) -> list[int]:
    """The p Winternitz digits signed for message hash Q: coef(Q || Cksm(Q), i, w)."""
    n_digits = ots.n * 8 // ots.w
    digits = _coefs(q_hash, ots.w, n_digits)
    cksm = sum((1 << ots.w) - 1 - d for d in digits) << ots.ls
    return digits + _coefs(cksm.to_bytes(2, "big"), ots.w, ots.p - n_digits)


# -- LM-OTS (RFC 8554 section 4) --------------------------------------------------------


def _ots_secret(i_id: bytes, qb: bytes, seed: bytes, i: int) -> bytes:
    return _sha256(i_id + qb + i.to_bytes(2, "big") + b"\xff" + seed)


def ots_public_hash(ots: LmotsType, i_id: bytes, q: int, seed: bytes) -> bytes:
    """K, the hash of the LM-OTS public key of leaf q (section 4.3, Appendix A)."""
    sha = hashlib.sha256
    qb = _u32(q)
    top = (1 << ots.w) - 1
    jb = _JB
    ys = []
    for i in range(ots.p):
        prefix = i_id + qb + i.to_bytes(2, "big")
        tmp = sha(prefix + b"\xff" + seed).digest()
        for j in range(top):
            tmp = sha(prefix + jb[j] + tmp).digest()
        ys.append(tmp)
    return sha(i_id + qb + D_PBLC + b"".join(ys)).digest()


def ots_sign(ots: LmotsType, i_id: bytes, q: int, seed: bytes, message: bytes, c: bytes) -> bytes:
    """An LM-OTS signature of ``message`` with leaf q's key and randomizer ``c`` (section 4.5)."""
    sha = hashlib.sha256
    qb = _u32(q)
    q_hash = sha(i_id + qb + D_MESG + c + message).digest()
    out = [_u32(ots.code), c]
    jb = _JB
    for i, a in enumerate(_digits(q_hash, ots)):
        prefix = i_id + qb + i.to_bytes(2, "big")
        tmp = sha(prefix + b"\xff" + seed).digest()
        for j in range(a):
            tmp = sha(prefix + jb[j] + tmp).digest()
        out.append(tmp)
    return b"".join(out)


def ots_candidate(ots: LmotsType, i_id: bytes, q: int, sig: bytes, message: bytes) -> bytes:
    """Kc, the public key hash an LM-OTS signature implies (section 4.6, Algorithm 4b).

    ``sig`` must already be checked to be ``ots.sig_bytes`` long and of type ``ots``.
    """
    sha = hashlib.sha256
    n = ots.n
    qb = _u32(q)
    c = sig[4 : 4 + n]
    q_hash = sha(i_id + qb + D_MESG + c + message).digest()
    top = (1 << ots.w) - 1
    jb = _JB
    zs = []
    for i, a in enumerate(_digits(q_hash, ots)):
        prefix = i_id + qb + i.to_bytes(2, "big")
        tmp = sig[4 + n * (i + 1) : 4 + n * (i + 2)]
        for j in range(a, top):
            tmp = sha(prefix + jb[j] + tmp).digest()
        zs.append(tmp)
    return sha(i_id + qb + D_PBLC + b"".join(zs)).digest()


# -- LMS (RFC 8554 section 5) -----------------------------------------------------------


def lms_sig_bytes(lms: LmsType, ots: LmotsType) -> int:
    return 4 + ots.sig_bytes + 4 + lms.m * lms.h


def lms_public_key(lms: LmsType, ots: LmotsType, i_id: bytes, root: bytes) -> bytes:
    """u32str(type) || u32str(otstype) || I || T[1] (section 5.3)."""
    return _u32(lms.code) + _u32(ots.code) + i_id + root


class LmsTree:
    """One LMS key pair with its whole Merkle tree held in memory (section 5.2).

    ``nodes`` is T[1 .. 2^(h+1)-1] as one byte string (node r at r*m). Building it costs
    2^h LM-OTS public keys; each signature then reads its authentication path from it.
    """

    __slots__ = ("i_id", "lms", "nodes", "ots", "seed")

    def __init__(self, lms: LmsType, ots: LmotsType, i_id: bytes, seed: bytes, nodes: bytes | None = None) -> None:
        if len(i_id) != 16 or len(seed) != 32:
            raise ValueError("an LMS key needs a 16-byte I and a 32-byte SEED")
        self.lms, self.ots, self.i_id, self.seed = lms, ots, i_id, seed
        m = lms.m
        size = (1 << (lms.h + 1)) * m
        if nodes is not None:
            if len(nodes) != size:
                raise ValueError("cached tree has the wrong size")
            self.nodes = nodes
            return
        leaves = 1 << lms.h
        t = bytearray(size)
        sha = hashlib.sha256
        for q in range(leaves):
            r = leaves + q
            t[r * m : (r + 1) * m] = sha(i_id + _u32(r) + D_LEAF + ots_public_hash(ots, i_id, q, seed)).digest()
        for r in range(leaves - 1, 0, -1):
            t[r * m : (r + 1) * m] = sha(i_id + _u32(r) + D_INTR + t[2 * r * m : (2 * r + 2) * m]).digest()
        self.nodes = bytes(t)

    @property
    def root(self) -> bytes:
        m = self.lms.m
        return self.nodes[m : 2 * m]

    @property
    def public_key(self) -> bytes:
        return lms_public_key(self.lms, self.ots, self.i_id, self.root)

    def randomizer(self, q: int) -> bytes:
        return _sha256(self.i_id + _u32(q) + _I_RANDOMIZER + b"\xff" + self.seed)[: self.ots.n]

    def child(self, q: int) -> tuple[bytes, bytes]:
        """(I, SEED) of the next level's key signed by leaf q (see the module docstring)."""
        base = self.i_id + _u32(q)
        return (_sha256(base + _I_CHILD_ID + b"\xff" + self.seed)[:16],
                _sha256(base + _I_CHILD_SEED + b"\xff" + self.seed))

    def sign(self, q: int, message: bytes, c: bytes | None = None) -> bytes:
        """LMS signature of ``message`` with leaf q (section 5.4.1)."""
        lms, m = self.lms, self.lms.m
        if not 0 <= q < (1 << lms.h):
            raise ValueError(f"leaf {q} is outside a tree of height {lms.h}")
        c = self.randomizer(q) if c is None else c
        node = (1 << lms.h) + q
        path = b"".join(self.nodes[((node >> i) ^ 1) * m : (((node >> i) ^ 1) + 1) * m] for i in range(lms.h))
        return _u32(q) + ots_sign(self.ots, self.i_id, q, self.seed, message, c) + _u32(lms.code) + path


def _parse_lms_public(pub: bytes) -> tuple[LmsType, LmotsType, bytes, bytes] | None:
    if len(pub) < 8:
        return None
    lms = LMS_TYPES.get(int.from_bytes(pub[:4], "big"))
    ots = LMOTS_TYPES.get(int.from_bytes(pub[4:8], "big"))
    if lms is None or ots is None or len(pub) != 24 + lms.m:
        return None
    return lms, ots, pub[8:24], pub[24:]


def _lms_sig_len(sig: bytes, at: int) -> int | None:
    """Length of the LMS signature starting at ``at``, from the types it carries (section 5.4)."""
    if len(sig) < at + 8:
        return None
    ots = LMOTS_TYPES.get(int.from_bytes(sig[at + 4 : at + 8], "big"))
    if ots is None:
        return None
    t_at = at + 4 + ots.sig_bytes
    if len(sig) < t_at + 4:
        return None
    lms = LMS_TYPES.get(int.from_bytes(sig[t_at : t_at + 4], "big"))
    if lms is None:
        return None
    return lms_sig_bytes(lms, ots)


def lms_verify(pub: bytes, message: bytes, sig: bytes) -> bool:
    """Algorithm 6 of RFC 8554 (section 5.4.2): True only for a valid signature."""
    parsed = _parse_lms_public(pub)
    if parsed is None or len(sig) < 8:
        return False
    lms, ots, i_id, root = parsed
    q = int.from_bytes(sig[:4], "big")
    if int.from_bytes(sig[4:8], "big") != ots.code or len(sig) != lms_sig_bytes(lms, ots):
        return False
    t_at = 4 + ots.sig_bytes
    if int.from_bytes(sig[t_at : t_at + 4], "big") != lms.code or q >= (1 << lms.h):
        return False
    kc = ots_candidate(ots, i_id, q, sig[4:t_at], message)
    m = lms.m
    path = sig[t_at + 4 :]
    sha = hashlib.sha256
    node = (1 << lms.h) + q
    tmp = sha(i_id + _u32(node) + D_LEAF + kc).digest()
    i = 0
    while node > 1:
        sib = path[i * m : (i + 1) * m]
        tmp = sha(i_id + _u32(node >> 1) + D_INTR + (sib + tmp if node & 1 else tmp + sib)).digest()
        node >>= 1
        i += 1
    return hmac.compare_digest(tmp, root)


# -- HSS (RFC 8554 section 6) -----------------------------------------------------------


def hss_public_key(levels: int, top_public: bytes) -> bytes:
    return _u32(levels) + top_public


def hss_verify(pub: bytes, message: bytes, sig: bytes) -> bool:
    """Algorithm 8 of RFC 8554 (section 6.3): True only for a valid HSS signature."""
    if len(pub) < 4 or len(sig) < 4:
        return False
    levels = int.from_bytes(pub[:4], "big")
    nspk = int.from_bytes(sig[:4], "big")
    if not 1 <= levels <= MAX_LEVELS or nspk + 1 != levels:
        return False
    key = pub[4:]
    if _parse_lms_public(key) is None:
        return False
    at = 4
    for _ in range(nspk):
        n = _lms_sig_len(sig, at)
        if n is None:
            return False
        lms_sig = sig[at : at + n]
        at += n
        if len(sig) < at + 8:
            return False
        child_lms = LMS_TYPES.get(int.from_bytes(sig[at : at + 4], "big"))
        if child_lms is None or len(sig) < at + 24 + child_lms.m:
            return False
        child = sig[at : at + 24 + child_lms.m]
        at += len(child)
        if not lms_verify(key, child, lms_sig):
            return False
        key = child
    return lms_verify(key, message, sig[at:])


def hss_signature_bytes(params: Sequence[tuple[LmsType, LmotsType]]) -> int:
    """Length of every HSS signature of a key with these levels (section 6.2)."""
    total = 4 + lms_sig_bytes(*params[0])
    for lms, ots in params[1:]:
        total += lms_sig_bytes(lms, ots) + 24 + lms.m
    return total


def parse_hss_public(pub: bytes) -> tuple[int, LmsType, LmotsType] | None:
    """(levels, top LMS type, top LM-OTS type) of a well-formed HSS public key, else None."""
    if len(pub) < 4:
        return None
    levels = int.from_bytes(pub[:4], "big")
    top = _parse_lms_public(pub[4:])
    if not 1 <= levels <= MAX_LEVELS or top is None:
        return None
    return levels, top[0], top[1]


def hss_signature_index(params: Sequence[tuple[LmsType, LmotsType]], sig: bytes) -> int | None:
    """The one-time index (over all levels) a well-formed HSS signature used, for audit records."""
    if len(sig) != hss_signature_bytes(params):
        return None
    index = 0
    at = 4
    for lms, ots in params:
        index = (index << lms.h) | int.from_bytes(sig[at : at + 4], "big")
        at += lms_sig_bytes(lms, ots) + 24 + lms.m
    return index


__all__ = [
    "LMOTS_BY_W",
    "LMOTS_TYPES",
    "LMS_BY_H",
    "LMS_TYPES",
    "MAX_LEVELS",
    "LmotsType",
    "LmsTree",
    "LmsType",
    "hss_public_key",
    "hss_signature_bytes",
    "hss_signature_index",
    "hss_verify",
    "lms_public_key",
    "lms_sig_bytes",
    "lms_verify",
    "ots_candidate",
    "ots_public_hash",
    "ots_sign",
    "parse_hss_public",
]
