"""Auto-halt end to end: a staged rollout started with halt rules, devices reporting over
loopback HTTP, a cohort whose trial boots fail, and the collector publishing the rollout
role's signed halt; devices not yet updated are then held on their release."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

from tuf.api.metadata import Metadata  # type: ignore[attr-defined]

from fwsign.fleet.db import Database
from fwsign.repo import rollout as R
from fwsign.repo.repository import Repository
from tests.fleet_support import Collector, Dev, make_devices, register
from tests.tuf_helpers import CLASS, IDENTITY, fwsign, served, suit_pub, write_release

CLS = str(uuid.UUID(bytes=CLASS))


def test_failing_cohort_trips_the_rule_and_the_collector_publishes_a_signed_halt(tmp_path: Path) -> None:
    repo_dir = tmp_path / "repo"
    assert fwsign("repo", "init", repo_dir).code == 0
    rels = {s: write_release(tmp_path / "rel", s) for s in (4, 5)}
    for s in (4, 5):
        r = fwsign("repo", "add", repo_dir, rels[s].envelope, "--payload", rels[s].payload, "--suit-key",
                   suit_pub(tmp_path), "--publish")
        assert r.code == 0, r.err
    assert fwsign("rollout", "init", repo_dir).code == 0
    devs = make_devices(40, CLS)
    (tmp_path / "fleet.txt").write_text("\n".join(d.device_id for d in devs) + "\n")
    r = fwsign("rollout", "start", repo_dir, CLS, "5", "--stages", "50,100", "--every", "24h", "--fleet",
               tmp_path / "fleet.txt", "--halt-above", "5%", "--halt-on", "reverted", "--min-devices", "10",
               "--report-timeout", "2h")
    assert r.code == 0, r.err
    assert fwsign("rollout", "start", repo_dir, CLS, "5", "--halt-on", "reverted").code == 2  # needs --halt-above
    ro = R.load(Repository(repo_dir), CLASS)
    assert ro is not None and ro.halt_rules == (R.HaltRule("reverted", 5, 10, 7200),)

    dbp = str(tmp_path / "fleet.sqlite")
    db = Database(dbp)
    db.migrate()
    register(db, devs)
    env = {s: rels[s].envelope.read_bytes() for s in (4, 5)}
    db.add_release(CLS, 4, env[4], available_at=0)
    db.add_release(CLS, 5, env[5])
    admitted = [d for d in devs if R.cohort(bytes.fromhex(ro.salt), uuid.UUID(d.device_id).bytes) < ro.stages[0].bound]
    waiting = [d for d in devs if d not in admitted]
    assert len(admitted) == 20

    c = Collector(dbp, tmp_path, "--repo", str(repo_dir), "--rollout-key", str(repo_dir / "keys" / "rollout-1.pem"),
                  "--halt-interval", "0.3")
    try:
        def post(d: Dev, body: bytes) -> None:
            code, out = c.post(d.device_id, body)
            assert code == 201, out

        for d in devs:
            post(d, d.boot(env[4]))
        for d in admitted[:16]:  # downloads alone never count: installed on the boot report only
            post(d, d.report(env[5]))
            post(d, d.boot(env[5]))
        time.sleep(1.0)
        assert not R.load(Repository(repo_dir), CLASS).halted  # type: ignore[union-attr]  # 0 of 16 reverted
        for d in admitted[16:18]:  # trial boot fails its health check: the device falls back to 4
            post(d, d.report(env[5]))
            post(d, d.boot(env[5]))
            post(d, d.boot(env[4]))
        deadline = time.monotonic() + 60
        while not R.load(Repository(repo_dir), CLASS).halted:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, (tmp_path / f"collector-{c.port}.log").read_text()
            time.sleep(0.2)
        fig = c.status_json()
    finally:
        c.stop()
    assert fig["halts"][0]["release"] == 5 and "reverted above 5%" in fig["halts"][0]["rule"]
    assert fig["classes"][CLS]["totals"]["reverted"] == 2

    # the halt is published, signed by the rollout role's key, and says which rule fired
    repo = Repository(repo_dir)
    halted = R.load(repo, CLASS)
    assert halted is not None and halted.halted and halted.halted_by is not None
    m = re.search(r"fired: (\d+) of (\d+) devices that reached an outcome", halted.halted_by)
    assert m is not None and "reverted above 5%" in halted.halted_by, halted.halted_by
    failed, reached = int(m.group(1)), int(m.group(2))
    assert 1 <= failed <= 2 and reached >= 10 and failed * 100 > 5 * reached  # fired on the first or second revert
    top = Metadata.from_file(str(_newest(repo_dir, "targets")))
    role_md = Metadata.from_file(str(_newest(repo_dir, "rollout")))
    top.verify_delegate("rollout", role_md)  # raises unless the rollout key's signature is there
    assert any(p.startswith("rollouts/") for p in role_md.signed.targets)
    r = fwsign("rollout", "status", repo_dir, CLS)
    assert r.code == 0 and "halted by: rule 'reverted above 5%" in r.out, r.out

    # devices not yet updated stay on their release: the halt holds back both cohorts
    with served(repo_dir) as url:
        for d in (admitted[18], waiting[0]):
            r = fwsign("update", "--repo", url, "--trusted-root", repo_dir / "trusted-root.json", *IDENTITY,
                       "--current-sequence", "4", "--suit-key", suit_pub(tmp_path), "--json",
                       "--out", tmp_path / f"out-{d.device_id}", "--device-id", d.device_id)
            assert r.code == 3 and json.loads(r.out)["status"] == "held", r.out + r.err
            assert not (tmp_path / f"out-{d.device_id}").exists()


def _newest(repo_dir: Path, role: str) -> Path:
    files = sorted((repo_dir / "public" / "metadata").glob(f"*.{role}.json"), key=lambda p: int(p.name.split(".")[0]))
    return files[-1]
