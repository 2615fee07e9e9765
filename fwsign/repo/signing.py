"""Keys for TUF roles: generated files, PEM paths, or securesystemslib signer URIs.

A key spec on the command line is one of:

* ``generate``: a new Ed25519 key written to ``DIR/keys/<role>-<n>.pem`` (0600);
* a path to a private PEM file (PKCS#8 or SEC1): an unencrypted one is used through the
  ``file2:`` signer; an encrypted one through ``fwsign-pem:`` (its passphrase comes from
  ``FWSIGN_KEY_PASSPHRASE`` or a prompt each time the key signs, and is never stored);
* a PKCS#11 URI, a KMS URI or a ``.uri`` file, as every signing command takes them;
* ``URI@PUBLIC.pem``: any securesystemslib signer URI (``hsm:``, ``awskms:...``,
  ``gcpkms:...``, ``azurekms:...``, ``hv:...``) with its public key as PEM;
* ``PUBLIC.pem`` (a public key only): an offline key; its holder signs pending role
  versions later with ``fwsign repo sign``.

The repository keeps, per key id, only the signer URI (never key material) in
``repo.json``; relative ``file2:`` paths are resolved against the repository directory.

Generated keys go through :class:`PendingKeys`: they are made in memory, and written only
once the command has checked everything it can (names, thresholds, other keys); a command
that then fails removes them again, so a refused command leaves no key file behind.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from securesystemslib.signer import CryptoSigner, Key, Signer, SSlibKey  # type: ignore[attr-defined]

from ..errors import FwsignError, KeyLoadError, UsageError
from ..keys import write_atomic
from .layout import check_name, fsync_dir

#: securesystemslib URI scheme for an encrypted PEM private key (fwsign-pem:/abs/path.pem).
PEM_SCHEME = "fwsign-pem"


@dataclass(frozen=True)
class KeyRef:
    """A role key: its public part and, when the repository may sign with it, a signer URI."""

    key: Key
    uri: str | None

    @property
    def keyid(self) -> str:
        return str(self.key.keyid)


def _load_pem_private(path: Path) -> tuple[SSlibKey, str]:
    """The public key of a private PEM and the signer URI to use it with (file2: or fwsign-pem:)."""
    from ..signers import load_private_interactive

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read key {path}: {exc.strerror}") from None
    priv = load_private_interactive(path)  # FWSIGN_KEY_PASSPHRASE or a prompt for an encrypted PEM
    try:
        key = SSlibKey.from_crypto(priv.public_key())
    except (ValueError, AttributeError) as exc:
        raise KeyLoadError(f"{path}: unsupported key for TUF: {exc}") from None
    scheme = PEM_SCHEME if b"ENCRYPTED" in data else "file2"
    return key, f"{scheme}:{path.resolve()}"


def register_pem_scheme() -> None:
    """Let securesystemslib's ``Signer.from_priv_key_uri`` open ``fwsign-pem:`` (encrypted PEM) URIs."""
    from securesystemslib.signer import SIGNER_FOR_URI_SCHEME  # type: ignore[attr-defined]

    if PEM_SCHEME not in SIGNER_FOR_URI_SCHEME:
        SIGNER_FOR_URI_SCHEME[PEM_SCHEME] = _PemSigner


class _PemSigner(CryptoSigner):  # type: ignore[misc]
    """A CryptoSigner over a PEM that may be encrypted; the passphrase is asked for at load time."""

    @classmethod
    def from_priv_key_uri(cls, priv_key_uri: str, public_key: Key, secrets_handler: Any = None) -> CryptoSigner:
        from ..signers import load_private_interactive

        path = Path(priv_key_uri.split(":", 1)[1])
        priv = load_private_interactive(path)
        signer = CryptoSigner(priv, public_key)  # type: ignore[arg-type]
        if SSlibKey.from_crypto(priv.public_key()).keyid != public_key.keyid:  # type: ignore[arg-type]
            raise KeyLoadError(f"{path} is not the private key of {public_key.keyid[:12]}")
        return signer


@dataclass
class PendingKeys:
    """Generated keys held in memory until :meth:`commit`; :meth:`rollback` removes what commit wrote."""

    repo_dir: Path
    keys: list[tuple[Path, bytes]] = field(default_factory=list)
    written: list[Path] = field(default_factory=list, repr=False)
    made_dir: bool = False

    def add(self, name: str, private: bytes) -> Path:
        path = self.repo_dir / "keys" / f"{name}.pem"
        if path.exists() or any(p == path for p, _ in self.keys):
            raise UsageError(f"{path} already exists; refusing to overwrite a private key")
        self.keys.append((path, private))
        return path

    def commit(self) -> None:
        """Write every pending key (0600, directory 0700), synced."""
        if not self.keys:
            return
        keys_dir = self.repo_dir / "keys"
        if not keys_dir.exists():
            keys_dir.mkdir(mode=0o700, parents=True)
            self.made_dir = True
        for path, data in self.keys:
            if path.exists():
                raise UsageError(f"{path} already exists; refusing to overwrite a private key")
            write_atomic(path, data, mode=0o600)
            self.written.append(path)
        fsync_dir(keys_dir)
        self.keys.clear()

    def rollback(self) -> None:
        for path in reversed(self.written):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self.written.clear()
        if self.made_dir:
            with contextlib.suppress(OSError):
                (self.repo_dir / "keys").rmdir()
            self.made_dir = False
        self.keys.clear()


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


def generate_key(repo_dir: Path, name: str, pending: PendingKeys | None = None) -> KeyRef:
    """A new Ed25519 key for ``repo_dir/keys/<name>.pem`` (0600), referenced by a relative file2 URI.

    With ``pending`` the key is only recorded there (written by ``pending.commit()``);
    without, it is written at once. ``name`` must be a plain name (no path).
    """
    check_name(name, "key name")
    signer = CryptoSigner.generate_ed25519()
    own = pending is None
    pending = pending or PendingKeys(repo_dir)
    pending.add(name, signer.private_bytes)
    if own:
        pending.commit()
    return KeyRef(signer.public_key, f"file2:keys/{name}.pem")


def parse_key_spec(spec: str, repo_dir: Path, name: str, pending: PendingKeys | None = None) -> KeyRef:
    """Turn one key spec (see module docstring) into a :class:`KeyRef` (generated keys go to ``pending``)."""
    if spec == "generate":
        return generate_key(repo_dir, name, pending)
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
        key, uri = _load_pem_private(path)
        return KeyRef(key, uri)
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
    if uri.startswith(PEM_SCHEME + ":"):
        register_pem_scheme()
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
    key, uri = _load_pem_private(Path(spec))
    return load_signer(uri, key, repo_dir)
