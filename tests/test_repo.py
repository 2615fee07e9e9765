"""The repository: init, add, publish, status, refresh, delegation, bins, threshold signing, revocation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata

from fwsign.errors import MetadataTooLarge, RepoError, ThresholdNotMet
from fwsign.keys import private_pem, public_pem
from fwsign.repo import layout as L
from fwsign.repo.releases import add_release, fwsign_custom, remove_target, set_floor
from fwsign.repo.repository import Repository
from fwsign.repo.signing import parse_key_spec
from tests.conftest import KEYS
from tests.tuf_helpers import (
    CLASS,
    IDENTITY,
    SUIT_KEY,
    T0,
    Clock,
    add_and_publish,
    fwsign,
    make_envelope,
    new_repo,
    payload_for,
    served,
    suit_pub,
    update_args,
    write_release,
)


def test_init_layout_keys_and_trusted_root(tmp_path: Path) -> None:
    r = fwsign("repo", "init", tmp_path / "r", "--root-keys", "3", "--root-threshold", "2", "--expiry", "timestamp=2", "--json")
    assert r.code == 0, r.err
    repo = Repository(tmp_path / "r")
    root = repo.current("root").signed
    assert root.consistent_snapshot
    assert len(root.roles["root"].keyids) == 3 and root.roles["root"].threshold == 2
    for p in (tmp_path / "r/keys").iterdir():
        assert p.stat().st_mode & 0o777 == 0o600
        assert p.read_bytes().decode() not in r.out + r.err  # never printed
    assert (tmp_path / "r/trusted-root.json").read_bytes() == (tmp_path / "r/public/metadata/1.root.json").read_bytes()
    assert repo.config.expiry_days["timestamp"] == 2
    ts = repo.published("timestamp")
    assert ts is not None
    left = ts.signed.expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=1) < left <= dt.timedelta(days=2)
    assert fwsign("repo", "init", tmp_path / "r").code == 2  # never over an existing repository


def test_add_refuses_invalid_or_unverifiable_envelopes(tmp_path: Path) -> None:
    clock = Clock()
    repo = new_repo(tmp_path / "r", clock)
    data = payload_for(3)
    env = make_envelope(3, data)
    with pytest.raises(Exception) as e1:  # signed by an untrusted key
        add_release(repo, env, [KEYS["p256"].trusted], payload=None)
    assert getattr(e1.value, "reason", "") == "no-trusted-key"
    with pytest.raises(Exception) as e2:  # payload does not match the manifest
        bad = tmp_path / "bad.bin"
        bad.write_bytes(data[:-1] + b"x")
        add_release(repo, env, [SUIT_KEY.trusted], payload=bad)
    assert getattr(e2.value, "reason", "") == "image-mismatch"
    with pytest.raises(Exception) as e3:  # the image must come along
        add_release(repo, env, [SUIT_KEY.trusted])
    assert getattr(e3.value, "reason", "") == "usage"
    tampered = bytearray(env)
    tampered[-5] ^= 1
    with pytest.raises(Exception) as e4:
        add_release(repo, bytes(tampered), [SUIT_KEY.trusted], payload=None)
    assert getattr(e4.value, "reason", "") in ("signature-invalid", "digest-mismatch", "malformed")
    assert repo.staged_roles() == []


def test_add_custom_metadata_and_paths(tmp_path: Path) -> None:
    clock = Clock()
    repo = new_repo(tmp_path / "r", clock)
    rel = write_release(tmp_path / "rel", 3)
    res = add_release(repo, rel.envelope.read_bytes(), [SUIT_KEY.trusted], payload=rel.payload)
    repo.save()
    assert res.envelope_path == f"{L.class_dir(CLASS)}/3.suit"
    assert res.payload_path is not None and res.payload_path.startswith(f"{L.class_dir(CLASS)}/payloads/")
    latest = repo.get_target(L.latest_path(CLASS))
    meta = fwsign_custom(latest)
    assert meta["type"] == "suit-latest" and meta["sequence"] == 3 and meta["releases"] == [3]
    assert meta["component-ids"] == [["00"]]
    assert meta["manifest-digest"].startswith("sha256:")
    assert meta["class-id"] == L.class_dir(CLASS)
    with pytest.raises(RepoError, match="already"):
        add_release(repo, rel.envelope.read_bytes(), [SUIT_KEY.trusted], payload=rel.payload)
    res = repo.publish()
    assert res.published and res.versions == {"targets": 2, "snapshot": 2, "timestamp": 2}
    # An older release is kept but does not move latest.
    old = write_release(tmp_path / "rel", 2)
    res2 = add_release(Repository(tmp_path / "r", now=clock), old.envelope.read_bytes(), [SUIT_KEY.trusted], payload=old.payload)
    assert not res2.latest


def test_publish_bumps_only_changed_roles_and_is_atomic_on_failure(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "r"
    new_repo(repo_dir, clock, bin_bits=4)
    before = {p.name for p in (repo_dir / "public" / "metadata").iterdir()}
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 3))
    new = {p.name for p in (repo_dir / "public" / "metadata").iterdir()} - before
    # One release touches at most three bins (envelope, latest, payload), plus snapshot and timestamp.
    assert "timestamp.json" not in new and len([n for n in new if ".bins-" in n]) <= 3
    assert {n for n in new if not n.startswith("2.bins-")} == {"2.snapshot.json"}
    # A broken staged role is never written: a client check refuses it first.
    repo = Repository(repo_dir, now=clock)
    md = repo.edit("targets")
    md.signed.delegations.succinct_roles.keyids = ["00" * 32]  # type: ignore[union-attr]
    repo.save()
    snapshot = sorted((repo_dir / "public" / "metadata").iterdir())
    with pytest.raises((RepoError, ThresholdNotMet)):
        Repository(repo_dir, now=clock).publish()
    assert sorted((repo_dir / "public" / "metadata").iterdir()) == snapshot


def test_status_json_and_warnings(tmp_path: Path) -> None:
    clock = Clock()
    repo = new_repo(tmp_path / "r", clock)
    st = repo.status(warn_days=7)
    assert [r["role"] for r in st["roles"]] == ["root", "targets", "snapshot", "timestamp"]
    assert st["warnings"] == []
    clock.advance(hours=20)
    st = Repository(tmp_path / "r", now=clock).status(warn_days=7)
    assert any("timestamp expires" in w for w in st["warnings"])
    clock.advance(days=360)
    st = Repository(tmp_path / "r", now=clock).status(warn_days=7)
    assert any("root expires" in w for w in st["warnings"]) and any("timestamp EXPIRED" in w for w in st["warnings"])
    r = fwsign("repo", "status", tmp_path / "r", "--json")
    assert r.code == 0 and json.loads(r.out)["roles"][0]["threshold"] == 1


def test_refresh_resigns_online_roles(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "r"
    new_repo(repo_dir, clock)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 3))
    clock.advance(hours=23)
    res = Repository(repo_dir, now=clock).refresh()
    assert set(res.versions) == {"snapshot", "timestamp"}
    clock.advance(hours=2)  # past the first timestamp's expiry; the refreshed one is valid
    with served(repo_dir) as url:
        r = fwsign(*update_args(url, repo_dir, tmp_path, 1, now=clock.t))
    assert r.code == 0, r.err
    clock.advance(days=360)
    res = Repository(repo_dir, now=clock).refresh(within_days=7)
    assert "targets" in res.versions and "root" not in res.versions


def test_threshold_signing_with_offline_keys(tmp_path: Path) -> None:
    """targets needs 2 of 2 offline keys; each holder signs the pending version in turn."""
    keys = []
    for i, kind in enumerate(("ed25519", "p256")):
        priv, pub = tmp_path / f"t{i}.pem", tmp_path / f"t{i}.pub.pem"
        priv.write_bytes(private_pem(KEYS[kind].private))  # type: ignore[arg-type]
        pub.write_bytes(public_pem(KEYS[kind].trusted.key))
        keys.append((priv, pub))
    r = fwsign("repo", "init", tmp_path / "r", "--targets-key", keys[0][1], "--targets-key", keys[1][1], "--targets-threshold", "2")
    assert r.code == 1 and "pending" in r.err and "2 more signature" in r.err
    assert not (tmp_path / "r/public/metadata/1.root.json").exists()
    r = fwsign("repo", "sign", tmp_path / "r", "targets", "--key", keys[0][0])
    assert r.code == 0 and "still pending" in r.out and "1 more signature" in r.out
    r = fwsign("repo", "sign", tmp_path / "r", "targets", "--key", keys[0][0])  # the same holder again does not count twice
    assert "still pending" in r.out
    r = fwsign("repo", "sign", tmp_path / "r", "root", "--key", keys[0][0])
    assert r.code == 2 and "not a key of role root" in r.err
    r = fwsign("repo", "sign", tmp_path / "r", "targets", "--key", keys[1][0])
    assert r.code == 0 and "published" in r.out, r.out + r.err
    targets = Metadata.from_bytes((tmp_path / "r/public/metadata/1.targets.json").read_bytes())
    assert len(targets.signatures) == 2
    # A release then waits for both holders again.
    rel = write_release(tmp_path / "rel", 4)
    r = fwsign("repo", "add", tmp_path / "r", rel.envelope, "--payload", rel.payload, "--suit-key", suit_pub(tmp_path), "--publish")
    assert r.code == 1 and "threshold-not-met" in r.err
    assert Repository(tmp_path / "r").staged_roles() == ["targets"]


def test_root_rotation_needs_old_and_new_threshold(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "r"
    repo = new_repo(repo_dir, clock)
    offline = tmp_path / "new-root.pem"
    offline.write_bytes(private_pem(KEYS["ed25519"].private))  # type: ignore[arg-type]
    pub = tmp_path / "new-root.pub.pem"
    pub.write_bytes(public_pem(KEYS["ed25519"].trusted.key))
    r = fwsign("repo", "rotate", repo_dir, "root", "--add-key", pub, "--threshold", "2")
    assert r.code == 0, r.err
    r = fwsign("repo", "publish", repo_dir)
    assert r.code == 1 and "root v2" in r.err
    r = fwsign("repo", "sign", repo_dir, "root", "--key", offline)
    assert r.code == 0 and "published" in r.out, r.out + r.err
    assert Repository(repo_dir).root_versions() == [1, 2]
    del repo


def test_delegate_class_with_bins_and_remove_and_revoke(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "r"
    repo = new_repo(repo_dir, clock)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 3))  # before the delegation: moved over
    r = fwsign("repo", "delegate", repo_dir, *IDENTITY, "--role", "pump", "--bins", "8")
    assert r.code == 0, r.err
    repo = Repository(repo_dir, now=clock)
    repo.publish()
    repo = Repository(repo_dir, now=clock)
    assert repo.owner_of(L.latest_path(CLASS)).startswith("pump-bins-")
    assert repo.published("targets").signed.targets == {}  # type: ignore[union-attr]
    for seq in (4, 5):
        add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", seq))
    repo = Repository(repo_dir, now=clock)
    assert fwsign_custom(repo.get_target(L.latest_path(CLASS)))["releases"] == [3, 4, 5]
    # Revoke release 5: latest falls back to 4.
    removed = remove_target(repo, f"{L.class_dir(CLASS)}/5.suit")
    assert len(removed) == 2
    set_floor(repo, CLASS, 4)
    repo.save()
    repo.publish()
    with served(repo_dir) as url:
        r = fwsign(*update_args(url, repo_dir, tmp_path, 1))
    assert r.code == 0, r.err
    assert (tmp_path / "out/firmware-4.bin").read_bytes() == payload_for(4)
    repo = Repository(repo_dir, now=clock)
    latest = fwsign_custom(repo.get_target(L.latest_path(CLASS)))
    assert latest["sequence"] == 4 and latest["min-sequence"] == 4 and latest["releases"] == [3, 4]
    with pytest.raises(RepoError, match="below the class's revocation floor"):
        rel = write_release(tmp_path / "rel", 2)
        add_release(repo, rel.envelope.read_bytes(), [SUIT_KEY.trusted], payload=rel.payload)
    with pytest.raises(RepoError, match="add a newer release"):
        set_floor(repo, CLASS, 9)
    r = fwsign("repo", "remove", repo_dir, L.latest_path(CLASS))
    assert r.code == 2 and "latest pointer" in r.err


def test_class_delegation_signed_by_product_team_key(tmp_path: Path) -> None:
    """A class role signed by a product team: top-level targets keys never sign its releases."""
    clock = Clock()
    repo_dir = tmp_path / "r"
    repo = new_repo(repo_dir, clock)
    team_pem = tmp_path / "team.pem"
    team_pem.write_bytes(private_pem(KEYS["p256"].private))  # type: ignore[arg-type]
    team = parse_key_spec(str(team_pem), repo_dir, "pump")  # a P-256 key the product team holds
    repo.delegate_class("pump", CLASS, [team], 1)
    repo.save()
    repo.publish()
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 3))
    md = Metadata.from_bytes(next((repo_dir / "public" / "metadata").glob("2.pump.json")).read_bytes())
    assert list(md.signatures) == [team.keyid]


def test_bin_sizing_and_limits(tmp_path: Path) -> None:
    assert 2 ** L.bin_bits_for(10_000) == 256
    assert 2 ** L.bin_bits_for(100_000) == 1024
    # sqrt(1M x 227 / 29) = 2797: 2048 bins cost 170 KB in the model, 4096 bins 174 KB.
    assert 2 ** L.bin_bits_for(1_000_000) == 2048
    assert L.bin_bits_for(1) == 1
    assert L.bits_of_count(16) == 4
    with pytest.raises(ValueError):
        L.bits_of_count(12)
    assert L.size_warning("targets", "targets", 4_500_000) is not None
    assert L.size_warning("targets", "targets", 1_000) is None
    r = fwsign("repo", "init", tmp_path / "r", "--bins", "auto", "--expected-targets", "2000")
    assert r.code == 0, r.err
    d = Repository(tmp_path / "r").current("targets").signed.delegations
    assert d.succinct_roles.number_of_bins == 128
    r = fwsign("repo", "init", tmp_path / "r2", "--bins", "12")
    assert r.code == 2 and "power of two" in r.err


def test_flat_targets_over_client_limit_is_refused(tmp_path: Path) -> None:
    """A flat targets.json past python-tuf's 5 MB default would lock every client out: refused."""
    clock = Clock()
    repo_dir = tmp_path / "r"
    repo = new_repo(repo_dir, clock)
    md = repo.edit("targets")
    from tuf.api.metadata import TargetFile

    big = {"fwsign": {"pad": "x" * 200}}
    for i in range(22_000):
        tf = TargetFile(1, {"sha256": f"{i:064x}"}, f"{L.class_dir(CLASS)}/{i}.suit", {"custom": big})
        md.signed.targets[tf.path] = tf
    repo.save()
    with pytest.raises(MetadataTooLarge, match="hash bins"):
        Repository(repo_dir, now=clock).publish()
    assert not (repo_dir / "public/metadata/2.targets.json").exists()


def test_serve_only_metadata_and_targets(tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    repo_dir = tmp_path / "r"
    new_repo(repo_dir, Clock())
    with served(repo_dir) as url:
        assert urllib.request.urlopen(url + "metadata/1.root.json").status == 200
        for path in ("repo.json", "keys/root-1.pem", "staged/", "metadata/", "metadata/../repo.json"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(url + path)
            assert e.value.code == 404


def test_repo_usage_errors(tmp_path: Path) -> None:
    assert fwsign("repo", "status", tmp_path / "none").code == 2
    assert fwsign("repo").code == 2
    r = fwsign("repo", "init", tmp_path / "r", "--expiry", "root=x")
    assert r.code == 2 and "ROLE=DAYS" in r.err
    r = fwsign("repo", "init", tmp_path / "r", "--targets-threshold", "2")
    assert r.code == 2 and "threshold" in r.err
    assert T0.year == 2030


def test_offline_class_key_signs_pending_release(tmp_path: Path) -> None:
    """The product team's key is offline: releases of its class wait for `repo sign` by the team."""
    repo_dir = tmp_path / "r"
    assert fwsign("repo", "init", repo_dir).code == 0
    team_priv, team_pub = tmp_path / "team.pem", tmp_path / "team.pub.pem"
    team_priv.write_bytes(private_pem(KEYS["p256"].private))  # type: ignore[arg-type]
    team_pub.write_bytes(public_pem(KEYS["p256"].trusted.key))
    assert fwsign("repo", "delegate", repo_dir, *IDENTITY, "--role", "pump", "--key", team_pub).code == 0
    r = fwsign("repo", "publish", repo_dir)
    assert r.code == 1 and "pump v1" in r.err
    r = fwsign("repo", "sign", repo_dir, "pump", "--key", team_priv)
    assert r.code == 0 and "published" in r.out and "pump v1" in r.out
    rel = write_release(tmp_path / "rel", 8)
    r = fwsign("repo", "add", repo_dir, rel.envelope, "--payload", rel.payload, "--suit-key", suit_pub(tmp_path), "--publish")
    assert r.code == 1 and "pump v2" in r.err
    r = fwsign("repo", "sign", repo_dir, "pump", "--key", team_priv)
    assert r.code == 0 and "published" in r.out, r.out + r.err
    st = json.loads(fwsign("repo", "status", repo_dir, "--json").out)
    pump = next(x for x in st["roles"] if x["role"] == "pump")
    assert pump["version"] == 2 and pump["keys"][0]["signer"] == "offline" and pump["targets"] == 3
    r = fwsign("repo", "refresh", repo_dir, "--json")
    assert r.code == 0 and set(json.loads(r.out)["versions"]) == {"snapshot", "timestamp"}


def test_update_json_and_one_line_error_on_rejection(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "r"
    new_repo(repo_dir, clock)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 3))
    with served(repo_dir) as url:
        r = fwsign(*update_args(url, repo_dir, tmp_path, 1, now=T0 + dt.timedelta(days=3)), "--json")
    assert r.code == 1 and r.out == "" and r.err.startswith("fwsign: tuf-expired: ")
    with served(repo_dir) as url:
        r = fwsign(*update_args(url, repo_dir, tmp_path, 3), "--json")
    assert r.code == 3 and json.loads(r.out)["status"] == "up-to-date"
