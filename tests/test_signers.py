"""Signer specs: PEM (also encrypted), PKCS#11 URIs on a real SoftHSM2 token, KMS URIs offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from fwsign.errors import KeyLoadError
from fwsign.keys import load_private, load_public, private_pem
from fwsign.signers import SOFTHSM_MODULES, parse_pkcs11_uri, parse_spec, redact_uri

from .conftest import KEYS, Result

Run = Callable[..., Result]

PIN = "pin-7F3a9Qz"
SO_PIN = "so-pin-4Kd81"
PASSPHRASE = "correct-horse-91x"
SOFTHSM_MODULE = next((m for m in SOFTHSM_MODULES if Path(m).is_file()), None)

needs_softhsm = pytest.mark.skipif(
    shutil.which("softhsm2-util") is None or SOFTHSM_MODULE is None,
    reason="SoftHSM2 is not installed (Debian package softhsm2; scripts/ensure-sysdeps.sh installs it)",
)


# -- spec and URI parsing --------------------------------------------------------------


def test_rfc7512_uri_attributes_are_parsed_and_percent_decoded() -> None:
    uri = parse_pkcs11_uri("pkcs11:token=my%20token;object=release-2026;id=%01%02%ff?module-path=/opt/lib.so")
    assert uri.token == "my token"
    assert uri.object == "release-2026"
    assert uri.id == b"\x01\x02\xff"
    assert uri.module_path == "/opt/lib.so"
    assert parse_pkcs11_uri(uri.text()).id == uri.id


@pytest.mark.parametrize(("uri", "fragment"), [
    ("pkcs11:token=t;object=o?pin-value=1234", "pin-value"),
    ("pkcs11:token=t;colour=red;object=o", "unknown PKCS#11 URI attribute"),
    ("pkcs11:token=t;object=o;object=p", "given twice"),
    ("pkcs11:token=t", "names no key"),
    ("pkcs11:token=t;id=%zz", "malformed"),
    ("pkcs11:token=t;object", "has no value"),
])
def test_bad_pkcs11_uris_are_refused_with_one_line(uri: str, fragment: str) -> None:
    with pytest.raises(KeyLoadError) as info:
        parse_pkcs11_uri(uri)
    assert fragment in info.value.message
    assert "1234" not in info.value.describe()


def test_uri_file_and_uri_with_public_key(tmp_path: Path) -> None:
    (tmp_path / "rel.uri").write_text("# release key\npkcs11:token=fwsign;object=rel\n")
    (tmp_path / "rel.pub.pem").write_bytes(b"x")
    spec = parse_spec(tmp_path / "rel.uri")
    assert spec.uri == "pkcs11:token=fwsign;object=rel"
    assert spec.public == tmp_path / "rel.pub.pem"
    spec = parse_spec("awskms:arn:aws:kms:eu-west-1:111122223333:key/abcd@pub.pem")
    assert spec.uri == "awskms:arn:aws:kms:eu-west-1:111122223333:key/abcd" and spec.public == Path("pub.pem")
    assert parse_spec("keys/release.pem").pem == Path("keys/release.pem")
    (tmp_path / "bad.uri").write_text("file:/etc/passwd\n")
    with pytest.raises(KeyLoadError, match="does not hold a signer URI"):
        parse_spec(tmp_path / "bad.uri")
    assert redact_uri("pkcs11:token=t;object=o?pin-source=file:/run/pin") == "pkcs11:token=t;object=o"


@pytest.mark.parametrize("scheme", ["awskms", "gcpkms", "azurekms", "hv"])
def test_kms_uri_without_its_service_fails_with_one_clear_line(
    scheme: str, cli: Run, tmp_path: Path, key_files: dict[str, tuple[Path, Path]]
) -> None:
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\x00" * 64)
    uri = {"awskms": "awskms:arn:aws:kms:eu-west-1:111122223333:key/0000",
           "gcpkms": "gcpkms:projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
           "azurekms": "azurekms:vault/key", "hv": "hv:release"}[scheme]
    for spec in (uri, f"{uri}@{key_files['p256'][1]}"):
        res = cli("sign", fw, "-k", spec, "-o", "fw.suit", "--sequence", "1",
                  "--vendor-domain", "example.com", "--class-name", "x")
        assert res.code == 2
        lines = res.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("fwsign: key-invalid:") and scheme in lines[0]
        assert not (tmp_path / "fw.suit").exists()


def test_pkcs11_without_a_module_says_what_to_set(cli: Run, tmp_path: Path) -> None:
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\x00")
    res = cli("sign", fw, "-k", "pkcs11:token=t;object=o?module-path=/nonexistent/lib.so", "-o", "x.suit",
              "--sequence", "1", "--vendor-domain", "example.com", "--class-name", "x")
    assert res.code == 2 and "PKCS11_MODULE" in res.err


# -- encrypted PEM ----------------------------------------------------------------------


def _encrypted(tmp_path: Path) -> Path:
    key = KEYS["p256"].private
    pem = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    )
    path = tmp_path / "enc.pem"
    path.write_bytes(pem)
    return path


def test_encrypted_pem_takes_the_passphrase_and_never_shows_it(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_files: dict[str, tuple[Path, Path]]
) -> None:
    enc = _encrypted(tmp_path)
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\x01" * 100)
    args = ("sign", fw, "-k", enc, "-o", "fw.suit", "--sequence", "1", "--vendor-domain", "example.com", "--class-name", "x")
    monkeypatch.delenv("FWSIGN_KEY_PASSPHRASE", raising=False)
    res = cli(*args)
    assert res.code == 2 and "FWSIGN_KEY_PASSPHRASE" in res.err
    monkeypatch.setenv("FWSIGN_KEY_PASSPHRASE", "wrong-passphrase-zz")
    res = cli(*args)
    assert res.code == 2 and "wrong-passphrase-zz" not in res.err + res.out
    monkeypatch.setenv("FWSIGN_KEY_PASSPHRASE", PASSPHRASE)
    res = cli(*args)
    assert res.code == 0, res.err
    assert PASSPHRASE not in res.err + res.out
    assert cli("verify", "fw.suit", "-k", key_files["p256"][1]).code == 0
    # An unencrypted key still loads while a passphrase is in the environment.
    assert load_private(key_files["ed25519"][0]) is not None


def test_key_material_is_not_in_reprs_or_errors(tmp_path: Path) -> None:
    from fwsign.signers import load_signer

    path = tmp_path / "k.pem"
    path.write_bytes(private_pem(KEYS["p256"].private))  # type: ignore[arg-type]
    signer = load_signer(path)
    secret = KEYS["p256"].private.private_numbers().private_value  # type: ignore[attr-defined]
    assert format(secret, "x") not in repr(signer) and str(secret) not in repr(signer)
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAAsecretish\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyLoadError) as info:
        load_signer(path)
    assert "secretish" not in info.value.describe()


# -- a real PKCS#11 token: SoftHSM2 ------------------------------------------------------


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh SoftHSM2 token 'fwsign' in its own token directory and config."""
    if shutil.which("softhsm2-util") is None or SOFTHSM_MODULE is None:
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2)")
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "fwsign", "--pin", PIN, "--so-pin", SO_PIN],
                   env=env, check=True, capture_output=True, timeout=60)
    yield {"SOFTHSM2_CONF": str(conf), "PKCS11_MODULE": SOFTHSM_MODULE or "", "FWSIGN_PKCS11_PIN": PIN}


@pytest.fixture
def hsm_env(softhsm: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for k, v in softhsm.items():
        monkeypatch.setenv(k, v)
    return softhsm


def _no_secrets(*texts: str) -> None:
    for t in texts:
        assert PIN not in t and SO_PIN not in t


@needs_softhsm
def test_hsm_key_signs_an_envelope_that_verifies_with_the_public_key_alone(
    hsm_env: dict[str, str], cli: Run, tmp_path: Path
) -> None:
    res = cli("keygen", "--alg", "p256", "--hsm", "pkcs11:token=fwsign;object=release-2026", "-o", "rel")
    assert res.code == 0, res.err
    _no_secrets(res.out, res.err)
    assert (tmp_path / "rel.uri").read_text().strip() == "pkcs11:token=fwsign;object=release-2026"
    assert not (tmp_path / "rel.pem").exists()
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\x42" * 300)
    common = ("--sequence", "7", "--vendor-domain", "example.com", "--class-name", "sensor")
    res = cli("sign", fw, "-k", "rel.uri", "-o", "fw.suit", *common)
    assert res.code == 0, res.err
    _no_secrets(res.out, res.err)
    res = cli("verify", "fw.suit", "-k", "rel.pub.pem", "--image", fw)
    assert res.code == 0, res.err + res.out
    # A bare URI works too, and sign-envelope adds a second HSM signature.
    res = cli("keygen", "--alg", "p384", "--hsm", "pkcs11:token=fwsign;object=second", "-o", "second")
    assert res.code == 0, res.err
    res = cli("sign-envelope", "fw.suit", "-k", "pkcs11:token=fwsign;object=second")
    assert res.code == 0, res.err
    res = cli("verify", "fw.suit", "-k", "rel.pub.pem", "-k", "second.pub.pem", "--threshold", "2")
    assert res.code == 0, res.err + res.out
    # Generating over an existing label is refused.
    res = cli("keygen", "--alg", "p256", "--hsm", "pkcs11:token=fwsign;object=second", "-o", "again")
    assert res.code == 2 and "already holds" in res.err


@needs_softhsm
def test_wrong_pin_missing_object_and_token_fail_closed_without_leaking(
    hsm_env: dict[str, str], cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\x00" * 10)
    common = ("-o", "fw.suit", "--sequence", "1", "--vendor-domain", "example.com", "--class-name", "x")
    assert cli("keygen", "--alg", "p256", "--hsm", "pkcs11:token=fwsign;object=pinned", "-o", "p").code == 0
    for uri, fragment in (("pkcs11:token=fwsign;object=absent", "no public key"),
                          ("pkcs11:token=nosuch;object=pinned", "no PKCS#11 token")):
        res = cli("sign", fw, "-k", uri, *common)
        assert res.code == 2 and fragment in res.err, res.err
        _no_secrets(res.out, res.err)
    monkeypatch.setenv("FWSIGN_PKCS11_PIN", "0000-wrong")
    res = cli("sign", fw, "-k", "p.uri", *common)
    assert res.code == 2 and "wrong PIN" in res.err and "0000-wrong" not in res.err
    monkeypatch.delenv("FWSIGN_PKCS11_PIN")
    res = cli("sign", fw, "-k", "p.uri", *common)
    assert res.code == 2 and "FWSIGN_PKCS11_PIN" in res.err
    assert not (tmp_path / "fw.suit").exists()


@needs_softhsm
def test_hsm_key_signs_a_tuf_role(hsm_env: dict[str, str], cli: Run, tmp_path: Path) -> None:
    from tuf.api.metadata import Metadata

    assert cli("keygen", "--alg", "p256", "--hsm", "pkcs11:token=fwsign;object=tuf-targets", "-o", "tt").code == 0
    res = cli("repo", "init", "repo", "--targets-key", "tt.uri")
    assert res.code == 0, res.err
    _no_secrets(res.out, res.err)
    config = (tmp_path / "repo" / "repo.json").read_text()
    assert "pkcs11:token=fwsign;object=tuf-targets" in config and PIN not in config
    meta = tmp_path / "repo" / "public" / "metadata"
    root = Metadata.from_bytes((meta / "1.root.json").read_bytes())
    targets = Metadata.from_bytes((meta / "1.targets.json").read_bytes())
    root.verify_delegate("targets", targets)  # signed by the token key, checked with public data only
    pub = load_public(tmp_path / "tt.pub.pem")
    from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]

    assert SSlibKey.from_crypto(pub).keyid in targets.signatures  # type: ignore[arg-type]
    # The JSON status names the signer kind without secrets.
    res = cli("repo", "status", "repo", "--json")
    assert res.code == 0 and PIN not in res.out
    json.loads(res.out)
