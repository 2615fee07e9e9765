"""Encrypted payloads on the device: the C boot flow (bootloader-ref, host port on libcrypto)
decrypts while it writes the slot and image-match checks the plaintext digest."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from fwsign.device.device import DeviceConfig, Geometry, new_device
from fwsign.encryption import CONTENT_ALGS, ContentAlg, Kek, RecipientKey, encrypt_stream, new_info, parse_info
from fwsign.errors import FwsignError
from fwsign.keys import private_pem, public_pem
from fwsign.suit.builder import ComponentSpec, ImageSpec, ManifestSpec, assemble_envelope, build_manifest, hash_stream
from fwsign.suit.ids import class_uuid, vendor_uuid
from tests.conftest import KEYS
from tests.test_encryption import RECIPIENT_KINDS, _keypair

VID = vendor_uuid("example.com")
CID = class_uuid(VID, "thermostat")
IMAGE = bytes(hashlib.sha256(b"fw").digest()) * 300 + b"tail-not-aligned"  # 9616 bytes
GEOMETRY = Geometry(sector_size=1024, write_size=8, slot_sectors=16)
SIGNER = KEYS["ed25519"]
ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors" / "suit-encryption"


def _device(tmp: Path, keys: list[tuple[bytes, bytes, bool]]):  # type: ignore[no-untyped-def]
    """A fresh device trusting SIGNER with decryption keys (file bytes, kid, is_kek)."""
    tdir, ddir = tmp / "trust", tmp / "decrypt"
    tdir.mkdir(parents=True, exist_ok=True)
    ddir.mkdir(parents=True, exist_ok=True)
    (tdir / "anchor0.pem").write_bytes(public_pem(SIGNER.trusted.key))
    names = []
    for i, (data, kid, is_kek) in enumerate(keys):
        name = f"key{i}.{'kek' if is_kek else 'pem'}"
        (ddir / name).write_bytes(data)
        names.append((name, kid.hex()))
    return new_device(DeviceConfig(VID, CID, None, GEOMETRY, ("anchor0.pem",), tuple(names)), tdir)


def _key_file(kind: str, seed: int = 1) -> tuple[bytes, bytes, bool]:
    _rk, dk = _keypair(kind, seed)
    if isinstance(dk.key, Kek):
        return dk.key.secret, dk.kid, True
    pem = dk.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    return pem, dk.kid, False


def _release(seq: int, info: bytes, image: bytes = IMAGE) -> bytes:
    digest, size = hash_stream([image])
    comp = ComponentSpec((b"\x00",), (ImageSpec(digest, size, uri="https://fw.example.com/app.enc", encryption_info=info),),
                         VID, CID)
    manifest, severed = build_manifest(ManifestSpec(seq, (comp,)))
    return assemble_envelope(manifest, [SIGNER.signer()], severed=severed)


def _encrypt(recipients: list[RecipientKey], alg: int = ContentAlg.A128GCM) -> tuple[bytes, bytes]:
    info, cek = new_info(recipients, alg)
    return info.encode(), b"".join(encrypt_stream(info, cek, [IMAGE]))


@pytest.mark.parametrize(("kind", "alg"), list(itertools.product(RECIPIENT_KINDS, CONTENT_ALGS)))
def test_device_decrypts_every_recipient_and_content_algorithm(tmp_path: Path, kind: str, alg: int) -> None:
    dev = _device(tmp_path, [_key_file(kind)])
    info, ct = _encrypt([_keypair(kind)[0]], alg)
    slot = dev.install(_release(3, info), ct)
    boot = dev.boot()
    assert (boot.slot, boot.sequence, boot.confirmed) == (slot, 3, True)
    assert dev.image(slot, len(IMAGE)) == IMAGE  # the slot holds the plaintext
    assert boot.image_digest == hashlib.sha256(IMAGE).hexdigest()


def test_device_with_several_keys_picks_its_recipient(tmp_path: Path) -> None:
    dev = _device(tmp_path, [_key_file("a128kw", seed=9), _key_file("p256")])
    info, ct = _encrypt([_keypair("x25519", seed=5)[0], _keypair("p256")[0]], ContentAlg.CHACHA20_POLY1305)
    dev.install(_release(4, info), ct)
    assert dev.boot().sequence == 4


def _refused(dev, envelope: bytes, payload: bytes) -> FwsignError:  # type: ignore[no-untyped-def]
    before = bytes(dev.flash.data)
    with pytest.raises(FwsignError) as exc:
        dev.install(envelope, payload)
    # Nothing becomes bootable: no image record was written for the slot.
    assert all(s.state == "empty" for s in dev.slots())
    assert len(before) == len(dev.flash.data)
    return exc.value


def test_device_refuses_payload_for_another_device(tmp_path: Path) -> None:
    dev = _device(tmp_path, [_key_file("x25519", seed=2)])
    info, ct = _encrypt([_keypair("x25519")[0]])
    err = _refused(dev, _release(3, info), ct)
    assert err.reason == "no-recipient" and "BOOTREF_E_NO_RECIPIENT" in str(err)


def test_device_refuses_wrong_kek_with_the_right_kid(tmp_path: Path) -> None:
    real = _keypair("a128kw")[1]
    dev = _device(tmp_path, [(bytes(16), real.kid, True)])
    info, ct = _encrypt([_keypair("a128kw")[0]])
    assert _refused(dev, _release(3, info), ct).reason == "key-unwrap-failed"


@pytest.mark.parametrize("alg", [ContentAlg.A128GCM, ContentAlg.CHACHA20_POLY1305])
def test_device_refuses_tampered_ciphertext(tmp_path: Path, alg: int) -> None:
    dev = _device(tmp_path, [_key_file("p256")])
    info, ct = _encrypt([_keypair("p256")[0]], alg)
    bad = bytearray(ct)
    bad[5000] ^= 4
    err = _refused(dev, _release(3, info), bytes(bad))
    assert err.reason == "decryption-failed"


def test_device_refuses_tampered_ctr_ciphertext_by_the_plaintext_digest(tmp_path: Path) -> None:
    dev = _device(tmp_path, [_key_file("a256kw")])
    info, ct = _encrypt([_keypair("a256kw")[0]], ContentAlg.A256CTR)
    bad = bytearray(ct)
    bad[17] ^= 1
    assert _refused(dev, _release(3, info), bytes(bad)).reason == "image-mismatch"


@pytest.mark.parametrize("cut", [1, 16, 300, len(IMAGE) + 15])
def test_device_refuses_truncated_ciphertext(tmp_path: Path, cut: int) -> None:
    dev = _device(tmp_path, [_key_file("x25519")])
    info, ct = _encrypt([_keypair("x25519")[0]])
    assert _refused(dev, _release(3, info), ct[:-cut]).reason == "decryption-failed"


def test_device_refuses_tampered_wrapped_key(tmp_path: Path) -> None:
    dev = _device(tmp_path, [_key_file("x25519")])
    info, ct = _encrypt([_keypair("x25519")[0]])
    wrapped = parse_info(info).recipients[0].wrapped_key
    forged = info.replace(wrapped, wrapped[:-1] + bytes([wrapped[-1] ^ 1]))
    assert _refused(dev, _release(3, forged), ct).reason == "key-unwrap-failed"


def test_device_without_decryption_keys_refuses_encrypted_payloads(tmp_path: Path) -> None:
    dev = _device(tmp_path, [])
    info, ct = _encrypt([_keypair("x25519")[0]])
    err = _refused(dev, _release(3, info), ct)
    assert err.reason == "unsupported" and "cannot decrypt" in str(err)


@pytest.mark.parametrize("name", ["aes-kw-a128gcm", "ecdh-es-p256-a128gcm"])
def test_device_decrypts_the_drafts_examples(tmp_path: Path, name: str) -> None:
    """The draft's examples (tests/vectors/suit-encryption): their encryption info and ciphertext
    in one of our manifests (theirs use directive-write, which this device has no use for),
    decrypted by the C code with the examples' keys and kids."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.test_encryption_vectors import VECTORS as V
    from tests.test_encryption_vectors import _install_params

    info, ct = _install_params(name)
    v = V[name]
    plaintext = v["plaintext"].encode()
    if "kek_hex" in v:
        key = (bytes.fromhex(v["kek_hex"]), v["kid"].encode(), True)
    else:
        priv = ec.derive_private_key(int(v["receiver_private_d_hex"], 16), ec.SECP256R1())
        pem = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
        key = (pem, v["kid"].encode(), False)
    dev = _device(tmp_path, [key])
    dev.install(_release(7, info, plaintext), ct)
    assert dev.boot().image_digest == hashlib.sha256(plaintext).hexdigest()


def test_device_cli_create_with_decrypt_key_and_install(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "app.bin").write_bytes(IMAGE)
    (tmp_path / "rel.pem").write_bytes(private_pem(SIGNER.private))  # type: ignore[arg-type]
    assert cli("keygen", "--alg", "x25519", "-o", "dev").code == 0
    r = cli("sign", "app.bin", "-k", "rel.pem", "--sequence", "5", "--vendor-domain", "example.com", "--class-name",
            "thermostat", "--uri", "https://fw.example.com/app.enc", "--encrypt-for", "dev.pub.pem",
            "--encrypted-payload", "app.enc", "-o", "app.suit")
    assert r.code == 0, r.err
    (tmp_path / "rel.pub.pem").write_bytes(public_pem(SIGNER.trusted.key))
    r = cli("device", "create", "d", "--trust", "rel.pub.pem", "--vendor-domain", "example.com", "--class-name",
            "thermostat", "--decrypt-key", "dev.pem")
    assert r.code == 0, r.err
    assert (tmp_path / "d/decrypt/key0.pem").stat().st_mode & 0o777 == 0o600
    assert json.loads((tmp_path / "d/device.json").read_text())["decrypt"][0][0] == "key0.pem"
    r = cli("device", "install", "d", "app.suit", "--payload", "app.bin")  # the plaintext is not the payload
    assert r.code == 1 and r.err.count("\n") == 1 and "decryption-failed" in r.err
    r = cli("device", "install", "d", "app.suit", "--payload", "app.enc")
    assert r.code == 0, r.err
    r = cli("device", "boot", "d")
    assert r.code == 0 and hashlib.sha256(IMAGE).hexdigest()[:16] in r.out


def test_decryption_clean_under_asan_and_ubsan() -> None:
    """This file's device tests again with the C library built with AddressSanitizer + UBSan."""
    if os.environ.get("FWSIGN_BOOTREF_LIB"):
        pytest.skip("already running under the sanitizer build")
    from tests.test_device_sanitizers import sanitizer_env

    env = sanitizer_env()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                           "tests/test_encryption_device.py", "-k", "not cli and not sanitizers"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    report = proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "AddressSanitizer" not in report and "runtime error" not in report, report
    assert proc.returncode == 0, report
