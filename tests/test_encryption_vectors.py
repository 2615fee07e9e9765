"""The firmware-encryption draft's example vectors (tests/vectors/suit-encryption/PROVENANCE.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from fwsign.encryption import DecryptionKey, Kek, decrypt_chunks, open_info, parse_info
from fwsign.errors import KeyUnwrapError
from fwsign.suit.codepoints import Parameter
from fwsign.suit.decode import decode_envelope
from fwsign.suit.model import Parameters
from fwsign.verify import Policy, TrustedKey, verify_envelope

HERE = Path(__file__).parent / "vectors" / "suit-encryption"
VECTORS: dict[str, dict[str, Any]] = json.loads((HERE / "vectors.json").read_text())


def _envelope(name: str) -> bytes:
    return bytes.fromhex("".join((HERE / VECTORS[name]["envelope"]).read_text().split()))


def _install_params(name: str) -> tuple[bytes, bytes]:
    """(encryption-info, ciphertext) from the example's install sequence."""
    env = decode_envelope(_envelope(name))
    install = env.manifest.install
    for cmd in install.commands:  # type: ignore[union-attr]
        if isinstance(cmd.arg, Parameters) and cmd.arg.get(Parameter.ENCRYPTION_INFO) is not None:
            info, content = cmd.arg.get(Parameter.ENCRYPTION_INFO), cmd.arg.get(Parameter.CONTENT)
            assert isinstance(info, bytes) and isinstance(content, bytes)
            return info, content
    raise AssertionError("no encryption-info in the example")


def _key(name: str) -> DecryptionKey:
    v = VECTORS[name]
    kid = v["kid"].encode()
    if "kek_hex" in v:
        return DecryptionKey(Kek(bytes.fromhex(v["kek_hex"])), kid)
    d = int(v["receiver_private_d_hex"], 16)
    priv = ec.derive_private_key(d, ec.SECP256R1())
    nums = priv.public_key().public_numbers()
    assert nums.x.to_bytes(32, "big").hex() == v["receiver_public_x_hex"]
    assert nums.y.to_bytes(32, "big").hex() == v["receiver_public_y_hex"]
    return DecryptionKey(priv, kid)


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_example_decrypts_to_the_published_plaintext(name: str) -> None:
    info, ct = _install_params(name)
    parsed = parse_info(info)
    assert parsed.recipients[0].kid == VECTORS[name]["kid"].encode()
    plaintext = b"".join(decrypt_chunks(info, [_key(name)], [ct[:10], ct[10:]]))
    assert plaintext == VECTORS[name]["plaintext"].encode()


def test_aes_kw_example_unwraps_the_published_content_key() -> None:
    info, _ct = _install_params("aes-kw-a128gcm")
    assert open_info(info, [_key("aes-kw-a128gcm")]).cek.hex() == VECTORS["aes-kw-a128gcm"]["cek_hex"]


def test_aes_kw_example_with_another_kek_does_not_unwrap() -> None:
    info, _ct = _install_params("aes-kw-a128gcm")
    with pytest.raises(KeyUnwrapError):
        open_info(info, [DecryptionKey(Kek(b"b" * 16), b"kid-1")])


def test_ecdh_example_envelope_signature_verifies_but_it_lacks_a_validate_sequence(spec_public: TrustedKey) -> None:
    """The encryption draft's example is signed with the spec key, but it only writes a
    component and has no validate sequence: the processing model (rule R0) refuses it."""
    report = verify_envelope(_envelope("ecdh-es-p256-a128gcm"), Policy(keys=(spec_public,)))
    assert next(c for c in report.checks if c.name == "signature").ok
    assert report.reason == "missing-check" and "validate" in str(report.error)
