"""The portable soft port: its own SHA-256/HMAC (FIPS 180-4, RFC 2104) and its signature stub."""

from __future__ import annotations

import hashlib
import os
import subprocess

from ._suit import BUILD, envelope, envelope_map, example, image_params, mac0, make_manifest, manifest_digest


def soft(*args) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUILD / "asan" / "bootref-soft-selftest"), *map(str, args)], capture_output=True,
                          text=True, timeout=60)


def test_soft_sha256_and_hmac_known_answers(built):
    r = soft()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok soft SHA-256/HMAC" in r.stdout


def test_soft_port_verifies_hmac_envelope_and_image(built, write):
    image = os.urandom(5000)
    key = os.urandom(32)
    m = make_manifest(shared=[20, image_params(image), 1, 15, 2, 15], validate=[3, 15])
    env = envelope(m, [mac0(manifest_digest(m), key)])
    assert soft(write("e", env), write("k", key), write("i", image)).returncode == 0
    r = soft(write("e", env), write("k", key), write("i", image[:-1] + b"\x00"))
    assert r.returncode == 1 and "image-mismatch" in r.stdout


def test_soft_port_signature_stub_never_accepts(built, write):
    # Without a bound signature library the soft port must reject signed envelopes, not pass them.
    m = envelope_map(example("example0.signed"))[3]
    assert hashlib.sha256(m).digest()  # manifest is present
    r = soft(write("e", example("example0.signed")), write("k", os.urandom(32)))
    assert r.returncode == 1
    assert "unsupported" in r.stdout
