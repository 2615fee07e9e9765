"""Encrypted payloads for multi-component releases (--release) and A/B images (--slot-image):
every image gets its own content key and IV, each ciphertext is written as IMAGE.enc (next to
the image or in the --encrypted-payload directory), all of them or none."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from fwsign.cli.main import run
from fwsign.device.device import DeviceConfig, Geometry, new_device
from fwsign.encryption import Kek, decrypt_chunks, parse_info
from fwsign.encryption.keys import kek_pem, public_pem
from fwsign.keys import public_pem as sig_public_pem
from fwsign.suit.codepoints import Command, Parameter
from fwsign.suit.decode import decode_envelope
from fwsign.suit.ids import class_uuid, vendor_uuid
from fwsign.suit.processor import observe as analyze
from tests.conftest import KEYS
from tests.test_encryption import _keypair

SIGNER = KEYS["ed25519"]
IDENTITY = ["--vendor-domain", "example.com", "--class-name", "infusion-pump-v3"]
APP = hashlib.sha256(b"app").digest() * 700 + b"odd"  # 22403 bytes
RADIO = hashlib.sha256(b"radio").digest() * 300  # 9600 bytes
BOOT = hashlib.sha256(b"boot").digest() * 100
SLOT_A = hashlib.sha256(b"slot-a").digest() * 200 + b"a"
SLOT_B = hashlib.sha256(b"slot-b").digest() * 200 + b"bb"


def fwsign(*args: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """Images, a signing key pair, an X25519 device key pair and an A128KW KEK."""
    for name, data in (("app.bin", APP), ("radio.bin", RADIO), ("boot.bin", BOOT), ("a.bin", SLOT_A), ("b.bin", SLOT_B)):
        (tmp_path / name).write_bytes(data)
    (tmp_path / "rel.pub.pem").write_bytes(sig_public_pem(SIGNER.trusted.key))
    from fwsign.keys import private_pem

    (tmp_path / "rel.pem").write_bytes(private_pem(SIGNER.private))  # type: ignore[arg-type]
    _rk, dx = _keypair("x25519")
    assert not isinstance(dx.key, Kek)
    (tmp_path / "dx.pem").write_bytes(dx.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    (tmp_path / "dx.pub.pem").write_bytes(public_pem(dx.key))  # type: ignore[arg-type]
    _rk2, other = _keypair("x25519", seed=2)
    assert not isinstance(other.key, Kek)
    (tmp_path / "other.pem").write_bytes(other.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                                 serialization.NoEncryption()))
    kek = _keypair("a128kw")[1].key
    assert isinstance(kek, Kek)
    (tmp_path / "k128.pem").write_bytes(kek_pem(kek))
    return tmp_path


def _release(work: Path, *, radio_extra: str = "", app_extra: str = "") -> Path:
    toml = work / "release.toml"
    toml.write_text(f"""
sequence = 7
vendor-domain = "example.com"
class-name = "infusion-pump-v3"

[[component]]
name = "app"
id = ["00"]
file = "app.bin"
uri = "https://fw.example.com/app.enc"
{app_extra}

[[component]]
name = "radio"
id = ["01"]
file = "radio.bin"
embed = true
{radio_extra}

[[component]]
name = "boot"
id = ["02"]
file = "boot.bin"
uri = "https://fw.example.com/boot.bin"
encrypt = false
""")
    return toml


def _sign_release(work: Path, *extra: str | Path) -> tuple[int, str, str]:
    return fwsign("sign", "--release", _release(work), "-k", work / "rel.pem", "-o", work / "rel.suit",
                  "--encrypt-for", work / "dx.pub.pem", "--encrypt-kek", work / "k128.pem", *extra)


def _verify(work: Path, component: int, image: Path | None, key: str | None) -> tuple[int, dict[str, object]]:
    args: list[str | Path] = ["verify", work / "rel.suit", "-k", work / "rel.pub.pem", "--component", str(component), "--json"]
    if image is not None:
        args += ["--image", image]
    if key is not None:
        args += ["--decrypt-key", work / key]
    code, out, err = fwsign(*args)
    return code, (json.loads(out) if out.strip() else {"err": err})


def _image_check(report: dict[str, object]) -> dict[str, str]:
    checks = report["checks"]
    assert isinstance(checks, list)
    return next(c for c in checks if c["check"] == "image")  # type: ignore[no-any-return]


def _files(d: Path) -> set[str]:
    return {p.name for p in d.iterdir()}


def test_release_round_trip_per_component(work: Path) -> None:
    code, out, err = _sign_release(work)
    assert code == 0, err
    assert (work / "app.bin.enc").is_file() and not (work / "boot.bin.enc").exists()
    assert not (work / "radio.bin.enc").exists()  # integrated: the envelope carries its ciphertext
    assert "app.bin.enc" in out
    env = decode_envelope((work / "rel.suit").read_bytes())
    radio_ct = env.payload("#radio")
    assert radio_ct is not None and RADIO not in radio_ct and len(radio_ct) == len(RADIO) + 16
    # Component 0 (detached), with either recipient's key.
    for key in ("dx.pem", "k128.pem"):
        code, rep = _verify(work, 0, work / "app.bin.enc", key)
        assert code == 0, rep
        assert _image_check(rep)["status"] == "pass" and "decrypted" in _image_check(rep)["detail"]
    # Component 1 (integrated ciphertext), component 2 (plaintext, opted out).
    code, rep = _verify(work, 1, None, "dx.pem")
    assert code == 0 and "integrated payload #radio decrypted" in _image_check(rep)["detail"], rep
    code, rep = _verify(work, 2, work / "boot.bin", None)
    assert code == 0 and _image_check(rep)["status"] == "pass", rep
    # One component's image is not another's: the app ciphertext under component 1's info fails.
    code, rep = _verify(work, 1, work / "app.bin.enc", "dx.pem")
    assert code == 1


def test_release_each_image_has_its_own_content_key_and_iv(work: Path) -> None:
    assert _sign_release(work)[0] == 0
    env = decode_envelope((work / "rel.suit").read_bytes())
    infos = _infos(env)
    assert len(infos) == 2
    parsed = [parse_info(i) for i in infos.values()]
    assert parsed[0].iv != parsed[1].iv
    assert parsed[0].recipients[1].wrapped_key != parsed[1].recipients[1].wrapped_key  # same KEK, different CEKs


def _infos(env: object) -> dict[tuple[int, int | None], bytes]:
    """Encryption info per (component, slot) as the fetches of the install sequence consume it."""
    out: dict[tuple[int, int | None], bytes] = {}
    observations = [o for slot in (0, 1) for o in analyze(env.manifest, slots=((0, slot),)).observations]  # type: ignore[attr-defined]
    for o in observations:
        info = o.param(Parameter.ENCRYPTION_INFO)
        if o.code == Command.DIRECTIVE_FETCH and isinstance(info, bytes):
            slot = o.param(Parameter.COMPONENT_SLOT)
            out[(o.component, slot if isinstance(slot, int) else None)] = info
    return out


def test_release_into_a_directory(work: Path) -> None:
    (work / "out").mkdir()
    code, _out, err = _sign_release(work, "--encrypted-payload", work / "out")
    assert code == 0, err
    assert _files(work / "out") == {"app.bin.enc"}
    assert _verify(work, 0, work / "out" / "app.bin.enc", "k128.pem")[0] == 0


def test_release_wrong_key_and_tampered_component_ciphertext(work: Path) -> None:
    assert _sign_release(work)[0] == 0
    code, rep = _verify(work, 0, work / "app.bin.enc", "other.pem")
    assert code == 1 and rep["reason"] == "no-recipient", rep
    bad = bytearray((work / "app.bin.enc").read_bytes())
    bad[1000] ^= 0x40
    (work / "tampered.enc").write_bytes(bytes(bad))
    code, rep = _verify(work, 0, work / "tampered.enc", "dx.pem")
    assert code == 1 and rep["reason"] == "decryption-failed", rep
    # the other components are unaffected
    assert _verify(work, 1, None, "dx.pem")[0] == 0


@pytest.mark.parametrize("failure", ["missing-image", "bad-key", "encrypt-without-uri", "unwritable-output"])
def test_release_failure_writes_nothing(work: Path, failure: str) -> None:
    before = _files(work)
    extra: list[str | Path] = []
    if failure == "missing-image":
        _release(work, radio_extra="")
        toml = work / "release.toml"
        toml.write_text(toml.read_text().replace('file = "boot.bin"', 'file = "missing.bin"').replace("encrypt = false", ""))
        before = _files(work)
        code, _o, err = fwsign("sign", "--release", toml, "-k", work / "rel.pem", "-o", work / "rel.suit",
                               "--encrypt-for", work / "dx.pub.pem")
    elif failure == "bad-key":
        (work / "bad.pub.pem").write_text("not a key")
        _release(work)
        before = _files(work)
        code, _o, err = _sign_release(work, "--encrypt-for", work / "bad.pub.pem")
    elif failure == "encrypt-without-uri":
        toml = _release(work)
        toml.write_text(toml.read_text().replace('uri = "https://fw.example.com/boot.bin"\nencrypt = false', ""))
        before = _files(work)
        code, _o, err = fwsign("sign", "--release", toml, "-k", work / "rel.pem", "-o", work / "rel.suit",
                               "--encrypt-for", work / "dx.pub.pem")
    else:
        _release(work)
        before = _files(work)
        code, _o, err = fwsign("sign", "--release", work / "release.toml", "-k", work / "rel.pem",
                               "-o", work / "no-such-dir" / "rel.suit", "--encrypt-for", work / "dx.pub.pem", *extra)
    assert code == 2, err
    assert _files(work) == before  # no ciphertext, no temporary file, no envelope


def test_release_encrypt_true_without_recipient_is_refused(work: Path) -> None:
    toml = _release(work, app_extra="encrypt = true")
    code, _o, err = fwsign("sign", "--release", toml, "-k", work / "rel.pem", "-o", work / "rel.suit")
    assert code == 2 and "needs a recipient" in err
    assert not (work / "rel.suit").exists()


def _sign_slots(work: Path, *extra: str | Path, seq: int = 5) -> tuple[int, str, str]:
    return fwsign("sign", "-k", work / "rel.pem", "--sequence", str(seq), *IDENTITY, "--slot-image", f"0={work / 'a.bin'}",
                  "--slot-image", f"1={work / 'b.bin'}", "--slot-uri", "0=https://fw.example.com/a.enc",
                  "--slot-uri", "1=https://fw.example.com/b.enc", "--encrypt-for", work / "dx.pub.pem",
                  "--content-alg", "chacha20-poly1305", "-o", work / "ab.suit", *extra)


def test_slot_images_round_trip_per_slot(work: Path) -> None:
    code, _out, err = _sign_slots(work)
    assert code == 0, err
    env = decode_envelope((work / "ab.suit").read_bytes())
    infos = _infos(env)
    assert set(infos) == {(0, 0), (0, 1)} and infos[(0, 0)] != infos[(0, 1)]
    dk = _keypair("x25519")[1]
    for slot, plain, name in ((0, SLOT_A, "a.bin.enc"), (1, SLOT_B, "b.bin.enc")):
        ct = (work / name).read_bytes()
        assert b"".join(decrypt_chunks(infos[(0, slot)], [dk], [ct])) == plain
        with pytest.raises(Exception, match="tag"):  # one slot's ciphertext under the other slot's key
            b"".join(decrypt_chunks(infos[(0, 1 - slot)], [dk], [ct]))


def test_slot_images_install_on_the_device_in_either_slot(work: Path) -> None:
    """The C boot flow picks the branch of the slot it writes: its uri, its encryption info."""
    trust, ddir = work / "trust", work / "decrypt"
    trust.mkdir()
    ddir.mkdir()
    (trust / "anchor0.pem").write_bytes(sig_public_pem(SIGNER.trusted.key))
    (ddir / "key0.pem").write_bytes((work / "dx.pem").read_bytes())
    vid = vendor_uuid("example.com")
    dev = new_device(DeviceConfig(vid, class_uuid(vid, "infusion-pump-v3"), None, Geometry(1024, 8, 16), ("anchor0.pem",),
                                  (("key0.pem", _keypair("x25519")[1].kid.hex()),)), trust)
    slots = []
    for seq in (5, 6):
        assert _sign_slots(work, seq=seq)[0] == 0  # fresh content keys and IVs
        payloads = {"https://fw.example.com/a.enc": (work / "a.bin.enc").read_bytes(),
                    "https://fw.example.com/b.enc": (work / "b.bin.enc").read_bytes()}
        slot = dev.install((work / "ab.suit").read_bytes(), payloads=payloads)
        plain = SLOT_A if slot == 0 else SLOT_B
        assert dev.image(slot, len(plain)) == plain
        boot = dev.boot()
        assert (boot.slot, boot.sequence) == (slot, seq)
        slots.append(slot)
    assert sorted(slots) == [0, 1]


def test_slot_images_into_directory_and_failure_writes_nothing(work: Path) -> None:
    (work / "enc").mkdir()
    assert _sign_slots(work, "--encrypted-payload", work / "enc")[0] == 0
    assert _files(work / "enc") == {"a.bin.enc", "b.bin.enc"}
    # b.bin missing: a.bin was already encrypted when it fails; nothing stays behind.
    (work / "b.bin").unlink()
    (work / "fresh").mkdir()
    code, _o, err = _sign_slots(work, "--encrypted-payload", work / "fresh")
    assert code == 2, err
    assert _files(work / "fresh") == set()
    # encrypted slot images need a uri per slot
    (work / "b.bin").write_bytes(SLOT_B)
    before = _files(work)
    code, _o, err = fwsign("sign", "-k", work / "rel.pem", "--sequence", "5", *IDENTITY, "--slot-image", f"0={work / 'a.bin'}",
                           "--slot-image", f"1={work / 'b.bin'}", "--encrypt-for", work / "dx.pub.pem", "-o", work / "x.suit")
    assert code == 2 and "--slot-uri" in err
    assert _files(work) == before


def test_encrypted_payload_must_be_a_directory_with_several_images(work: Path) -> None:
    code, _o, err = _sign_release(work, "--encrypted-payload", work / "app.enc")
    assert code == 2 and "directory" in err
