"""``fwsign verify --engine bootref``: the device's C verifier, same verdicts, same report format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fwsign.device.verifier import verify_with_bootref
from fwsign.errors import UsageError
from fwsign.verify import Policy, verify_envelope

from .conftest import KEYS, VECTORS, vector
from .test_processing_model import CID, IDENTITY, IMAGE, VID, manifest, seq

SPEC_KEY = VECTORS / "spec-test-key.public.pem"
SPEC_IDS = ("--vendor-id", "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe", "--class-id", "1492af14-2569-5e48-bf42-9b2d51f2ab45")
EXAMPLES = ["example0.signed.hex", "example1.signed.hex", "example2.signed.hex", "example2.signed-severed.hex",
            "example3.signed.hex", "example4.signed.hex", "example5.signed.hex"]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", EXAMPLES)
def test_spec_examples_verify_with_both_engines(cli, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    env = _write(tmp_path, "env.suit", vector(name))
    outs = {}
    for engine in ("python", "bootref"):
        r = cli("verify", env, "-k", SPEC_KEY, *SPEC_IDS, "--engine", engine, "--json")
        assert r.code == 0, (engine, r.out, r.err)
        outs[engine] = json.loads(r.out)
    # the same report format: the same keys, the same verdict, sequence number and digest
    assert outs["python"].keys() == outs["bootref"].keys()
    for key in ("valid", "sequence_number", "manifest_digest"):
        assert outs["python"][key] == outs["bootref"][key]


def test_tampered_envelope_refused_alike_by_both_engines(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(vector("example0.signed.hex"))
    data[-3] ^= 1  # inside the manifest: its digest no longer matches
    env = _write(tmp_path, "bad.suit", bytes(data))
    reasons = set()
    for engine in ("python", "bootref"):
        r = cli("verify", env, "-k", SPEC_KEY, "--engine", engine, "--json")
        assert r.code == 1
        reasons.add(json.loads(r.out)["reason"])
    assert reasons == {"digest-mismatch"}


def test_missing_check_refused_alike_by_both_engines(tmp_path: Path) -> None:
    from fwsign.suit.builder import assemble_envelope

    env = assemble_envelope(manifest(seq(IDENTITY[0], IDENTITY[1])), [KEYS["ed25519"].signer()])
    policy = Policy(keys=(KEYS["ed25519"].trusted,), vendor_id=VID, class_id=CID)
    image = _write(tmp_path, "image.bin", IMAGE)
    c = verify_with_bootref(env, policy, image)
    assert c.reason == verify_envelope(env, policy, IMAGE).reason == "missing-check"
    assert c.checks[-1].name == "bootref" and "BOOTREF_E_MISSING_CHECK" in c.checks[-1].detail


def test_image_checked_by_the_device_code(tmp_path: Path) -> None:
    from fwsign.suit.builder import assemble_envelope

    env = assemble_envelope(manifest(seq(*IDENTITY)), [KEYS["ed25519"].signer()])
    policy = Policy(keys=(KEYS["ed25519"].trusted,), vendor_id=VID, class_id=CID)
    assert verify_with_bootref(env, policy, _write(tmp_path, "good.bin", IMAGE)).valid
    bad = verify_with_bootref(env, policy, _write(tmp_path, "bad.bin", IMAGE[:-1] + b"!"))
    assert bad.reason == "image-mismatch"
    assert any(ch.name == "image-match" and ch.ok is False for ch in bad.checks)


@pytest.mark.parametrize(("option", "what"), [
    (("-k", SPEC_KEY, "-k", SPEC_KEY, "--threshold", "2"), "one trusted signature"),
    (("-k", SPEC_KEY, "--component", "1"), "component 0"),
    (("-k", SPEC_KEY, "--slot", "1"), "slot"),
])
def test_what_the_device_verifier_cannot_take_is_a_usage_error(cli, tmp_path: Path, option: tuple[object, ...],  # type: ignore[no-untyped-def]
                                                               what: str) -> None:
    env = _write(tmp_path, "env.suit", vector("example0.signed.hex"))
    r = cli("verify", env, *option, "--engine", "bootref")
    assert r.code == 2 and what in r.err


def test_p384_key_refused_by_the_bootref_engine() -> None:
    with pytest.raises(UsageError, match="P-256, Ed25519, HMAC, HSS-LMS and ML-DSA keys, not p384"):
        verify_with_bootref(vector("example0.signed.hex"), Policy(keys=(KEYS["p384"].trusted,)))


def test_hmac_key_reaches_the_device_verifier(tmp_path: Path) -> None:
    from fwsign.suit.builder import assemble_envelope

    env = assemble_envelope(manifest(seq(*IDENTITY)), [KEYS["hmac"].signer()])
    policy = Policy(keys=(KEYS["hmac"].trusted,), vendor_id=VID, class_id=CID)
    assert verify_with_bootref(env, policy, _write(tmp_path, "image.bin", IMAGE)).valid
    other = Policy(keys=(KEYS["ed25519"].trusted,), vendor_id=VID, class_id=CID)
    assert verify_with_bootref(env, other).reason == verify_envelope(env, other).reason == "no-trusted-key"
