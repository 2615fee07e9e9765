"""Helpers that build SUIT envelopes for the bootloader-ref tests.

Everything here follows draft-ietf-suit-manifest-34 and RFC 9052 directly
(no fwsign code), so the C verifier is checked against an independent encoder:
the manifest digest is SHA-256 over the *bstr-wrapped* manifest, the COSE payload
is detached and is the bstr-wrapped SUIT_Digest, and ECDSA signatures are raw r||s.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

REPO = Path(__file__).resolve().parents[2]
BOOTREF_DIR = REPO / "bootloader-ref"
BUILD = BOOTREF_DIR / "build"

# Identities of the spec examples: vendor-id = uuid5(DNS, "arm.com"),
# class-id = uuid5(vendor-id, model) (REFERENCE.md section 1).
SPEC_VENDOR = uuid.UUID("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe")
SPEC_CLASS = uuid.UUID("1492af14-2569-5e48-bf42-9b2d51f2ab45")


def vectors_dir() -> Path:
    """The SUIT spec example vectors: the repository copy, else the shared one."""
    candidates = [os.environ.get("FWSIGN_SUIT_VECTORS", ""), str(REPO / "tests" / "vectors" / "suit-spec"),
                  "/work/shared/vectors/suit-spec"]
    for c in candidates:
        if c and (Path(c) / "example0.signed.hex").is_file():
            return Path(c)
    raise FileNotFoundError("SUIT spec vectors not found; set FWSIGN_SUIT_VECTORS")


def example(name: str) -> bytes:
    """A spec example envelope as bytes (the files are hex)."""
    return bytes.fromhex((vectors_dir() / f"{name}.hex").read_text().strip())


def spec_private_key() -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key((vectors_dir() / "spec-test-key.private.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def spec_public_pem() -> Path:
    return vectors_dir() / "spec-test-key.public.pem"


def thumbprint_kid(key: Any) -> bytes:
    """The key id fwsign gives a key and the host port gives a trust anchor: the first 8
    bytes of its RFC 9679 COSE Key Thumbprint (SHA-256 of the deterministic CBOR of the
    COSE_Key's required members). ``key``: a P-256 or Ed25519 key (private or public), or
    the bytes of a symmetric key."""
    if isinstance(key, bytes):
        members: dict[int, Any] = {1: 4, -1: key}
    else:
        pub = key.public_key() if isinstance(key, (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)) else key
        if isinstance(pub, ed25519.Ed25519PublicKey):
            members = {1: 1, -1: 6, -2: pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)}
        else:
            nums = pub.public_numbers()
            members = {1: 2, -1: 1, -2: nums.x.to_bytes(32, "big"), -3: nums.y.to_bytes(32, "big")}
    return hashlib.sha256(cbor2.dumps(members, canonical=True)).digest()[:8]


def envelope_map(env: bytes) -> dict[Any, Any]:
    """Decode an envelope (tagged or not) into its map, keeping member bytes."""
    obj = cbor2.loads(env)
    if isinstance(obj, cbor2.CBORTag):
        assert obj.tag == 107
        obj = obj.value
    assert isinstance(obj, Mapping)
    return dict(obj)


def manifest_of(env: bytes) -> dict[Any, Any]:
    return dict(cbor2.loads(envelope_map(env)[3]))


def suit_digest(data: bytes) -> bytes:
    """Encoded SUIT_Digest [-16, SHA-256(data)]."""
    return cbor2.dumps([-16, hashlib.sha256(data).digest()])


def manifest_digest(manifest: bytes) -> bytes:
    """SUIT_Digest of the manifest: over its bstr-wrapped form, header included."""
    return suit_digest(cbor2.dumps(manifest))


def sign1(digest: bytes, alg: int, key: Any, protected: dict[int, Any] | None = None,
          unprotected: dict[int, Any] | None = None) -> bytes:
    """COSE_Sign1 (tag 18) over the detached payload = bstr-wrapped SUIT_Digest."""
    prot = cbor2.dumps(protected if protected is not None else {1: alg})
    tbs = cbor2.dumps(["Signature1", prot, b"", digest])
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(tbs, ec.ECDSA(hashes.SHA256(), deterministic_signing=True)))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        sig = key.sign(tbs)
    else:
        raise TypeError(type(key))
    return cbor2.dumps(cbor2.CBORTag(18, [prot, unprotected or {}, None, sig]))


def mac0(digest: bytes, key: bytes) -> bytes:
    """COSE_Mac0 (tag 17), HMAC 256/256 (alg 5) over MAC_structure."""
    prot = cbor2.dumps({1: 5})
    tbm = cbor2.dumps(["MAC0", prot, b"", digest])
    return cbor2.dumps(cbor2.CBORTag(17, [prot, {}, None, hmac.new(key, tbm, hashlib.sha256).digest()]))


def envelope(manifest: bytes, blocks: list[bytes], *, tagged: bool = True, digest: bytes | None = None,
             extra: dict[Any, bytes] | None = None) -> bytes:
    """Envelope {2: auth-wrapper, 3: manifest, ...extra}, authentication wrapper first."""
    auth = cbor2.dumps([digest if digest is not None else manifest_digest(manifest), *blocks])
    m: dict[Any, Any] = {2: auth, 3: manifest}
    m.update(extra or {})
    return cbor2.dumps(cbor2.CBORTag(107, m) if tagged else m)


def signed(manifest: bytes, key: Any = None, alg: int = -7, **kw: Any) -> bytes:
    """Envelope signed once (default: the spec test key, ES256)."""
    key = key if key is not None else spec_private_key()
    return envelope(manifest, [sign1(manifest_digest(manifest), alg, key)], **kw)


def make_manifest(*, seq: int = 1, shared: list[Any] | None = None, validate: list[Any] | None = None,
                  invoke: list[Any] | None = None, components: int = 1,
                  extra: dict[int, Any] | None = None) -> bytes:
    """A SUIT_Manifest with the given command sequences (bstr-wrapped)."""
    common: dict[int, Any] = {2: [[bytes([i])] for i in range(components)]}
    if shared is not None:
        common[4] = cbor2.dumps(shared)
    m: dict[int, Any] = {1: 1, 2: seq, 3: cbor2.dumps(common)}
    if validate is not None:
        m[7] = cbor2.dumps(validate)
    if invoke is not None:
        m[9] = cbor2.dumps(invoke)
    m.update(extra or {})
    return cbor2.dumps(m)


def image_params(image: bytes, size: int | None = None) -> dict[int, Any]:
    """override-parameters for vendor/class ids and the image digest/size."""
    return {1: SPEC_VENDOR.bytes, 2: SPEC_CLASS.bytes, 3: suit_digest(image),
            14: len(image) if size is None else size}
