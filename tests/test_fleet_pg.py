"""The collector on a real PostgreSQL server (Debian's package, started here): the same
schema through the same migrations, reports stored and refused as on SQLite, the figures
the same, and 503 (never 201) while the database is gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fwsign.fleet.db import Database
from tests.fleet_support import CLASS_A, Collector, envelope, make_devices, register
from tests.pg_support import PgServer, postgres

E1, E2 = envelope(1), envelope(2)


@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    try:
        cm = postgres()
        srv = cm.__enter__()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
    try:
        yield srv
    finally:
        cm.__exit__(None, None, None)


def test_postgres_ingest_figures_and_database_gone(pg: PgServer, tmp_path: Path) -> None:
    db = Database(pg.url)
    assert db.migrate() == 1
    assert db.migrate() == 0
    devs = make_devices(6, CLASS_A)
    register(db, devs)
    db.add_release(CLASS_A, 1, E1, available_at=0)
    db.add_release(CLASS_A, 2, E2)
    c = Collector(pg.url, tmp_path)
    try:
        for d in devs:
            assert c.post(d.device_id, d.boot(E1))[0] == 201
        for d in devs[:4]:
            assert c.post(d.device_id, d.report(E2))[0] == 201
        for d in devs[:3]:
            assert c.post(d.device_id, d.boot(E2))[0] == 201
        body = devs[5].report(E2, "rollback")
        assert c.post(devs[5].device_id, body)[0] == 201
        code, out = c.post(devs[5].device_id, body)
        assert code == 409 and json.loads(out)["reason"] == "report-replayed"
        assert c.post(devs[0].device_id, devs[1].report(E2))[0] == 403
        assert db.count_reports() == 6 + 4 + 3 + 1
        fig = c.status_json()
        assert fig["classes"][CLASS_A]["totals"] == {"installed": 3, "refused": 1, "reverted": 0, "pending": 2}
        assert fig["classes"][CLASS_A]["versions"] == {"1": 3, "2": 3}
        # the database goes away: 503, and nothing is acknowledged
        pg.stop("immediate")
        try:
            code, out = c.post(devs[4].device_id, devs[4].boot(E2))
            assert code == 503 and json.loads(out)["reason"] == "database-unavailable"
        finally:
            pg.start()
        # and comes back: the collector reconnects
        assert c.post(devs[4].device_id, devs[4].boot(E2))[0] == 201
        assert db.count_reports() == 15
    finally:
        c.stop()
