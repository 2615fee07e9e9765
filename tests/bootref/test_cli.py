"""The command-line contract: exit 2 for usage errors and unreadable input, never a crash."""

from __future__ import annotations

import subprocess

import pytest

from ._suit import BUILD, example


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUILD / "asan" / "bootref"), *args], capture_output=True, text=True, timeout=20)


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize("args", [
    [],
    ["sign"],
    ["verify"],
    ["verify", "--trust"],
    ["verify", "--bogus", "x"],
    ["verify", "--trust", "/nonexistent.pem", "env"],
    ["verify", "--vendor-id", "not-a-uuid", "env"],
    ["verify", "--min-sequence", "-1", "env"],
    ["verify", "--min-sequence", "99999999999999999999999", "env"],
])
def test_usage_errors_exit_2(args):
    assert run(*args).returncode == 2


def test_unreadable_envelope_exits_2(built, tmp_path):
    from ._suit import spec_public_pem

    r = run("verify", "--trust", str(spec_public_pem()), str(tmp_path / "missing.suit"))
    assert r.returncode == 2
    assert "cannot read envelope" in r.stderr


def test_non_key_pem_exits_2(built, tmp_path):
    p = tmp_path / "k.pem"
    p.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    env = tmp_path / "e"
    env.write_bytes(example("example0.signed"))
    assert run("verify", "--trust", str(p), str(env)).returncode == 2


def test_unreadable_image_exits_2(bootref, write, tmp_path):
    r = bootref(write("e", example("example0.signed")), tmp_path / "no-image")
    assert r.code == 2


def test_help_exits_0(built):
    r = run("--help")
    assert r.returncode == 0 and "usage: bootref verify" in r.stdout


def test_private_key_material_never_printed(bootref, write):
    r = bootref(write("e", example("example0.signed")))
    assert "PRIVATE" not in r.out + r.err
