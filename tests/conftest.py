"""Shared fixtures: the spec vectors, deterministic test keys, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import HealthCheck, settings

from fwsign.keys import SymmetricKey, load_private, load_public, make_signer, private_pem, public_of, public_pem
from fwsign.verify import TrustedKey

VECTORS = Path(__file__).parent / "vectors" / "suit-spec"
EXAMPLES = [0, 1, 2, 3, 4, 5]

# Deterministic example runs: the same inputs every time, a bounded number of cases.
settings.register_profile(
    "ci", max_examples=150, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def vector(name: str) -> bytes:
    return bytes.fromhex((VECTORS / name).read_text().strip())


@pytest.fixture(scope="session")
def spec_public() -> TrustedKey:
    return TrustedKey.of(load_public(VECTORS / "spec-test-key.public.pem"), "spec")


@pytest.fixture(scope="session")
def spec_private():  # type: ignore[no-untyped-def]
    return load_private(VECTORS / "spec-test-key.private.pem")


@dataclass(frozen=True)
class FixtureKey:
    kind: str
    private: object
    trusted: TrustedKey

    def signer(self, alg: int | None = None, kid: bool = True):  # type: ignore[no-untyped-def]
        return make_signer(self.private, alg, kid=kid)  # type: ignore[arg-type]


def _fixed_keys() -> dict[str, FixtureKey]:
    # Fixed key material so every run signs the same bytes.
    raw = {
        "ed25519": ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))),
        "p256": ec.derive_private_key(0x1234567890ABCDEF1234567890ABCDEF, ec.SECP256R1()),
        "p384": ec.derive_private_key(0xFEDCBA0987654321FEDCBA0987654321, ec.SECP384R1()),
        "hmac": SymmetricKey(bytes(range(100, 132))),
    }
    return {k: FixtureKey(k, v, TrustedKey.of(public_of(v), k)) for k, v in raw.items()}  # type: ignore[arg-type]


KEYS = _fixed_keys()


@pytest.fixture(scope="session")
def keys() -> dict[str, FixtureKey]:
    return KEYS


@pytest.fixture
def key_files(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    """(private, public) key files for each kind; HMAC's 'public' file is the secret."""
    out: dict[str, tuple[Path, Path]] = {}
    for kind, k in KEYS.items():
        priv = tmp_path / f"{kind}.pem"
        priv.write_bytes(private_pem(k.private))  # type: ignore[arg-type]
        if kind == "hmac":
            out[kind] = (priv, priv)
        else:
            pub = tmp_path / f"{kind}.pub.pem"
            pub.write_bytes(public_pem(k.trusted.key))
            out[kind] = (priv, pub)
    return out


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., Result]:
    """Run ``fwsign`` as a user does: a subprocess, in a scratch directory."""

    def run(*args: str | Path, cwd: Path | None = None) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "fwsign", *map(str, args)],
            capture_output=True, text=True, cwd=cwd or tmp_path, timeout=120,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run
