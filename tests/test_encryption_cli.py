"""fwsign keygen/sign/verify with encrypted payloads, and distribution through TUF unchanged."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fwsign.device.device import create
from fwsign.keys import public_pem as sig_public_pem
from fwsign.repo.releases import add_release
from fwsign.repo.repository import Repository
from fwsign.suit.builder import hash_stream
from tests.conftest import Result
from tests.tuf_helpers import CLASS, IDENTITY, SUIT_KEY, VENDOR, Clock, fwsign, new_repo, out_is_empty, served, update_args

IMAGE = hashlib.sha256(b"image").digest() * 1500  # 48000 bytes
Cli = Callable[..., Result]


@pytest.fixture
def release_dir(tmp_path: Path, cli: Cli) -> Path:
    (tmp_path / "app.bin").write_bytes(IMAGE)
    assert cli("keygen", "-o", "rel").code == 0
    for kind, name in (("x25519", "dx"), ("p256-kex", "dp"), ("a128kw", "k128"), ("a256kw", "k256")):
        r = cli("keygen", "--alg", kind, "-o", name)
        assert r.code == 0, r.err
    return tmp_path


def _sign(cli: Cli, *extra: str, out: str = "app.suit") -> Result:
    return cli("sign", "app.bin", "-k", "rel.pem", "--sequence", "9", *IDENTITY, "--uri", "https://fw.example.com/app.enc",
               *extra, "-o", out)


def test_keygen_encryption_keys_are_private(release_dir: Path) -> None:
    for name in ("dx", "dp", "k128", "k256"):
        assert (release_dir / f"{name}.pem").stat().st_mode & 0o777 == 0o600
    assert (release_dir / "dx.pub.pem").is_file() and (release_dir / "dp.pub.pem").is_file()
    assert not (release_dir / "k128.pub.pem").exists()  # a KEK has no public half


@pytest.mark.parametrize("alg", ["a128gcm", "a256gcm", "chacha20-poly1305", "a128ctr", "a256ctr"])
def test_sign_for_every_recipient_and_each_decrypts(release_dir: Path, cli: Cli, alg: str) -> None:
    r = _sign(cli, "--encrypt-for", "dx.pub.pem", "--encrypt-for", "dp.pub.pem", "--encrypt-kek", "k128.pem",
              "--encrypt-kek", "k256.pem", "--content-alg", alg, "--encrypted-payload", "app.enc")
    assert r.code == 0, r.err
    assert (release_dir / "app.enc").read_bytes() != IMAGE
    for key in ("dx.pem", "dp.pem", "k128.pem", "k256.pem"):
        r = cli("verify", "app.suit", "-k", "rel.pub.pem", "--image", "app.enc", "--decrypt-key", key, "--json")
        assert r.code == 0, r.err
        image = json.loads(r.out)["checks"][-1]
        assert image["status"] == "pass" and "decrypted" in image["detail"]


def test_verify_with_another_devices_key_is_rejected_in_one_line(release_dir: Path, cli: Cli) -> None:
    assert _sign(cli, "--encrypt-for", "dx.pub.pem", "--encrypted-payload", "app.enc").code == 0
    assert cli("keygen", "--alg", "x25519", "-o", "other").code == 0
    r = cli("verify", "app.suit", "-k", "rel.pub.pem", "--image", "app.enc", "--decrypt-key", "other.pem")
    assert r.code == 1
    assert r.err.count("\n") == 1 and r.err.startswith("rejected: no-recipient")


def test_verify_tampered_ciphertext_is_rejected(release_dir: Path, cli: Cli) -> None:
    assert _sign(cli, "--encrypt-kek", "k128.pem", "--encrypted-payload", "app.enc").code == 0
    data = bytearray((release_dir / "app.enc").read_bytes())
    data[1000] ^= 1
    (release_dir / "bad.enc").write_bytes(bytes(data))
    r = cli("verify", "app.suit", "-k", "rel.pub.pem", "--image", "bad.enc", "--decrypt-key", "k128.pem")
    assert r.code == 1 and "decryption-failed" in r.err


def test_embedded_encrypted_payload(release_dir: Path, cli: Cli) -> None:
    r = cli("sign", "app.bin", "-k", "rel.pem", "--sequence", "9", *IDENTITY, "--embed", "--encrypt-for", "dp.pub.pem",
            "--content-alg", "a128ctr", "-o", "emb.suit")
    assert r.code == 0, r.err
    assert IMAGE[:64] not in (release_dir / "emb.suit").read_bytes()
    r = cli("verify", "emb.suit", "-k", "rel.pub.pem", "--decrypt-key", "dp.pem", "--json")
    assert r.code == 0, r.err
    assert "integrated payload #firmware decrypted" in json.loads(r.out)["checks"][-1]["detail"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--encrypt-for", "dx.pub.pem"], "--encrypted-payload OUT"),                       # nowhere to put it
    (["--encrypted-payload", "app.enc"], "need a recipient"),                           # no recipient
    (["--encrypt-for", "k128.pem", "--encrypted-payload", "app.enc"], "--encrypt-kek"),  # a KEK as device key
    (["--encrypt-kek", "dx.pub.pem", "--encrypted-payload", "app.enc"], "--encrypt-for"),
    (["--encrypt-for", "dx.pub.pem", "--content-alg", "des", "--encrypted-payload", "app.enc"], "--content-alg"),
    (["--encrypt-for", "rel.pub.pem", "--encrypted-payload", "app.enc"], "X25519 or P-256"),
    (["--encrypt-for", "missing.pem", "--encrypted-payload", "app.enc"], "cannot read"),
])
def test_sign_encryption_errors_write_nothing(release_dir: Path, cli: Cli, extra: list[str], message: str) -> None:
    before = sorted(p.name for p in release_dir.iterdir())
    r = _sign(cli, *extra)
    assert r.code == 2, r.err
    assert message in r.err and r.err.count("\n") == 1
    assert sorted(p.name for p in release_dir.iterdir()) == before  # no envelope, no ciphertext, no temp file


def test_failed_envelope_leaves_no_ciphertext(release_dir: Path, cli: Cli) -> None:
    """The envelope write fails (its directory does not exist): the ciphertext is taken back."""
    r = _sign(cli, "--encrypt-for", "dx.pub.pem", "--encrypted-payload", "app.enc", out="nodir/app.suit")
    assert r.code != 0
    assert not (release_dir / "app.enc").exists()
    assert not [p for p in release_dir.iterdir() if p.name.endswith(".tmp")]


def test_tuf_distribution_carries_the_ciphertext_and_the_device_decrypts_it(tmp_path: Path) -> None:
    """repo add + update are unchanged: the ciphertext is the payload target; the repository and
    the gateway cannot check the plaintext (no key) and say so; the device decrypts and checks it."""
    from fwsign.encryption import RecipientKey, encrypt_stream, new_info
    from fwsign.encryption.keys import generate, kid_of, private_pem, public_pem
    from fwsign.suit.builder import ComponentSpec, ImageSpec, ManifestSpec, assemble_envelope, build_manifest

    device_key = generate("x25519")
    info, cek = new_info([RecipientKey(device_key.public_key(), kid_of(device_key))])  # type: ignore[union-attr]
    ciphertext = b"".join(encrypt_stream(info, cek, [IMAGE]))
    digest, size = hash_stream([IMAGE])
    comp = ComponentSpec((b"\x00",), (ImageSpec(digest, size, uri="https://fw.example.com/9.bin",
                                                encryption_info=info.encode()),), VENDOR, CLASS)
    manifest, severed = build_manifest(ManifestSpec(9, (comp,)))
    envelope = assemble_envelope(manifest, [SUIT_KEY.signer()], severed=severed)
    (tmp_path / "app.enc").write_bytes(ciphertext)

    clock = Clock()
    repo = new_repo(tmp_path / "repo", clock)
    result = add_release(repo, envelope, [SUIT_KEY.trusted], payload=tmp_path / "app.enc")
    assert result is not None
    repo.save()
    Repository(tmp_path / "repo", now=clock).publish()

    work = tmp_path / "gw"
    work.mkdir()
    with served(tmp_path / "repo") as url:
        r = fwsign(*update_args(url, tmp_path / "repo", work, 3), "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["status"] == "updated" and report["sequence"] == 9
    assert not out_is_empty(work)
    downloaded = (work / "out" / "firmware-9.bin").read_bytes()
    assert downloaded == ciphertext

    (tmp_path / "dev.pem").write_bytes(private_pem(device_key))
    (tmp_path / "dev.pub.pem").write_bytes(public_pem(device_key))  # type: ignore[arg-type]
    (tmp_path / "suit.pub.pem").write_bytes(sig_public_pem(SUIT_KEY.trusted.key))
    dev = create(tmp_path / "device", [tmp_path / "suit.pub.pem"], VENDOR, CLASS, decrypt=[tmp_path / "dev.pem"])
    slot = dev.install((work / "out" / "firmware-9.suit").read_bytes(), downloaded)
    assert dev.boot().image_digest == hashlib.sha256(IMAGE).hexdigest()
    assert dev.image(slot, len(IMAGE)) == IMAGE
