"""The fastest direct library calls for one signature verification: the floors.

A floor is what any verifier written in Python must at least spend; fwsign's cost
above it is parsing, policy checks and bookkeeping. For Ed25519 both PyNaCl
(libsodium) and cryptography (OpenSSL) are measured and the faster becomes the floor,
so the floor does not depend on which library fwsign happens to use.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from common import time_interleaved
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from nacl.signing import VerifyKey


def candidates(public: Any, tbs: bytes, signature: bytes) -> dict[str, Callable[[], object]]:
    """Direct verify calls for ``signature`` over ``tbs``; key objects are built once, outside."""
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        vk = VerifyKey(raw)
        return {
            "pynacl": lambda: vk.verify(tbs, signature),
            "cryptography": lambda: public.verify(signature, tbs),
        }
    if isinstance(public, ec.EllipticCurvePublicKey):
        size = public.curve.key_size // 8 + (1 if public.curve.key_size % 8 else 0)
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        der = encode_dss_signature(r, s)
        algo = ec.ECDSA(hashes.SHA256() if size == 32 else hashes.SHA384())
        return {"cryptography": lambda: public.verify(der, tbs, algo)}
    raise TypeError(f"no floor for {type(public).__name__}")


def fastest(public: Any, tbs: bytes, signature: bytes, *, repeat: int = 5) -> tuple[str, Callable[[], object], dict[str, float]]:
    """The fastest candidate by median, with every candidate's median seconds per call."""
    cands = candidates(public, tbs, signature)
    for fn in cands.values():  # each must accept the signature, or the floor is meaningless
        fn()
    if len(cands) == 1:
        name, fn = next(iter(cands.items()))
        return name, fn, {}
    samples = time_interleaved(cands, repeat, 0.05)
    medians = {name: statistics.median(v) for name, v in samples.items()}
    best = min(medians, key=lambda n: medians[n])
    return best, cands[best], medians
