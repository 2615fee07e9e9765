"""``fwsign device update``: the TUF client fetches the newest release, the device's C boot
flow verifies and installs it; an update that is already installed is exit 3."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tuf_helpers import IDENTITY, T0, Clock, add_and_publish, fwsign, new_repo, served, suit_pub, write_release


def test_device_update_from_tuf_repository(tmp_path: Path) -> None:
    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 1))
    dev = tmp_path / "dev"
    r = fwsign("device", "create", dev, "--trust", suit_pub(tmp_path), *IDENTITY,
               "--trusted-root", repo_dir / "trusted-root.json")
    assert r.code == 0, r.err
    now = (T0.replace(hour=13)).isoformat()
    with served(repo_dir) as url:
        r = fwsign("device", "update", dev, "--repo", url, "--now", now, "--boot", "--json")
        assert r.code == 0, r.err
        out = json.loads(r.out)
        assert out["updated"] and out["boot"]["sequence"] == 1 and out["boot"]["confirmed"]
        r = fwsign("device", "update", dev, "--repo", url, "--now", now)
        assert r.code == 3, r.err  # up to date
        add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 2))
        r = fwsign("device", "update", dev, "--repo", url, "--now", now, "--cut-after", "3")
        assert r.code == 1 and "power-cut" in r.err
        assert json.loads(fwsign("device", "boot", dev, "--json").out)["sequence"] == 1
        r = fwsign("device", "update", dev, "--repo", url, "--now", now, "--boot")
        assert r.code == 0, r.err
    st = json.loads(fwsign("device", "status", dev, "--json").out)
    assert st["counter"] == 2 and st["last_boot"]["sequence"] == 2


def test_device_update_obeys_the_signed_rollout(tmp_path: Path) -> None:
    """Two simulated devices under a 50% -> 100% rollout calibrated to them: one installs per stage."""
    import datetime as dt
    import uuid

    from fwsign.repo import rollout as R
    from fwsign.repo.repository import Repository
    from fwsign.repo.signing import generate_key
    from tests.tuf_helpers import CLASS

    clock = Clock()
    repo_dir = tmp_path / "repo"
    new_repo(repo_dir, clock)
    add_and_publish(repo_dir, clock, write_release(tmp_path / "rel", 1))
    ids = [uuid.uuid5(uuid.NAMESPACE_URL, f"https://devices.example.com/pump/{i}").bytes for i in range(2)]
    repo = Repository(repo_dir, now=clock)
    R.delegate_role(repo, [generate_key(repo_dir, "rollout-1")])
    repo.save()
    repo.publish()
    repo = Repository(repo_dir, now=clock)
    r = R.start(repo, CLASS, 1, [50, 100], 3600, 0, int(T0.timestamp()), fleet=ids)
    repo.save()
    repo.publish()
    devs = []
    for i, did in enumerate(ids):
        dev = tmp_path / f"dev{i}"
        assert fwsign("device", "create", dev, "--trust", suit_pub(tmp_path), *IDENTITY, "--device-id",
                      str(uuid.UUID(bytes=did)), "--trusted-root", repo_dir / "trusted-root.json").code == 0
        devs.append(dev)
    first = [R.cohort(bytes.fromhex(r.salt), d) < r.stages[0].bound for d in ids]
    assert sorted(first) == [False, True]
    with served(repo_dir) as url:
        stage1 = (T0 + dt.timedelta(minutes=30)).isoformat()
        for dev, inside in zip(devs, first, strict=True):
            res = fwsign("device", "update", dev, "--repo", url, "--now", stage1, "--json")
            assert res.code == (0 if inside else 3), res.out + res.err
            assert json.loads(res.out)["updated"] is inside
            if not inside:
                assert json.loads(res.out)["held"] and json.loads(res.out)["rollout"]["percent"] == 50
        stage2 = (T0 + dt.timedelta(minutes=90)).isoformat()
        held = devs[first.index(False)]
        res = fwsign("device", "update", held, "--repo", url, "--now", stage2, "--json")
        assert res.code == 0 and json.loads(res.out)["updated"], res.out + res.err
