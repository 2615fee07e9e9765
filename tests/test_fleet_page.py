"""The status page in a real browser: Debian's headless Chromium (started here, driven over
the DevTools protocol) loads the collector's page for a fixture fleet with no console
error, shows the counts the database holds, and a screenshot is kept as a test artifact
(build/test-artifacts/fleet-status.png)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from fwsign.fleet.db import Database
from fwsign.fleet.ingest import check
from fwsign.repo import rollout as R
from tests.chromium_support import chromium, load_page, save_artifact
from tests.fleet_support import CLASS_A, CLASS_B, Collector, envelope, make_devices, register

E1, E2 = envelope(1), envelope(2)

READ = """JSON.stringify({
  reports: document.getElementById('report-count').textContent,
  totals: Array.from(document.querySelectorAll('th[data-total]')).map(e => [e.dataset.total, e.textContent]),
  stages: Array.from(document.querySelectorAll('tr[data-stage]')).map(r =>
      [r.dataset.class, r.dataset.stage, Array.from(r.querySelectorAll('td[data-state]')).map(c => c.textContent)]),
  svgs: document.querySelectorAll('svg').length,
  scripts: document.scripts.length,
})"""


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (make sysdeps installs Debian's chromium)")
def test_status_page_in_headless_chromium(tmp_path: Path) -> None:
    import json

    dbp = str(tmp_path / "fleet.sqlite")
    db = Database(dbp)
    db.migrate()
    a = make_devices(24, CLASS_A)
    b = make_devices(6, CLASS_B, seed=1)
    register(db, a + b)
    db.add_release(CLASS_A, 1, E1, available_at=0)
    db.add_release(CLASS_A, 2, E2)
    ro = R.plan(uuid.UUID(CLASS_A).bytes, 2, [50, 100], 86400, 3600, int(time.time()), salt=b"p" * 32,
                fleet=[uuid.UUID(d.device_id).bytes for d in a])
    (tmp_path / "rollout.json").write_bytes(ro.to_bytes())
    admitted = [d for d in a if R.cohort(bytes.fromhex(ro.salt), uuid.UUID(d.device_id).bytes) < ro.stages[0].bound]
    assert len(admitted) == 12
    rows = []

    def add(dev: object, body: bytes) -> None:
        from cryptography.hazmat.primitives import serialization

        row = db.device(dev.device_id)  # type: ignore[attr-defined]
        assert row is not None
        key = serialization.load_pem_public_key(row.key_pem.encode())
        rows.append(check(body, row.device_id, row, key).row)

    for d in a:
        add(d, d.boot(E1))
    for d in admitted[:7]:  # installed
        add(d, d.report(E2))
        add(d, d.boot(E2))
    for d in admitted[7:9]:  # reverted after a failed trial boot
        add(d, d.report(E2))
        add(d, d.boot(E2))
        add(d, d.boot(E1))
    for d in admitted[9:11]:  # refused
        add(d, d.report(E2, "rollback"))
    for d in b[:3]:
        add(d, d.report(E1, "signature-invalid"))
    db.insert_reports(rows)
    stored = db.count_reports()
    assert stored == len(rows)

    c = Collector(dbp, tmp_path, "--rollout", str(tmp_path / "rollout.json"))
    try:
        loaded = load_page(f"http://127.0.0.1:{c.port}/status", {"Authorization": f"Bearer {c.token}"}, READ)
    finally:
        c.stop()
    path = save_artifact("fleet-status.png", loaded.png)
    assert loaded.png.startswith(b"\x89PNG") and path.stat().st_size > 10_000
    assert loaded.errors == []
    v = json.loads(loaded.value)
    assert int(v["reports"]) == stored
    assert v["scripts"] == 0 and v["svgs"] >= 4
    stages = {(cls, stage): cells for cls, stage, cells in v["stages"]}
    # columns: installed, refused, reverted, pending
    assert stages[(CLASS_A, "stage 1")] == ["7", "2", "2", "1"]
    assert stages[(CLASS_A, "not admitted")] == ["0", "0", "0", "12"]
    assert stages[(CLASS_B, "all")] == ["0", "0", "0", "6"]
    totals = v["totals"]
    assert totals[:4] == [["installed", "0"], ["refused", "0"], ["reverted", "0"], ["pending", "6"]]  # class B first
    assert totals[4:] == [["installed", "7"], ["refused", "2"], ["reverted", "2"], ["pending", "13"]]
