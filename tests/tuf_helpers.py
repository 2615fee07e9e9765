"""Helpers for the TUF repository and update client tests: envelopes, repositories, servers, a clock."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fwsign.cli.main import run
from fwsign.keys import public_pem
from fwsign.repo.releases import add_release
from fwsign.repo.repository import Repository
from fwsign.repo.serve import serve_in_thread
from fwsign.repo.signing import KeyRef, generate_key
from fwsign.suit.builder import ComponentSpec, ImageSpec, ManifestSpec, assemble_envelope, build_manifest, hash_stream
from fwsign.suit.ids import class_uuid, vendor_uuid
from tests.conftest import KEYS

#: The fixed "now" every repository in these tests is built at; clients are told the time.
T0 = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
VENDOR = vendor_uuid("example.com")
CLASS = class_uuid(VENDOR, "infusion-pump-v3")
IDENTITY = ["--vendor-domain", "example.com", "--class-name", "infusion-pump-v3"]
SUIT_KEY = KEYS["ed25519"]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.t = start

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += dt.timedelta(**kw)


def payload_for(seq: int, size: int = 4096) -> bytes:
    """Deterministic payload bytes for release ``seq``."""
    out = b""
    block = hashlib.sha256(f"firmware-{seq}".encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:size]


def make_envelope(seq: int, payload: bytes, *, key: object = None, class_id: bytes = CLASS) -> bytes:
    """A signed SUIT envelope (download-and-install shape) for ``payload``."""
    digest, size = hash_stream([payload])
    comp = ComponentSpec((b"\x00",), (ImageSpec(digest, size, uri=f"https://fw.example.com/{seq}.bin"),), VENDOR, class_id)
    manifest, severed = build_manifest(ManifestSpec(seq, (comp,)))
    signer = (key or SUIT_KEY).signer()  # type: ignore[attr-defined]
    return assemble_envelope(manifest, [signer], severed=severed)


@dataclass
class Release:
    seq: int
    envelope: Path
    payload: Path


def write_release(directory: Path, seq: int, size: int = 4096) -> Release:
    directory.mkdir(parents=True, exist_ok=True)
    data = payload_for(seq, size)
    pay = directory / f"fw-{seq}.bin"
    pay.write_bytes(data)
    env = directory / f"fw-{seq}.suit"
    env.write_bytes(make_envelope(seq, data))
    return Release(seq, env, pay)


def new_repo(directory: Path, clock: Clock, *, targets_keys: int = 1, targets_threshold: int = 1, bin_bits: int = 0) -> Repository:
    """A repository with generated keys (all online), root v1 published."""
    keys: dict[str, list[KeyRef]] = {}
    for role in ("root", "snapshot", "timestamp"):
        keys[role] = [generate_key(directory, f"{role}-1")]
    keys["targets"] = [generate_key(directory, f"targets-{i + 1}") for i in range(targets_keys)]
    bin_keys = [generate_key(directory, "bins-1")] if bin_bits else []
    repo = Repository.create(directory, keys, {"targets": targets_threshold}, bin_bits=bin_bits, bin_keys=bin_keys, now=clock)
    repo.publish()
    return Repository(directory, now=clock)


def add_and_publish(repo_dir: Path, clock: Clock, release: Release) -> None:
    repo = Repository(repo_dir, now=clock)
    add_release(repo, release.envelope.read_bytes(), [SUIT_KEY.trusted], payload=release.payload)
    repo.save()
    repo.publish()


def suit_pub(directory: Path) -> Path:
    path = directory / "suit.pub.pem"
    path.write_bytes(public_pem(SUIT_KEY.trusted.key))
    return path


@contextlib.contextmanager
def served(directory: Path) -> Iterator[str]:
    server, url = serve_in_thread(directory)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def fwsign(*args: str | Path) -> Ran:
    """Run the fwsign CLI in this process (exit code and output as a user sees them)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run([str(a) for a in args])
    return Ran(code, out.getvalue(), err.getvalue())


def update_args(url: str, repo_dir: Path, work: Path, current: int, *, now: dt.datetime | None = T0, cache: bool = True,
                root: Path | None = None) -> list[str | Path]:
    args: list[str | Path] = ["update", "--repo", url, "--trusted-root", root or repo_dir / "trusted-root.json", *IDENTITY,
                              "--current-sequence", str(current), "--suit-key", suit_pub(work), "--out", work / "out"]
    if cache:
        args += ["--cache", work / "cache"]
    if now is not None:
        args += ["--now", (now + dt.timedelta(hours=1)).isoformat()]
    return args


def out_is_empty(work: Path) -> bool:
    out = work / "out"
    return not out.exists() or not os.listdir(out)
