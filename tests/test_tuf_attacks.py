"""The TUF attacks (and a SUIT-level rollback), each against `fwsign update` over loopback HTTP.

Every test builds a repository at the fixed time T0, lets a device update once where the
attack needs a device that has seen newer metadata, then plays the attacker on the
server's files, and expects exit 1, a one-line reason, and nothing in the output dir.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from securesystemslib.signer import CryptoSigner, Signer
from tuf.api.metadata import Metadata, MetaFile, TargetFile

from fwsign.repo.layout import latest_path
from fwsign.repo.releases import CUSTOM, fwsign_custom
from fwsign.repo.repository import SERIALIZER, Repository
from fwsign.repo.signing import load_signer
from tests.conftest import KEYS
from tests.tuf_helpers import (
    CLASS,
    T0,
    Clock,
    Ran,
    add_and_publish,
    fwsign,
    make_envelope,
    new_repo,
    out_is_empty,
    payload_for,
    served,
    update_args,
    write_release,
)


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 5))
    return {"clock": clock, "repo": repo_dir, "work": tmp_path / "device"}


def update(world: dict[str, Any], current: int = 1, now: dt.datetime | None = None) -> Ran:
    work: Path = world["work"]
    work.mkdir(exist_ok=True)
    with served(world["repo"]) as url:
        return fwsign(*update_args(url, world["repo"], work, current, now=now or world["clock"].t))


def rejected(r: Ran, world: dict[str, Any], *reasons: str) -> None:
    assert r.code == 1, (r.code, r.out, r.err)
    assert r.err.startswith("fwsign: ") and r.err.count("\n") == 1, r.err
    assert any(f"fwsign: {reason}" in r.err for reason in reasons), r.err
    assert out_is_empty(world["work"])


def stored(repo_dir: Path, path: str) -> Path:
    """The on-disk file a client downloads for target ``path``."""
    repo = Repository(repo_dir)
    tf = repo.get_target(path)
    assert tf is not None
    return repo.layout.target_file(path, tf.hashes["sha256"])


def signer_for(repo_dir: Path, role: str, index: int = 0) -> Signer:
    repo = Repository(repo_dir)
    root = repo.current("root").signed
    keyid = root.roles[role].keyids[index]
    return load_signer(repo.config.signers[keyid], root.keys[keyid], repo_dir)


def republish_online(repo_dir: Path, new_targets: Metadata[Any], clock: Clock) -> None:
    """What an attacker holding the online keys does: a new snapshot and timestamp for forged targets."""
    md = repo_dir / "public" / "metadata"
    ts = Metadata.from_bytes((md / "timestamp.json").read_bytes())
    snap = Metadata.from_bytes((md / f"{ts.signed.snapshot_meta.version}.snapshot.json").read_bytes())
    (md / f"{new_targets.signed.version}.targets.json").write_bytes(new_targets.to_bytes(SERIALIZER))
    snap.signed.version += 1
    snap.signed.meta["targets.json"] = MetaFile(version=new_targets.signed.version)
    snap.signatures.clear()
    snap.sign(signer_for(repo_dir, "snapshot"))
    snap_bytes = snap.to_bytes(SERIALIZER)
    (md / f"{snap.signed.version}.snapshot.json").write_bytes(snap_bytes)
    ts.signed.version += 1
    ts.signed.snapshot_meta = MetaFile(version=snap.signed.version, length=len(snap_bytes))
    ts.signatures.clear()
    ts.sign(signer_for(repo_dir, "timestamp"))
    (md / "timestamp.json").write_bytes(ts.to_bytes(SERIALIZER))


def forged_targets(repo_dir: Path, evil: bytes, attacker_dir: Path) -> Metadata[Any]:
    """Current targets, next version, with latest.suit pointing at ``evil`` (unsigned)."""
    repo = Repository(repo_dir)
    pub = repo.published("targets")
    assert pub is not None
    forged = Metadata.from_bytes(pub.to_bytes(SERIALIZER))
    forged.signed.version += 1
    path = latest_path(CLASS)
    tf = TargetFile.from_data(path, evil, ["sha256"])
    tf.unrecognized_fields["custom"] = {CUSTOM: {**fwsign_custom(pub.signed.targets[path]), "sequence": 99, "payload": None}}
    forged.signed.targets[path] = tf
    dest = repo.layout.target_file(path, tf.hashes["sha256"])
    dest.write_bytes(evil)
    forged.signatures.clear()
    return forged


def evil_envelope() -> bytes:
    # Signed by a key the device does not trust, with a higher sequence number.
    return make_envelope(99, b"malware" * 100, key=KEYS["p256"])


# -- arbitrary software ---------------------------------------------------------------


def test_arbitrary_software_target_not_in_signed_metadata(world: dict[str, Any]) -> None:
    """The attacker adds their own release to targets metadata but cannot sign it."""
    forged = forged_targets(world["repo"], evil_envelope(), world["work"])
    evil_key = CryptoSigner.generate_ed25519()
    forged.sign(evil_key)
    republish_online(world["repo"], forged, world["clock"])
    rejected(update(world), world, "tuf-signature")


def test_arbitrary_software_file_with_wrong_hash(world: dict[str, Any]) -> None:
    """The attacker replaces the release file on the server; its hash no longer matches."""
    target = stored(world["repo"], latest_path(CLASS))
    n = target.stat().st_size
    target.write_bytes(evil_envelope()[:n].ljust(n, b"\0"))  # same length: the hash check must catch it
    rejected(update(world), world, "tuf-hash-mismatch")


# -- rollback ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["timestamp", "snapshot", "targets"])
def test_rollback_attack_replays_older_metadata(world: dict[str, Any], tmp_path: Path, role: str) -> None:
    """A device that has seen version N is served version N-1 of a role (under the name it asks for)."""
    md = world["repo"] / "public" / "metadata"
    old = {p.name: p.read_bytes() for p in md.iterdir()}
    world["clock"].advance(hours=1)
    add_and_publish(world["repo"], world["clock"], write_release(tmp_path / "rel", 6))
    assert update(world, current=5).code == 0  # the device now trusts the newest versions
    shutil.rmtree(world["work"] / "out")
    ts = json.loads((md / "timestamp.json").read_bytes())["signed"]
    snap_v = ts["meta"]["snapshot.json"]["version"]
    if role == "timestamp":
        (md / "timestamp.json").write_bytes(old["timestamp.json"])
    elif role == "snapshot":
        (md / f"{snap_v}.snapshot.json").write_bytes(old[f"{snap_v - 1}.snapshot.json"])
    else:
        snap = json.loads((md / f"{snap_v}.snapshot.json").read_bytes())["signed"]
        tv = snap["meta"]["targets.json"]["version"]
        (md / f"{tv}.targets.json").write_bytes(old[f"{tv - 1}.targets.json"])
    if role == "timestamp":
        expected = "tuf-rollback"  # the cached timestamp is newer than the one served
    else:
        # Force a download of the role (a device whose cache was lost trusts only timestamp's references).
        (world["work"] / "cache" / "metadata" / f"{role}.json").unlink()
        expected = "tuf-hash-mismatch" if role == "snapshot" else "tuf-rollback"  # timestamp pins snapshot's hash
    rejected(update(world, current=1), world, expected)


# -- indefinite freeze ---------------------------------------------------------------


def test_indefinite_freeze_expired_timestamp(world: dict[str, Any]) -> None:
    """A mirror keeps serving a stale (but once valid) repository; the timestamp has expired."""
    assert update(world, current=5).code == 3  # fresh: up to date
    rejected(update(world, current=1, now=T0 + dt.timedelta(days=2)), world, "tuf-expired")


# -- endless data -------------------------------------------------------------------------


def test_endless_data_oversized_timestamp(world: dict[str, Any]) -> None:
    ts = world["repo"] / "public" / "metadata" / "timestamp.json"
    ts.write_bytes(ts.read_bytes() + b" " * 20_000)
    rejected(update(world), world, "tuf-too-large")


def test_endless_data_oversized_payload(world: dict[str, Any]) -> None:
    env = Repository(world["repo"]).get_target(latest_path(CLASS))
    assert env is not None
    pay = stored(world["repo"], fwsign_custom(env)["payload"])
    with open(pay, "ab") as fh:
        fh.write(b"\0" * 1_000_000)
    rejected(update(world), world, "tuf-too-large")


# -- mix and match -----------------------------------------------------------------------


def test_mix_and_match_snapshot_from_another_timestamp(world: dict[str, Any], tmp_path: Path) -> None:
    """The newest timestamp served with the snapshot of an older publication."""
    md = world["repo"] / "public" / "metadata"
    old_snap = {p.name: p.read_bytes() for p in md.glob("*.snapshot.json")}
    world["clock"].advance(hours=1)
    add_and_publish(world["repo"], world["clock"], write_release(tmp_path / "rel", 6))
    v = json.loads((md / "timestamp.json").read_bytes())["signed"]["meta"]["snapshot.json"]["version"]
    (md / f"{v}.snapshot.json").write_bytes(old_snap[f"{v - 1}.snapshot.json"])
    rejected(update(world), world, "tuf-hash-mismatch", "tuf-rollback")


# -- malicious mirror -------------------------------------------------------------------


def test_malicious_mirror_swaps_payload(world: dict[str, Any]) -> None:
    env = Repository(world["repo"]).get_target(latest_path(CLASS))
    assert env is not None
    pay = stored(world["repo"], fwsign_custom(env)["payload"])
    good = pay.read_bytes()
    pay.write_bytes(bytes(b ^ 0xFF for b in good[:16]) + good[16:])  # same length, other bytes
    rejected(update(world), world, "tuf-hash-mismatch")


# -- key compromise below threshold ----------------------------------------------------


def test_key_compromise_below_threshold(tmp_path: Path) -> None:
    """targets needs 2 of 2 keys; the attacker holds one targets key and the online keys."""
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock, targets_keys=2, targets_threshold=2)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 5))
    world = {"clock": clock, "repo": repo_dir, "work": tmp_path / "device"}
    forged = forged_targets(repo_dir, evil_envelope(), tmp_path)
    forged.sign(signer_for(repo_dir, "targets", 0))
    republish_online(repo_dir, forged, clock)
    rejected(update(world), world, "tuf-signature")


# -- SUIT-level rollback -------------------------------------------------------------------


@pytest.mark.parametrize("floor", [0, 8])
def test_suit_rollback_correctly_tuf_signed_older_envelope(tmp_path: Path, floor: int) -> None:
    """A correctly TUF-signed release whose SUIT sequence is older than the device's (or the floor)."""
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    repo = Repository(repo_dir, now=clock)
    old = make_envelope(7, payload_for(7))
    custom = {"type": "suit-latest", "sequence": 10, "min-sequence": floor, "payload": None}
    repo.store_file(latest_path(CLASS), data=old, custom={CUSTOM: custom})
    repo.save()
    repo.publish()
    world = {"clock": clock, "repo": repo_dir, "work": tmp_path / "device"}
    rejected(update(world, current=9 if floor == 0 else 2), world, "rollback")
