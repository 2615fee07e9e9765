"""Fleet collector ingest: signed SUIT reports from concurrent clients over loopback.

The collector runs as ``fwsign fleet serve`` (uvicorn, one process) on SQLite (WAL,
synchronous=FULL) and then on a PostgreSQL server started from Debian's packages; client
processes post pre-signed ES256 reports of registered devices over keep-alive connections
and count the 201s. Every report is verified (decode, key id, signature) and committed
before its 201. The floor beside it is the collector's own check of the same reports in
one process with no HTTP and no database (:func:`fwsign.fleet.ingest.check`): the ratio
says what HTTP and the durable commit cost on top of verification.

  make bench-fleet    (= .venv/bin/python benchmarks/bench_fleet.py [--reports 12000] [--procs 2 --threads 16])

Writes benchmarks/results/fleet.json and fleet.png.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RESULTS, machine_info, write_json
from fwsign.fleet.db import Database
from fwsign.fleet.ingest import check
from tests.fleet_support import CLASS_A, Collector, envelope, make_devices, register


def _client(port: int, work: list[tuple[str, bytes]], threads: int, out: Any) -> None:
    acked = 0
    other = 0
    lock = threading.Lock()
    chunks = [work[i::threads] for i in range(threads)]

    def run(items: list[tuple[str, bytes]]) -> None:
        nonlocal acked, other
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        a = o = 0
        for did, body in items:
            conn.request("POST", f"/v1/devices/{did}/reports", body=body, headers={"Content-Type": "application/cose"})
            r = conn.getresponse()
            r.read()
            if r.status == 201:
                a += 1
            else:
                o += 1
        conn.close()
        with lock:
            acked += a
            other += o

    ts = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((acked, other))


def ingest(db_url: str, work_dir: Path, devs: list[Any], bodies: list[tuple[str, bytes]], procs: int,
           threads: int) -> dict[str, Any]:
    c = Collector(db_url, work_dir)
    try:
        q: mp.Queue[tuple[int, int]] = mp.Queue()
        parts = [bodies[i::procs] for i in range(procs)]
        ps = [mp.Process(target=_client, args=(c.port, p, threads, q)) for p in parts]
        t0 = time.perf_counter()
        for p in ps:
            p.start()
        results = [q.get() for _ in ps]
        elapsed = time.perf_counter() - t0
        for p in ps:
            p.join()
    finally:
        c.stop()
    acked = sum(r[0] for r in results)
    stored = Database(db_url).count_reports()
    return {"reports": len(bodies), "acknowledged": acked, "refused": sum(r[1] for r in results), "stored": stored,
            "seconds": round(elapsed, 3), "reports_per_second": round(acked / elapsed, 1),
            "clients": procs * threads}


def floor(db: Database, bodies: list[tuple[str, bytes]]) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization

    rows = {d.device_id: (d, serialization.load_pem_public_key(d.key_pem.encode())) for d in db.devices()}
    t0 = time.perf_counter()
    for did, body in bodies:
        check(body, did, *rows[did])
    elapsed = time.perf_counter() - t0
    return {"reports": len(bodies), "seconds": round(elapsed, 3), "reports_per_second": round(len(bodies) / elapsed, 1)}


def make_load(db: Database, n_devices: int, n_reports: int) -> list[tuple[str, bytes]]:
    devs = make_devices(n_devices, CLASS_A)
    register(db, devs)
    env = envelope(1)
    return [(devs[i % n_devices].device_id, devs[i % n_devices].boot(env) if i % 2 else devs[i % n_devices].report(env))
            for i in range(n_reports)]


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values = ["verification only\n(in process)"], [result["floor"]["reports_per_second"]]
    for name in ("sqlite", "postgresql"):
        if result.get(name):
            labels.append(f"collector on {name}\n(HTTP, verified, committed)")
            values.append(result[name]["reports_per_second"])
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bars = ax.bar(labels, values, color=["#9e9e9e", "#1565c0", "#2e7d32"][: len(values)])
    ax.bar_label(bars, fmt="%.0f")
    ax.axhline(1000, color="#c62828", linestyle="--", linewidth=1)
    ax.text(-0.45, 1030, "1,000 reports/s", color="#c62828", ha="left", fontsize=8)
    ax.set_ylabel("signed reports per second")
    ax.set_title(f"fwsign fleet collector ingest ({result['sqlite']['clients']} concurrent clients, loopback)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=12000)
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--procs", type=int, default=2, help="client processes")
    ap.add_argument("--threads", type=int, default=16, help="connections per client process")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--report", action="store_true", help="only redraw the plot from results/fleet.json")
    a = ap.parse_args()
    if a.report:
        import json

        plot(json.loads((RESULTS / "fleet.json").read_text()), RESULTS / "fleet.png")
        return 0
    result: dict[str, Any] = {"machine": machine_info()}
    with tempfile.TemporaryDirectory(prefix="fwsign-bench-fleet-") as tmp:
        work = Path(tmp)
        db = Database(str(work / "fleet.sqlite"))
        db.migrate()
        bodies = make_load(db, a.devices, a.reports)
        result["floor"] = floor(db, bodies)
        print(f"verification only: {result['floor']['reports_per_second']:.0f} reports/s", flush=True)
        result["sqlite"] = ingest(str(work / "fleet.sqlite"), work, [], bodies, a.procs, a.threads)
        print(f"sqlite: {result['sqlite']}", flush=True)
        result["postgresql"] = None
        if not a.no_postgres:
            from tests.pg_support import postgres

            try:
                with postgres() as pg:
                    pdb = Database(pg.url)
                    pdb.migrate()
                    pbodies = make_load(pdb, a.devices, a.reports)
                    result["postgresql"] = ingest(pg.url, work, [], pbodies, a.procs, a.threads)
                    print(f"postgresql: {result['postgresql']}", flush=True)
            except RuntimeError as exc:
                print(f"postgresql: skipped ({exc})", flush=True)
    result["sqlite_vs_floor"] = round(result["sqlite"]["reports_per_second"] / result["floor"]["reports_per_second"], 3)
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS, "fleet", result)
    plot(result, RESULTS / "fleet.png")
    ok = result["sqlite"]["acknowledged"] == result["sqlite"]["stored"] == a.reports
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
