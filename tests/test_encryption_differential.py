"""`bootref verify --decrypt-key` (the C reference verifier decrypting through the boot
flow's decryption port) and `fwsign verify --decrypt-key` agree on encrypted envelopes of
every recipient and content algorithm, and on tampered, truncated or wrongly keyed ones."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from fwsign.cli.main import run
from fwsign.device import lib
from fwsign.encryption import CONTENT_ALGS, ContentAlg, Kek, encrypt_stream, new_info
from fwsign.encryption.keys import kek_pem
from fwsign.keys import public_pem
from fwsign.suit.builder import ComponentSpec, ImageSpec, ManifestSpec, assemble_envelope, build_manifest, hash_stream
from fwsign.suit.ids import class_uuid, vendor_uuid
from tests.conftest import KEYS
from tests.test_encryption import RECIPIENT_KINDS, _keypair

BOOTREF = lib.BOOTREF_DIR / "build" / "bootref"
SIGNER = KEYS["ed25519"]
VID = vendor_uuid("example.com")
CID = class_uuid(VID, "thermostat")
IMAGE = hashlib.sha256(b"diff").digest() * 400 + b"tail"  # 12804 bytes: several 4 KiB chunks, not aligned


@pytest.fixture(scope="module")
def built() -> None:
    lib.load()
    proc = subprocess.run(["make", "-s", "-C", str(lib.BOOTREF_DIR), "build/bootref"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _key_file(d: Path, kind: str, seed: int = 1, raw_kek: bool = False) -> Path:
    dk = _keypair(kind, seed)[1]
    path = d / f"{kind}-{seed}{'-raw' if raw_kek else ''}.key"
    if isinstance(dk.key, Kek):
        path.write_bytes(dk.key.secret if raw_kek else kek_pem(dk.key))
    else:
        path.write_bytes(dk.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    path.chmod(0o600)
    return path


def _envelope(d: Path, kinds: tuple[str, ...], alg: int) -> tuple[Path, Path]:
    info, cek = new_info([_keypair(k)[0] for k in kinds], alg)
    ct = b"".join(encrypt_stream(info, cek, [IMAGE[i:i + 5000] for i in range(0, len(IMAGE), 5000)]))
    digest, size = hash_stream([IMAGE])
    comp = ComponentSpec((b"\x00",), (ImageSpec(digest, size, uri="https://fw.example.com/app.enc",
                                                encryption_info=info.encode()),), VID, CID)
    manifest, severed = build_manifest(ManifestSpec(3, (comp,)))
    env, img = d / "app.suit", d / "app.enc"
    env.write_bytes(assemble_envelope(manifest, [SIGNER.signer()], severed=severed))
    img.write_bytes(ct)
    (d / "rel.pub.pem").write_bytes(public_pem(SIGNER.trusted.key))
    return env, img


def c_verify(d: Path, env: Path, img: Path, key: Path) -> tuple[int, str]:
    proc = subprocess.run([str(BOOTREF), "verify", "--trust", str(d / "rel.pub.pem"), "--decrypt-key", str(key), str(env), str(img)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    return proc.returncode, "ok" if last == "OK" else last.split(":")[1].strip()


def py_verify(d: Path, env: Path, img: Path, key: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(["verify", str(env), "-k", str(d / "rel.pub.pem"), "--image", str(img), "--decrypt-key", str(key), "--json"])
    rep = json.loads(out.getvalue())
    return code, "ok" if code == 0 else str(rep["reason"])


def both(d: Path, env: Path, img: Path, key: Path) -> tuple[int, str]:
    c, py = c_verify(d, env, img, key), py_verify(d, env, img, key)
    assert c == py, f"bootref {c} != fwsign {py}"
    return c


@pytest.mark.parametrize(("kind", "alg"), list(itertools.product(RECIPIENT_KINDS, CONTENT_ALGS)))
def test_agree_on_every_recipient_and_content_algorithm(built: None, tmp_path: Path, kind: str, alg: int) -> None:
    env, img = _envelope(tmp_path, (kind,), alg)
    assert both(tmp_path, env, img, _key_file(tmp_path, kind)) == (0, "ok")


def test_agree_with_several_recipients_and_a_raw_kek_file(built: None, tmp_path: Path) -> None:
    env, img = _envelope(tmp_path, ("x25519", "p256", "a256kw"), ContentAlg.A256GCM)
    for kind in ("x25519", "p256", "a256kw"):
        assert both(tmp_path, env, img, _key_file(tmp_path, kind)) == (0, "ok")
    # the C tool also reads the raw 16/32-byte form the simulated device stores
    assert c_verify(tmp_path, env, img, _key_file(tmp_path, "a256kw", raw_kek=True)) == (0, "ok")


@pytest.mark.parametrize("alg", list(CONTENT_ALGS))
def test_agree_on_tampered_ciphertext(built: None, tmp_path: Path, alg: int) -> None:
    env, img = _envelope(tmp_path, ("p256",), alg)
    bad = bytearray(img.read_bytes())
    bad[4097] ^= 0x10
    img.write_bytes(bytes(bad))
    want = "decryption-failed" if CONTENT_ALGS[alg].aead else "image-mismatch"
    assert both(tmp_path, env, img, _key_file(tmp_path, "p256")) == (1, want)


@pytest.mark.parametrize("cut", [1, 16, len(IMAGE) + 16])
def test_agree_on_truncated_ciphertext(built: None, tmp_path: Path, cut: int) -> None:
    env, img = _envelope(tmp_path, ("x25519",), ContentAlg.CHACHA20_POLY1305)
    img.write_bytes(img.read_bytes()[:-cut])
    assert both(tmp_path, env, img, _key_file(tmp_path, "x25519")) == (1, "decryption-failed")


@pytest.mark.parametrize("kind", RECIPIENT_KINDS)
def test_agree_on_another_devices_key(built: None, tmp_path: Path, kind: str) -> None:
    env, img = _envelope(tmp_path, (kind,), ContentAlg.A128GCM)
    assert both(tmp_path, env, img, _key_file(tmp_path, kind, seed=2)) == (1, "no-recipient")


def test_agree_on_a_key_of_another_type(built: None, tmp_path: Path) -> None:
    env, img = _envelope(tmp_path, ("x25519",), ContentAlg.A128CTR)
    assert both(tmp_path, env, img, _key_file(tmp_path, "a128kw")) == (1, "no-recipient")


def test_bootref_decrypt_key_usage_errors(built: None, tmp_path: Path) -> None:
    env, img = _envelope(tmp_path, ("x25519",), ContentAlg.A128GCM)
    (tmp_path / "junk.key").write_bytes(b"neither PEM nor 16 or 32 bytes")
    for key in ("junk.key", "missing.key"):
        proc = subprocess.run([str(BOOTREF), "verify", "--trust", str(tmp_path / "rel.pub.pem"), "--decrypt-key", str(tmp_path / key),
                               str(env), str(img)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and key in proc.stderr and "OK" not in proc.stdout
    proc = subprocess.run([str(BOOTREF), "verify", "--trust", str(tmp_path / "rel.pub.pem"), str(env), "--decrypt-key"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
