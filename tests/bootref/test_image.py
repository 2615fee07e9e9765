"""Image checks: condition image-match streams the image (RFC 9124 THREAT.IMG.NON_AUTH,
THREAT.IMG.FORMAT) and compares digest and size."""

from __future__ import annotations

import hashlib
import os

import pytest

from ._suit import SPEC_CLASS, SPEC_VENDOR, image_params, make_manifest, signed

IMAGE = hashlib.sha256(b"seed").digest() * 1000 + b"tail"  # 32,004 bytes: many stream chunks


def image_envelope(image: bytes, size: int | None = None) -> bytes:
    m = make_manifest(seq=3, shared=[20, image_params(image, size), 1, 15, 2, 15], validate=[3, 15],
                      invoke=[23, 2])
    return signed(m)


def test_matching_image_accepted(bootref, write):
    r = bootref("--vendor-id", str(SPEC_VENDOR), "--class-id", str(SPEC_CLASS),
                write("e", image_envelope(IMAGE)), write("img", IMAGE))
    assert (r.code, r.verdict) == (0, "OK"), r.out
    assert "ok           condition image-match (component 0): digest and size match" in r.out


@pytest.mark.parametrize("pos", [0, 1000, len(IMAGE) - 1])
def test_one_byte_change_in_image_rejected(bootref, write, pos):
    bad = bytearray(IMAGE)
    bad[pos] ^= 0x01
    r = bootref(write("e", image_envelope(IMAGE)), write("img", bytes(bad)))
    assert (r.code, r.reason) == (1, "image-mismatch")
    assert "image SHA-256 differs" in r.verdict


@pytest.mark.parametrize("cut", [0, 1, 64, len(IMAGE) - 1])
def test_truncated_image_rejected(bootref, write, cut):
    r = bootref(write("e", image_envelope(IMAGE)), write("img", IMAGE[:cut]))
    assert (r.code, r.reason) == (1, "image-mismatch")
    assert "shorter than expected" in r.verdict


def test_appended_bytes_rejected(bootref, write):
    r = bootref(write("e", image_envelope(IMAGE)), write("img", IMAGE + b"\x00"))
    assert (r.code, r.reason) == (1, "image-mismatch")
    assert "longer than expected" in r.verdict


def test_wrong_image_size_in_manifest_rejected(bootref, write):
    r = bootref(write("e", image_envelope(IMAGE, size=len(IMAGE) + 1)), write("img", IMAGE))
    assert (r.code, r.reason) == (1, "image-mismatch")


def test_other_image_of_same_size_rejected(bootref, write):
    r = bootref(write("e", image_envelope(IMAGE)), write("img", os.urandom(len(IMAGE))))
    assert (r.code, r.reason) == (1, "image-mismatch")


def test_image_digest_with_unsupported_algorithm_rejected(bootref, write):
    import cbor2

    params = image_params(IMAGE)
    params[3] = cbor2.dumps([-43, hashlib.sha384(IMAGE).digest()])  # SHA-384: optional, not implemented
    m = make_manifest(shared=[20, params], validate=[3, 15])
    r = bootref(write("e", signed(m)), write("img", IMAGE))
    assert (r.code, r.reason) == (1, "unsupported")


def test_check_content_compares_component_bytes(bootref, write):
    # vendor and class checks are required in every sequence (docs/processing-model.md R1)
    m = make_manifest(shared=[20, {1: SPEC_VENDOR.bytes, 2: SPEC_CLASS.bytes, 18: IMAGE[:100]}, 1, 15, 2, 15],
                      validate=[6, 15])
    assert bootref(write("e", signed(m)), write("img", IMAGE[:100])).code == 0
    r = bootref(write("e", signed(m)), write("img", IMAGE[:99] + b"!"))
    assert (r.code, r.reason) == (1, "image-mismatch")


def test_empty_image_matches_empty_digest(bootref, write):
    r = bootref(write("e", image_envelope(b"")), write("img", b""))
    assert r.code == 0, r.out
