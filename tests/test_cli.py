"""The CLI as a user runs it: a subprocess, exit codes, files on disk, clear errors."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import VECTORS, Result

Run = Callable[..., Result]
IDENTITY = ["--vendor-domain", "example.com", "--class-name", "pump-v3"]


@pytest.fixture
def firmware(tmp_path: Path) -> Path:
    path = tmp_path / "fw.bin"
    path.write_bytes(os.urandom(0) + bytes(range(256)) * 300)
    return path


def test_keygen_writes_private_key_0600_and_never_prints_it(cli: Run, tmp_path: Path) -> None:
    for alg in ("ed25519", "p256", "p384", "hmac"):
        r = cli("keygen", "--alg", alg, "-o", f"k-{alg}")
        assert r.code == 0, r.err
        mode = stat.S_IMODE((tmp_path / f"k-{alg}.pem").stat().st_mode)
        assert mode == 0o600
        secret = (tmp_path / f"k-{alg}.pem").read_text()
        body = "".join(secret.splitlines()[1:-1])
        assert body not in r.out + r.err
    assert (tmp_path / "k-p256.pub.pem").exists() and (tmp_path / "k-p256.cose").exists()
    r = cli("keygen", "--alg", "ed25519", "-o", "k-ed25519")
    assert r.code == 2 and "refusing to overwrite" in r.err


def test_key_show_prints_public_forms_only(cli: Run, tmp_path: Path) -> None:
    cli("keygen", "--alg", "p256", "-o", "dev")
    r = cli("key", "show", "dev.pem", "--json")
    assert r.code == 0
    info = json.loads(r.out)
    assert info["kind"] == "p256" and len(info["raw_public"]) == 130 and "static const unsigned char" in info["c_array"]
    assert "PRIVATE" not in r.out
    r = cli("keygen", "--alg", "hmac", "-o", "mac")
    r = cli("key", "show", "mac.pem")
    secret = (tmp_path / "mac.pem").read_text().splitlines()[1]
    assert r.code == 0 and secret not in r.out


def test_sign_verify_inspect_end_to_end(cli: Run, firmware: Path) -> None:
    assert cli("keygen", "--alg", "ed25519", "-o", "rel").code == 0
    r = cli("sign", firmware, "-k", "rel.pem", "--sequence", "12", *IDENTITY, "--uri", "https://fw.example.com/fw.bin",
            "--text", "Release 12", "--version", "1.2.0", "-o", "fw.suit")
    assert r.code == 0, r.err
    r = cli("verify", "fw.suit", "-k", "rel.pub.pem", *IDENTITY, "--min-sequence", "12", "--image", firmware)
    assert r.code == 0, r.err
    assert "pass  image" in r.out and r.out.strip().endswith("valid: fw.suit")
    r = cli("verify", "fw.suit", "-k", "rel.pub.pem", "--json")
    report = json.loads(r.out)
    assert report["valid"] and report["sequence_number"] == 12
    r = cli("inspect", "fw.suit")
    assert "condition-vendor-identifier" in r.out and "component-version: 1.2.0" in r.out
    r = cli("inspect", "fw.suit", "--json")
    assert json.loads(r.out)["manifest"]["manifest-sequence-number"] == 12
    r = cli("inspect", "fw.suit", "--diag")
    assert r.out.startswith("107({") and "/ directive-override-parameters / 20," in r.out
    r = cli("inspect", "fw.suit", "--explain")
    assert '["Signature1",' in r.out and "CBOR header included" in r.out


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--min-sequence", "13"], "rollback"),
        (["--vendor-domain", "evil.example"], "vendor-mismatch"),
        (["--vendor-domain", "example.com", "--class-name", "other"], "class-mismatch"),
    ],
)
def test_verify_policy_rejections_exit_1_with_reason(cli: Run, firmware: Path, args: list[str], reason: str) -> None:
    cli("keygen", "-o", "rel")
    cli("sign", firmware, "-k", "rel.pem", "--sequence", "12", *IDENTITY, "-o", "fw.suit")
    r = cli("verify", "fw.suit", "-k", "rel.pub.pem", *args)
    assert r.code == 1 and f"rejected: {reason}" in r.err
    assert "FAIL  " in r.out


def test_verify_tampered_image_and_envelope(cli: Run, firmware: Path, tmp_path: Path) -> None:
    cli("keygen", "-o", "rel")
    cli("sign", firmware, "-k", "rel.pem", "--sequence", "1", *IDENTITY, "-o", "fw.suit")
    bad = tmp_path / "bad.bin"
    data = bytearray(firmware.read_bytes())
    data[100] ^= 1
    bad.write_bytes(bytes(data))
    r = cli("verify", "fw.suit", "-k", "rel.pub.pem", "--image", bad)
    assert r.code == 1 and "image-mismatch" in r.err
    env = bytearray((tmp_path / "fw.suit").read_bytes())
    env[-3] ^= 0x01
    (tmp_path / "tampered.suit").write_bytes(bytes(env))
    r = cli("verify", "tampered.suit", "-k", "rel.pub.pem")
    assert r.code == 1 and ("digest-mismatch" in r.err or "malformed" in r.err)
    r = cli("verify", "fw.suit", "-k", "rel.pub.pem", "--image", "missing.bin")
    assert r.code == 2 and "cannot read image" in r.err


def test_spec_vectors_verify_from_hex_files(cli: Run) -> None:
    for n in range(6):
        r = cli("verify", VECTORS / f"example{n}.signed.hex", "-k", VECTORS / "spec-test-key.public.pem",
                "--vendor-domain", "arm.com")
        assert r.code == 0, (n, r.out, r.err)
    r = cli("verify", VECTORS / "example0.unsigned.hex", "-k", VECTORS / "spec-test-key.public.pem")
    assert r.code == 1 and "no-trusted-key" in r.err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["sign", "fw.bin", "-k", "rel.pem", *IDENTITY, "-o", "out.suit"], "--sequence"),
        (["sign", "fw.bin", "-k", "rel.pem", "--sequence", "1", "-o", "out.suit"], "device identity"),
        (["sign", "fw.bin", "-k", "rel.pub.pem", "--sequence", "1", *IDENTITY, "-o", "out.suit"], "public key"),
        (["sign", "fw.bin", "-k", "nokey.pem", "--sequence", "1", *IDENTITY, "-o", "out.suit"], "cannot read"),
        (["sign", "missing.bin", "-k", "rel.pem", "--sequence", "1", *IDENTITY, "-o", "out.suit"], "cannot read image"),
        (["sign", "fw.bin", "-k", "rel.pem", "--sequence", "x", *IDENTITY, "-o", "out.suit"], "non-negative"),
        (["sign", "fw.bin", "-k", "rel.pem", "--alg", "esp256", "--sequence", "1", *IDENTITY, "-o", "out.suit"],
         "cannot be used with"),
        (["sign", "fw.bin", "-k", "rel.pem", "--sequence", "1", "--vendor-id", "nope", "--class-id", "x", "-o",
          "out.suit"], "not a UUID"),
        (["verify", "fw.bin", "-k", "rel.pub.pem"], "malformed"),
        (["verify", "nothere.suit", "-k", "rel.pub.pem"], "cannot read envelope"),
        (["verify", "fw.bin"], "trusted --key"),
    ],
)
def test_bad_input_gives_one_line_error_and_writes_nothing(cli: Run, tmp_path: Path, firmware: Path,
                                                          args: list[str], fragment: str) -> None:
    cli("keygen", "-o", "rel")
    r = cli(*args)
    assert r.code in (1, 2), r
    assert fragment in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "out.suit").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_threshold_signing_ceremony_with_tbs_and_attach(cli: Run, firmware: Path, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    cli("keygen", "--alg", "ed25519", "-o", "alice")
    cli("keygen", "--alg", "p256", "-o", "bob")
    assert cli("sign", firmware, "--unsigned", "--sequence", "3", *IDENTITY, "-o", "rel.suit").code == 0
    r = cli("verify", "rel.suit", "-k", "alice.pub.pem")
    assert r.code == 1 and "no-trusted-key" in r.err
    assert cli("sign-envelope", "rel.suit", "-k", "alice.pem").code == 0
    # Bob signs on an "air-gapped" machine with a tool that emits DER ECDSA.
    assert cli("tbs", "rel.suit", "-k", "bob.pub.pem", "-o", "rel.tbs").code == 0
    bob = serialization.load_pem_private_key((tmp_path / "bob.pem").read_bytes(), None)
    assert isinstance(bob, ec.EllipticCurvePrivateKey)
    (tmp_path / "bob.sig").write_bytes(bob.sign((tmp_path / "rel.tbs").read_bytes(), ec.ECDSA(hashes.SHA256())))
    (tmp_path / "wrong.sig").write_bytes(b"\x01" * 64)
    r = cli("attach", "rel.suit", "--signature", "wrong.sig", "-k", "bob.pub.pem")
    assert r.code == 1 and "does not verify" in r.err
    assert cli("attach", "rel.suit", "--signature", "bob.sig", "-k", "bob.pub.pem").code == 0
    r = cli("verify", "rel.suit", "-k", "alice.pub.pem", "-k", "bob.pub.pem", "--threshold", "2")
    assert r.code == 0, r.out + r.err
    r = cli("sign-envelope", "rel.suit", "-k", "alice.pem")
    assert r.code == 2 and "already carries" in r.err


def test_embed_sever_slots_and_release(cli: Run, firmware: Path, tmp_path: Path) -> None:
    cli("keygen", "-o", "rel")
    assert cli("sign", firmware, "-k", "rel.pem", "--sequence", "2", *IDENTITY, "--embed", "-o", "emb.suit").code == 0
    r = cli("verify", "emb.suit", "-k", "rel.pub.pem")
    assert r.code == 0 and "integrated payload #firmware" in r.out
    assert cli("sign", firmware, "-k", "rel.pem", "--sequence", "2", *IDENTITY, "--uri", "https://x.example/fw",
               "--text", "notes", "--sever", "-o", "full.suit").code == 0
    assert cli("sever", "full.suit", "-o", "small.suit").code == 0
    assert (tmp_path / "small.suit").stat().st_size < (tmp_path / "full.suit").stat().st_size
    r = cli("verify", "small.suit", "-k", "rel.pub.pem")
    assert r.code == 0 and "install severed (absent)" in r.out
    b = tmp_path / "b.bin"
    b.write_bytes(b"slot-b" * 100)
    assert cli("sign", "-k", "rel.pem", "--sequence", "2", *IDENTITY, "--slot-image", f"0={firmware}",
               "--slot-image", f"1={b}", "-o", "ab.suit").code == 0
    # A host that is not told the slot takes the first option of the slot try-each
    # (docs/processing-model.md section 1): slot B's image needs --slot 1.
    assert cli("verify", "ab.suit", "-k", "rel.pub.pem", "--image", firmware).code == 0
    assert cli("verify", "ab.suit", "-k", "rel.pub.pem", "--image", b).code == 1
    assert cli("verify", "ab.suit", "-k", "rel.pub.pem", "--image", b, "--slot", "1").code == 0
    (tmp_path / "release.toml").write_text(
        'sequence = 4\nvendor-domain = "example.com"\nclass-name = "pump-v3"\n'
        f'[[component]]\nname = "app"\nfile = "{firmware.name}"\n[[component]]\nname = "radio"\nid = ["01"]\nfile = "b.bin"\n')
    assert cli("sign", "--release", "release.toml", "-k", "rel.pem", "-o", "multi.suit").code == 0
    r = cli("verify", "multi.suit", "-k", "rel.pub.pem", *IDENTITY, "--component", "1", "--image", b)
    assert r.code == 0, r.out + r.err


def test_command_table_matches_what_each_module_registers() -> None:
    # A run builds only its command's module; the table saying which module that is
    # must list exactly the commands the modules register.
    import argparse
    import importlib

    from fwsign.cli.main import COMMAND_MODULES, COMMANDS

    registered: dict[str, str] = {}
    for module in COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module).register(sub)
        registered.update({name: module for name in sub.choices})
    assert registered == COMMANDS


def test_inspect_shows_encryption_info_without_secrets(cli: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "fw.bin").write_bytes(bytes(range(256)) * 64)
    assert cli("keygen", "--alg", "ed25519", "-o", "rel").code == 0
    assert cli("keygen", "--alg", "x25519", "-o", "dev").code == 0
    r = cli("sign", "fw.bin", "-k", "rel.pem", "--sequence", "3", *IDENTITY, "--uri", "https://x.example/fw.enc",
            "--encrypt-for", "dev.pub.pem", "--encrypted-payload", "fw.enc", "-o", "enc.suit")
    assert r.code == 0, r.err
    r = cli("inspect", "enc.suit", "--json")
    assert r.code == 0, r.err
    text = r.out
    assert '"content-alg": "A128GCM"' in text and '"alg": "ECDH-ES+A128KW"' in text
    # The wrapped content key is not shown, and nothing of the device's private key.
    private = (tmp_path / "dev.pem").read_text()
    assert "wrapped" not in text and private.split("\n")[1][:20] not in text


def test_verify_slot_picks_the_slot_image_and_its_encryption_info(cli: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"slot A image " * 500)
    (tmp_path / "b.bin").write_bytes(b"slot B image " * 500)
    assert cli("keygen", "--alg", "ed25519", "-o", "rel").code == 0
    assert cli("keygen", "--alg", "x25519", "-o", "dev").code == 0
    r = cli("sign", "-k", "rel.pem", "--sequence", "4", *IDENTITY, "--slot-image", "0=a.bin", "--slot-image", "1=b.bin",
            "--slot-uri", "0=https://x.example/a.enc", "--slot-uri", "1=https://x.example/b.enc",
            "--encrypt-for", "dev.pub.pem", "-o", "ab.suit")
    assert r.code == 0, r.err
    base = ["verify", "ab.suit", "-k", "rel.pub.pem", "--decrypt-key", "dev.pem"]
    ok = cli(*base, "--image", "b.bin.enc", "--slot", "1", "--json")
    assert ok.code == 0, ok.out + ok.err
    # The other slot's encryption-info cannot decrypt it; without --slot the host takes the
    # first option of the slot try-each (slot 0), as the C verifier does.
    wrong = cli(*base, "--image", "b.bin.enc", "--slot", "0", "--json")
    assert wrong.code == 1 and json.loads(wrong.out)["reason"] in ("decryption-failed", "image-mismatch")
    unslotted = cli(*base, "--image", "b.bin.enc", "--json")
    assert unslotted.code == 1 and json.loads(unslotted.out)["reason"] in ("decryption-failed", "image-mismatch")
    # Plaintext A/B: --slot restricts the digest to that slot's.
    r = cli("sign", "-k", "rel.pem", "--sequence", "4", *IDENTITY, "--slot-image", "0=a.bin", "--slot-image", "1=b.bin",
            "-o", "plain.suit")
    assert r.code == 0, r.err
    assert cli("verify", "plain.suit", "-k", "rel.pub.pem", "--image", "b.bin", "--slot", "1").code == 0
    mismatch = cli("verify", "plain.suit", "-k", "rel.pub.pem", "--image", "b.bin", "--slot", "0", "--json")
    assert mismatch.code == 1 and json.loads(mismatch.out)["reason"] == "image-mismatch"
    assert cli("verify", "plain.suit", "-k", "rel.pub.pem", "--image", "b.bin", "--slot", "5").code == 1


@pytest.mark.parametrize("args", [
    ["update", "--repo", "http://127.0.0.1:9/", "--trusted-root", "root.json", "--vendor-domain", "example.com",
     "--class-name", "pump-v3", "--current-sequence", "1", "--suit-key", "k.pem", "--out", "out", "--now", "yesterday"],
    ["verify", "x.suit", "-k", "k.pem", "--slot", "-1"],
    ["verify", "x.suit", "-k", "k.pem", "--slot", "a"],
])
def test_bad_time_and_slot_arguments_are_usage_errors(cli: Callable[..., Result], tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "root.json").write_text("{}")
    r = cli(*args)
    assert r.code == 2, r.out + r.err
    assert len(r.err.strip().splitlines()) == 1 and r.err.startswith("fwsign: ")
    assert not (tmp_path / "out").exists()


def test_now_takes_epoch_seconds_and_iso_times() -> None:
    from datetime import UTC, datetime

    from fwsign.cli.common import parse_now

    assert parse_now("1900000000") == datetime.fromtimestamp(1900000000, UTC)
    assert parse_now("2030-03-17T17:46:40") == datetime(2030, 3, 17, 17, 46, 40, tzinfo=UTC)
    assert parse_now(None) is None
