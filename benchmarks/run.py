"""Run the fwsign benchmark suite: ``.venv/bin/python benchmarks/run.py [--quick] [--only NAME ...]``.

Benchmarks run one after another (never in parallel: on a small machine they would
time each other). Each writes ``<out>/<name>.json``; plots and SUMMARY.md are then
generated from the JSON. A quick run writes to ``benchmarks/work/quick-results`` so it
never overwrites the committed results.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# The benchmark modules import each other by name; make that work however run.py is started.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, WORK, log, write_json

BENCHMARKS = ("verify", "gateway", "cli", "sizes", "pq")


def _module(name: str):  # type: ignore[no-untyped-def]
    # Imported lazily so `--report` needs neither imgtool nor fwsign's runtime state.
    import bench_cli
    import bench_gateway
    import bench_pq
    import bench_sizes
    import bench_verify

    return {"verify": bench_verify, "gateway": bench_gateway, "cli": bench_cli, "sizes": bench_sizes,
            "pq": bench_pq}[name]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes and repetitions (a smoke test, not for quoting)")
    ap.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these benchmarks")
    ap.add_argument("--out", type=Path, help="results directory (default: benchmarks/results, quick: benchmarks/work/quick-results)")
    ap.add_argument("--report", action="store_true", help="only regenerate plots and SUMMARY.md from existing JSON")
    args = ap.parse_args(argv)
    out: Path = args.out or (WORK / "quick-results" if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)

    if not args.report:
        started = time.perf_counter()
        for name in args.only or BENCHMARKS:
            log(f"== {name}{' (quick)' if args.quick else ''}")
            t0 = time.perf_counter()
            result = _module(name).run(quick=args.quick)
            result["quick"] = args.quick
            result["elapsed_s"] = round(time.perf_counter() - t0, 1)
            path = write_json(out, name, result)
            log(f"   wrote {path} in {result['elapsed_s']} s")
        log(f"== all benchmarks: {time.perf_counter() - started:.0f} s")

    import report

    for path in report.generate(out):
        log(f"   wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
