"""The mandatory SUIT algorithm profile suit-sha256-hsslms-a256kw-a256ctr = [-16, -46, -5, -65532]
(draft-ietf-suit-mti): an encrypted release made in it, decrypted and verified in Python and in C."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fwsign.cli.main import run
from fwsign.suit.profiles import PROFILES, conforms

ROOT = Path(__file__).resolve().parent.parent
MTI = "suit-sha256-hsslms-a256kw-a256ctr"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("mti")
    assert run(["keygen", "--alg", "hss-lms", "--lms-height", "5", "--lms-w", "8", "-o", str(d / "rel")]) == 0
    assert run(["keygen", "--alg", "a256kw", "-o", str(d / "kek")]) == 0
    assert run(["keygen", "--alg", "a128kw", "-o", str(d / "kek128")]) == 0
    (d / "fw.bin").write_bytes(bytes(range(251)) * 40)
    return d


def _sign(d: Path, out: str, *extra: str) -> int:
    return run(["sign", str(d / "fw.bin"), "--sequence", "7", "--vendor-domain", "example.com", "--class-name", "pump",
                "--uri", "https://fw.example.com/fw.enc", "--encrypted-payload", str(d / f"{out}.enc"),
                "-o", str(d / f"{out}.suit"), *extra])


def test_mti_profile_is_the_papers_descriptor() -> None:
    p = PROFILES[MTI]
    assert p.descriptor == (-16, -46, -5, -65532) and p.mandatory


def test_encrypted_release_in_the_mandatory_profile_verifies_in_python_and_c(release: Path) -> None:
    d = release
    assert _sign(d, "mti", "-k", str(d / "rel.hss"), "--encrypt-kek", str(d / "kek.pem"), "--profile", MTI) == 0
    env = (d / "mti.suit").read_bytes()
    result = conforms(env, PROFILES[MTI])
    assert result.ok and result.encrypted
    assert (d / "mti.enc").read_bytes() != (d / "fw.bin").read_bytes()
    assert run(["verify", str(d / "mti.suit"), "-k", str(d / "rel.cose"), "--image", str(d / "mti.enc"),
                "--decrypt-key", str(d / "kek.pem")]) == 0
    assert run(["verify", str(d / "mti.suit"), "-k", str(d / "rel.cose"), "--image", str(d / "mti.enc"),
                "--decrypt-key", str(d / "kek128.pem")]) == 1
    subprocess.run(["make", "-s", "-C", str(ROOT / "bootloader-ref")], check=True, capture_output=True)
    proc = subprocess.run([str(ROOT / "bootloader-ref" / "build" / "bootref"), "verify", "--trust", str(d / "rel.cose"),
                           "--decrypt-key", str(d / "kek.pem"), str(d / "mti.suit"), str(d / "mti.enc")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "decrypt" in proc.stdout


def test_profile_refuses_an_envelope_outside_it_and_writes_nothing(release: Path) -> None:
    d = release
    # A128KW is not the profile's key exchange.
    assert _sign(d, "wrong-kek", "-k", str(d / "rel.hss"), "--encrypt-kek", str(d / "kek128.pem"), "--profile", MTI) == 2
    assert not (d / "wrong-kek.suit").exists() and not (d / "wrong-kek.enc").exists()
    from fwsign.stateful import HssKeyFile

    used = HssKeyFile(d / "rel.hss").read().next_index
    # An explicit content encryption other than A256CTR.
    assert _sign(d, "gcm", "-k", str(d / "rel.hss"), "--encrypt-kek", str(d / "kek.pem"), "--content-alg", "a256gcm",
                 "--profile", MTI) == 2
    assert not (d / "gcm.suit").exists()
    assert HssKeyFile(d / "rel.hss").read().next_index == used  # refused before signing: no one-time key spent
    assert run(["sign", str(d / "fw.bin"), "--sequence", "1", "--vendor-domain", "x.example", "--class-name", "c",
                "-k", str(d / "rel.hss"), "--profile", "suit-unknown", "-o", str(d / "u.suit")]) == 2
