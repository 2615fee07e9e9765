"""Sample firmware and envelopes for a simulated device (tests, demos, experiments)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..keys import Signer
from ..suit.builder import ComponentSpec, ImageSpec, ManifestSpec, assemble_envelope, build_manifest
from ..suit.model import ComponentId, Digest

COMPONENT = ComponentId((b"\x00",))


def firmware(version: int, size: int = 2000) -> bytes:
    """Deterministic sample firmware bytes for ``version``."""
    out = bytearray()
    block = 0
    while len(out) < size:
        out += hashlib.sha256(f"fw-{version}-{block}".encode()).digest()
        block += 1
    return bytes(out[:size])


def envelope(
    image: bytes,
    sequence: int,
    signers: Sequence[Signer],
    vendor_id: bytes,
    class_id: bytes,
    *,
    uri: str | None = None,
    slot_images: Sequence[bytes] | None = None,
    sever: bool = False,
) -> bytes:
    """A signed envelope for one component: secure-boot shape, with an install/fetch when
    ``uri`` is given, or A/B images (one per slot, fetched from ``uri#slot<n>``)."""
    if slot_images:
        images = tuple(
            ImageSpec(Digest(-16, hashlib.sha256(img).digest()), len(img), slot=i,
                      uri=f"{uri or 'https://example.com/fw'}#slot{i}")
            for i, img in enumerate(slot_images)
        )
    else:
        images = (ImageSpec(Digest(-16, hashlib.sha256(image).digest()), len(image), uri=uri),)
    spec = ManifestSpec(sequence, (ComponentSpec(COMPONENT, images, vendor_id, class_id),), sever=sever)
    manifest, severed = build_manifest(spec)
    return assemble_envelope(manifest, signers, severed=severed)
