"""End to end over real HTTP on loopback: init -> sign -> add -> publish -> serve -> update."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from fwsign.client import CountingFetcher, fetch_update
from fwsign.errors import FwsignError
from fwsign.repo.layout import latest_path
from fwsign.repo.repository import Repository
from fwsign.repo.signing import generate_key
from tests.tuf_helpers import (
    CLASS,
    IDENTITY,
    SUIT_KEY,
    T0,
    VENDOR,
    Clock,
    Release,
    add_and_publish,
    fwsign,
    make_envelope,
    new_repo,
    out_is_empty,
    payload_for,
    served,
    suit_pub,
    update_args,
    write_release,
)


def test_end_to_end_cli_two_releases(tmp_path: Path, cli: Callable[..., object]) -> None:
    """The user's path, every step a real `fwsign` process, the client over HTTP."""
    (tmp_path / "fw.bin").write_bytes(payload_for(7))
    r = cli("keygen", "-o", "rel")
    assert r.code == 0  # type: ignore[attr-defined]
    r = cli("repo", "init", "repo")
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert (tmp_path / "repo/public/metadata/1.root.json").is_file()
    assert (tmp_path / "repo/keys/root-1.pem").stat().st_mode & 0o777 == 0o600
    for seq in (7, 9):
        (tmp_path / f"fw{seq}.bin").write_bytes(payload_for(seq))
        r = cli("sign", f"fw{seq}.bin", "-k", "rel.pem", "--sequence", str(seq), *IDENTITY, "--uri", "https://x/fw.bin",
                "-o", f"fw{seq}.suit")
        assert r.code == 0, r.err  # type: ignore[attr-defined]
    r = cli("repo", "add", "repo", "fw7.suit", "--payload", "fw7.bin", "--suit-key", "rel.pub.pem")
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    r = cli("repo", "publish", "repo", "--json")
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    assert json.loads(r.out)["versions"]["targets"] == 2  # type: ignore[attr-defined]
    args = ["update", "--trusted-root", "repo/trusted-root.json", *IDENTITY, "--suit-key", "rel.pub.pem",
            "--out", "out", "--cache", "cache", "--json"]
    with served(tmp_path / "repo") as url:
        r = cli(*args, "--repo", url, "--current-sequence", "3")
        assert r.code == 0, r.err  # type: ignore[attr-defined]
        report = json.loads(r.out)  # type: ignore[attr-defined]
        assert report["status"] == "updated" and report["sequence"] == 7
        assert (tmp_path / "out/firmware-7.bin").read_bytes() == payload_for(7)
        r = cli(*args, "--repo", url, "--current-sequence", "7")
        assert r.code == 3, r.err  # type: ignore[attr-defined]
        # The second, later release.
        r = cli("repo", "add", "repo", "fw9.suit", "--payload", "fw9.bin", "--suit-key", "rel.pub.pem", "--publish")
        assert r.code == 0, r.err  # type: ignore[attr-defined]
        r = cli(*args, "--repo", url, "--current-sequence", "7")
        assert r.code == 0, r.err  # type: ignore[attr-defined]
        assert json.loads(r.out)["sequence"] == 9  # type: ignore[attr-defined]
        assert (tmp_path / "out/firmware-9.suit").read_bytes() == (tmp_path / "fw9.suit").read_bytes()
    r = cli("repo", "status", "repo", "--json")
    st = json.loads(r.out)  # type: ignore[attr-defined]
    assert {x["role"]: x["version"] for x in st["roles"]} == {"root": 1, "targets": 3, "snapshot": 3, "timestamp": 3}


def test_library_entry_point_and_warm_cache(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 4))
    root = (repo_dir / "trusted-root.json").read_bytes()
    with served(repo_dir) as url:
        cold = CountingFetcher()
        res = fetch_update(url, root, VENDOR, CLASS, 1, [SUIT_KEY.trusted], tmp_path / "out", cache_dir=tmp_path / "cache",
                           now=T0, fetcher=cold)
        assert res.updated and res.sequence == 4 and res.payload_path is not None
        assert res.payload_path.read_bytes() == payload_for(4)
        assert res.report is not None and res.report.valid
        assert res.as_dict()["status"] == "updated"
        warm = CountingFetcher()
        res2 = fetch_update(url, root, VENDOR, CLASS, 4, [SUIT_KEY.trusted], tmp_path / "out2", cache_dir=tmp_path / "cache",
                            now=T0, fetcher=warm)
        assert not res2.updated and res2.sequence == 4
        # A warm client with nothing new fetches only timestamp (and probes for the next root).
        assert warm.total < cold.total / 4
        assert not (tmp_path / "out2").exists()


def test_no_release_for_class_is_up_to_date(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    with served(repo_dir) as url:
        r = fwsign(*update_args(url, repo_dir, tmp_path, 0))
    assert r.code == 3 and "no release" in r.out
    assert out_is_empty(tmp_path)


def test_interop_plain_python_tuf_ngclient(tmp_path: Path) -> None:
    """A client written only with python-tuf consumes an fwsign repository (classes delegated, bins)."""
    import datetime as dt

    from tuf.ngclient import Updater

    clock = Clock()
    repo_dir = tmp_path / "repo"
    repo = new_repo(repo_dir, clock)
    repo.delegate_class("pump", CLASS, [generate_key(repo_dir, "pump-1")], 1, bin_bits=3)
    repo.save()
    repo.publish()
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 12))
    with served(repo_dir) as url:
        up = Updater(str(tmp_path / "meta"), url + "metadata/", str(tmp_path / "dl"), url + "targets/",
                     bootstrap=(repo_dir / "public/metadata/1.root.json").read_bytes())
        up._trusted_set.reference_time = T0 + dt.timedelta(hours=1)  # the repository was built at T0
        up.refresh()
        info = up.get_targetinfo(latest_path(CLASS))
        assert info is not None
        assert info.custom["fwsign"]["sequence"] == 12
        path = up.download_target(info)
        assert Path(path).read_bytes() == (tmp_path / "rel/fw-12.suit").read_bytes()
        assert Repository(repo_dir).owner_of(info.custom["fwsign"]["payload"]).startswith("pump-bins-")
        pinfo = up.get_targetinfo(info.custom["fwsign"]["payload"])
        assert pinfo is not None and Path(up.download_target(pinfo)).read_bytes() == payload_for(12)


def test_root_rotation_client_with_root_v1(tmp_path: Path) -> None:
    """Two root rotations (root key replaced twice, timestamp key once); a v1 client still updates."""
    clock = Clock()
    repo_dir = tmp_path / "repo"
    repo = new_repo(repo_dir, clock)
    v1 = tmp_path / "root-v1.json"
    shutil.copy(repo_dir / "trusted-root.json", v1)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 2))
    for n in (2, 3):
        clock.advance(hours=1)
        repo = Repository(repo_dir, now=clock)
        old = repo.current("root").signed.roles["root"].keyids[0]
        repo.rotate("root", add=[generate_key(repo_dir, f"root-{n}")], remove=[old])
        if n == 2:
            old_ts = repo.current("root").signed.roles["timestamp"].keyids[0]
            repo.rotate("timestamp", add=[generate_key(repo_dir, "timestamp-2")], remove=[old_ts])
        res = repo.publish()
        assert res.versions["root"] == n
    assert sorted(Repository(repo_dir).root_versions()) == [1, 2, 3]
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 5))
    with served(repo_dir) as url:
        r = fwsign(*update_args(url, repo_dir, tmp_path, 2, now=clock.t, root=v1))
    assert r.code == 0, r.err
    assert (tmp_path / "out/firmware-5.bin").read_bytes() == payload_for(5)
    assert json.loads((repo_dir / "trusted-root.json").read_bytes())["signed"]["version"] == 3


def test_network_error_is_exit_2(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    with served(repo_dir) as url:
        pass  # the server is gone now; its port refuses connections
    r = fwsign(*update_args(url, repo_dir, tmp_path, 0))
    assert r.code == 2 and "network" in r.err
    assert out_is_empty(tmp_path)


def test_update_usage_errors(tmp_path: Path) -> None:
    r = fwsign("update", "--repo", "http://127.0.0.1:1/", "--trusted-root", tmp_path / "none.json", *IDENTITY,
               "--current-sequence", "1", "--suit-key", suit_pub(tmp_path), "--out", tmp_path / "out")
    assert r.code == 2 and "cannot read trusted root" in r.err
    (tmp_path / "bad.json").write_text("{}")
    r = fwsign("update", "--repo", "http://127.0.0.1:1/", "--trusted-root", tmp_path / "bad.json", *IDENTITY,
               "--current-sequence", "1", "--suit-key", suit_pub(tmp_path), "--out", tmp_path / "out")
    assert r.code == 2 and "trusted root" in r.err


def test_delegated_release_expiry_is_judged_by_the_clients_clock(tmp_path: Path) -> None:
    # The SUIT check after the TUF walk uses the same reference time as the TUF checks, so
    # a delegation that has expired by the client's clock is refused even if the host's
    # wall clock says otherwise (and the other way round).
    from cryptography.hazmat.primitives.asymmetric import ec

    from fwsign.delegation import Scope, attach, issue
    from fwsign.keys import make_signer, public_of

    online = ec.derive_private_key(0x5EED, ec.SECP256R1())
    expires = int((T0 + dt.timedelta(days=10)).timestamp())
    cwt = issue(make_signer(SUIT_KEY.private), SUIT_KEY.trusted.key, public_of(online), expires=expires,  # type: ignore[arg-type]
                scope=Scope(VENDOR, frozenset({CLASS})))
    data = payload_for(7)
    rel_dir = tmp_path / "rel"
    rel_dir.mkdir()
    (rel_dir / "fw-7.bin").write_bytes(data)
    (rel_dir / "fw-7.suit").write_bytes(attach(make_envelope(7, data, key=_Signing(online)), [[cwt]]))
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    add_and_publish(repo_dir, clock, Release(7, rel_dir / "fw-7.suit", rel_dir / "fw-7.bin"))
    root = (repo_dir / "trusted-root.json").read_bytes()
    with served(repo_dir) as url:
        ok = fetch_update(url, root, VENDOR, CLASS, 1, [SUIT_KEY.trusted], tmp_path / "ok", now=T0)
        assert ok.updated and ok.sequence == 7
        with pytest.raises(FwsignError) as exc:
            # Twenty days on: the delegation has expired (the TUF metadata is refreshed first).
            later = T0 + dt.timedelta(days=20)
            clock.t = later
            Repository(repo_dir, now=clock).refresh()
            fetch_update(url, root, VENDOR, CLASS, 1, [SUIT_KEY.trusted], tmp_path / "late", now=later)
        assert exc.value.reason == "delegation-expired"
        assert not (tmp_path / "late").exists() or not any((tmp_path / "late").iterdir())


class _Signing:
    """A private key in the shape make_envelope expects (an object with .signer())."""

    def __init__(self, key: object) -> None:
        self.key = key

    def signer(self) -> object:
        from fwsign.keys import make_signer

        return make_signer(self.key)  # type: ignore[arg-type]
