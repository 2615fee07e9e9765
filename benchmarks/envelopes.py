"""Make keys and signed envelopes in-process, and pull out what the floors need.

Setup only: nothing here is timed. The envelopes use fwsign's own builder, so the
verification benchmarks check exactly what `fwsign sign` would produce.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import CLASS_ID, VENDOR_ID

from fwsign import cose
from fwsign.keys import PrivateKey, generate, make_signer, public_of
from fwsign.suit import builder
from fwsign.suit.decode import decode_envelope
from fwsign.suit.encode import encode_digest

#: Benchmark name -> fwsign key kind. Each kind signs with its default (fully
#: specified, RFC 9864) algorithm: Ed25519 (-19), ESP256 (-9), ESP384 (-51).
ALGORITHMS: dict[str, str] = {"Ed25519": "ed25519", "ESP256": "p256", "ESP384": "p384"}


@dataclass(frozen=True)
class Signed:
    envelope: bytes
    #: The exact Sig_structure bytes and raw signature inside the envelope, so the
    #: floor verifies the very same signature fwsign verifies.
    to_be_signed: bytes
    signature: bytes
    public: Any


def new_key(kind: str) -> PrivateKey:
    return generate(kind)


def sign_image(key: PrivateKey, image: Path, *, kid: bool = True, uri: str | None = None) -> Signed:
    digest, size = builder.hash_file(image)
    comp = builder.ComponentSpec(
        component_id=(b"\x00",),
        images=(builder.ImageSpec(digest, size, None, uri),),
        vendor_id=uuid.UUID(VENDOR_ID).bytes,
        class_id=uuid.UUID(CLASS_ID).bytes,
    )
    manifest, severed = builder.build_manifest(builder.ManifestSpec(1, (comp,)))
    data = builder.assemble_envelope(manifest, [make_signer(key, kid=kid)], severed=severed)
    env = decode_envelope(data)
    msg = env.auth.blocks[0].message
    tbs = cose.to_be_signed(msg.cose_tag, msg.protected, encode_digest(env.auth.digest))
    return Signed(data, tbs, msg.tag, public_of(key))
