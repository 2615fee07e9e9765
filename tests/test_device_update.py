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
