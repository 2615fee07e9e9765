"""Keys for TUF roles: generated files, PEM paths, or securesystemslib signer URIs.

A key spec on the command line is one of:

* ``generate``: a new Ed25519 key written to ``DIR/keys/<role>-<n>.pem`` (0600);
* a path to a private PEM file (PKCS#8): used through the ``file2:`` signer;
* ``URI@PUBLIC.pem``: any securesystemslib signer URI (``hsm:``, ``awskms:...``,
  ``gcpkms:...``, ``azurekms:...``, ``hv:...``) with its public key as PEM;
* ``PUBLIC.pem`` (a public key only): an offline key; its holder signs pending role
  versions later with ``fwsign repo sign``.

The repository keeps, per key id, only the signer URI (never key material) in
``repo.json``; relative ``file2:`` paths are resolved against the repository directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from securesystemslib.signer import CryptoSigner, Key, Signer, SSlibKey  # type: ignore[attr-defined]

from ..errors import FwsignError, KeyLoadError, UsageError
from ..keys import write_atomic


@dataclass(frozen=True)
class KeyRef:
    """A role key: its public part and, when the repository may sign with it, a signer URI."""

    key: Key
    uri: str | None

    @property
    def keyid(self) -> str:
        return str(self.key.keyid)


def _load_pem_private(path: Path) -> SSlibKey:
    from cryptography.hazmat.primitives import serialization

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read key {path}: {exc.strerror}") from None
    try:
        priv = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyLoadError(f"{path} is not an unencrypted PKCS#8 PEM private key") from None
    try:
        return SSlibKey.from_crypto(priv.public_key())  # type: ignore[arg-type]
    except ValueError as exc:
        raise KeyLoadError(f"{path}: unsupported key for TUF: {exc}") from None


def _load_pem_public(path: Path) -> SSlibKey:
    from cryptography.hazmat.primitives import serialization

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read key {path}: {exc.strerror}") from None
    try:
        pub = serialization.load_pem_public_key(data)
        return SSlibKey.from_crypto(pub)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise KeyLoadError(f"{path} is not a supported PEM public key ({exc})") from None


def generate_key(repo_dir: Path, name: str) -> KeyRef:
    """A new Ed25519 key in ``repo_dir/keys/<name>.pem`` (0600), referenced by a relative file2 URI."""
    signer = CryptoSigner.generate_ed25519()
    keys = repo_dir / "keys"
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = keys / f"{name}.pem"
    if path.exists():
        raise UsageError(f"{path} already exists; refusing to overwrite a private key")
    write_atomic(path, signer.private_bytes, mode=0o600)
    return KeyRef(signer.public_key, f"file2:keys/{name}.pem")


def parse_key_spec(spec: str, repo_dir: Path, name: str) -> KeyRef:
    """Turn one key spec (see module docstring) into a :class:`KeyRef`."""
    if spec == "generate":
        return generate_key(repo_dir, name)
    uri_ref = _uri_spec(spec)
    if uri_ref is not None:
        return uri_ref
    if "@" in spec and ":" in spec.split("@", 1)[0]:
        uri, pub = spec.rsplit("@", 1)
        return KeyRef(_load_pem_public(Path(pub)), uri)
    path = Path(spec)
    try:
        head = path.read_bytes()[:200]
    except OSError as exc:
        raise UsageError(f"cannot read key {spec}: {exc.strerror}") from None
    if b"PRIVATE KEY" in head:
        return KeyRef(_load_pem_private(path), f"file2:{path.resolve()}")
    if b"PUBLIC KEY" in head:
        return KeyRef(_load_pem_public(path), None)
    raise KeyLoadError(f"{spec} is neither a PEM key file nor URI@PUBLIC.pem")


def _uri_spec(spec: str) -> KeyRef | None:
    """A bare signer URI, ``URI@PUBLIC.pem`` or a ``.uri`` file (see :mod:`fwsign.signers`)."""
    from ..signers import PKCS11_SCHEME, is_uri, parse_spec, pkcs11_public_key

    if not (is_uri(spec) or spec.endswith(".uri")):
        return None
    ks = parse_spec(spec)
    assert ks.uri is not None
    if ks.public is not None:
        return KeyRef(_load_pem_public(ks.public), ks.uri)
    if ks.uri.startswith(PKCS11_SCHEME + ":"):
        try:
            return KeyRef(SSlibKey.from_crypto(pkcs11_public_key(ks.uri)), ks.uri)  # type: ignore[arg-type]
        except ValueError as exc:
            raise KeyLoadError(f"unsupported token key for TUF: {exc}") from None
    from ..signers import kms_signer

    return KeyRef(SSlibKey.from_crypto(kms_signer(ks).public), ks.uri)  # type: ignore[arg-type]


def resolve_uri(uri: str, repo_dir: Path) -> str:
    if uri.startswith("file2:"):
        p = Path(uri[len("file2:"):])
        if not p.is_absolute():
            return f"file2:{(repo_dir / p).resolve()}"
    return uri


def load_signer(uri: str, key: Key, repo_dir: Path) -> Signer:
    if uri.startswith("pkcs11:"):
        from ..signers import register_sslib_pkcs11

        register_sslib_pkcs11()
    try:
        return Signer.from_priv_key_uri(resolve_uri(uri, repo_dir), key)
    except OSError as exc:
        raise UsageError(f"cannot read the private key for {key.keyid[:12]} ({uri}): {exc.strerror}") from None
    except FwsignError:
        raise
    except Exception as exc:  # securesystemslib raises several unrelated types here
        raise KeyLoadError(f"cannot load signer {uri.split('?', 1)[0]} for key {key.keyid[:12]}: {exc}") from None


def signer_from_spec(spec: str, repo_dir: Path) -> Signer:
    """A signer for ``repo sign``: a private PEM path, a signer URI, ``URI@PUBLIC.pem`` or a ``.uri`` file."""
    ref = _uri_spec(spec)
    if ref is not None:
        assert ref.uri is not None
        return load_signer(ref.uri, ref.key, repo_dir)
    if "@" in spec and ":" in spec.split("@", 1)[0]:
        uri, pub = spec.rsplit("@", 1)
        return load_signer(uri, _load_pem_public(Path(pub)), repo_dir)
    path = Path(spec)
    key = _load_pem_private(path)
    return load_signer(f"file2:{path.resolve()}", key, repo_dir)
