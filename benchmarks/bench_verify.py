"""In-process verification against the floor.

For each image size and algorithm, times ``fwsign.verify.verify_envelope`` (envelope
bytes + the image streamed with ``fwsign.verify.read_chunks``) against the floor:
``hashlib.sha256`` over the same file read with the same chunk size, plus one direct
signature verification of the same signature with the fastest library call. The two
are timed alternately in one process, and the ratio of their medians is the figure
of merit (design target: <= 1.10 at 1 MiB and 64 MiB).
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import floors
from common import KIB, MIB, WORK, log, random_file, size_label, stats, time_interleaved
from envelopes import ALGORITHMS, new_key, sign_image

import fwsign
from fwsign.verify import CHUNK, Policy, TrustedKey, read_chunks, verify_envelope

FULL_SIZES = (1 * KIB, 64 * KIB, 1 * MIB, 16 * MIB, 64 * MIB)
QUICK_SIZES = (1 * KIB, 64 * KIB, 1 * MIB)
TARGET_RATIO = 1.10


def _repeat(size: int, quick: bool) -> int:
    if quick:
        return 3
    # 64 MiB takes ~0.06 s per call here, so even the large images afford enough
    # alternating pairs for a median that survives a busy neighbour.
    if size >= 64 * MIB:
        return 5
    return 7 if size >= 16 * MIB else 9


def _floor(path: Path, sig_verify: Callable[[], object]) -> Callable[[], object]:
    def run() -> None:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
        h.digest()
        sig_verify()

    return run


def _fwsign(envelope: bytes, policy: Policy, path: Path) -> Callable[[], object]:
    def run() -> None:
        report = verify_envelope(envelope, policy, read_chunks(path, CHUNK))
        if not report.valid:  # a rejected envelope would be a broken benchmark, not a fast one
            raise AssertionError(report.as_dict())

    return run


def run(quick: bool = False) -> dict[str, Any]:
    doc = measure(QUICK_SIZES if quick else FULL_SIZES, quick)
    doc["build"] = _build()
    if fwsign.compiled():
        # The same measurement of the pure-Python modules (FWSIGN_PURE=1), at 1 MiB, in a
        # child process: what an installation without the compiled build gets.
        env = {**os.environ, "FWSIGN_PURE": "1"}
        proc = subprocess.run([sys.executable, __file__, "--pure", *(["--quick"] if quick else [])],
                              env=env, capture_output=True, text=True, check=True)
        doc["pure_python_results"] = json.loads(proc.stdout.strip().splitlines()[-1])["results"]  # after the log lines
    return doc


def _build() -> str:
    return "compiled (mypyc, scripts/compile.py)" if fwsign.compiled() else "pure Python"


def measure(sizes: tuple[int, ...], quick: bool) -> dict[str, Any]:
    images = {size: random_file(WORK / f"image-{size}.bin", size) for size in sizes}
    keys = {name: new_key(kind) for name, kind in ALGORITHMS.items()}
    rows: list[dict[str, Any]] = []
    sig_floors: dict[str, Any] = {}
    for alg, key in keys.items():
        for size in sizes:
            path = images[size]
            signed = sign_image(key, path)
            policy = Policy(keys=(TrustedKey.of(signed.public),))
            sig_name, sig_fn, sig_medians = floors.fastest(signed.public, signed.to_be_signed, signed.signature)
            sig_floors[alg] = {"library": sig_name, "candidates_median_s": sig_medians}
            # Batches of ~0.2 s keep microsecond calls above timer noise; large images
            # run one call per batch.
            wall: dict[str, list[float]] = {}
            samples = time_interleaved(
                {"fwsign": _fwsign(signed.envelope, policy, path), "floor": _floor(path, sig_fn)},
                _repeat(size, quick),
                0.2,
                wall=wall,
            )
            fw, fl = statistics.median(samples["fwsign"]), statistics.median(samples["floor"])
            row = {
                "algorithm": alg,
                "image_bytes": size,
                "image": size_label(size),
                "envelope_bytes": len(signed.envelope),
                "chunk_bytes": CHUNK,
                "signature_floor_library": sig_name,
                "fwsign_s": stats(samples["fwsign"]),
                "floor_s": stats(samples["floor"]),
                "ratio": fw / fl,
                # Background load only ever adds time, so the ratio of the fastest runs
                # is the estimate least disturbed by other processes on the machine.
                "ratio_of_mins": min(samples["fwsign"]) / min(samples["floor"]),
                "overhead_us": (fw - fl) * 1e6,
                "fwsign_wall_s": stats(wall["fwsign"]),
                "floor_wall_s": stats(wall["floor"]),
                "ratio_wall": statistics.median(wall["fwsign"]) / statistics.median(wall["floor"]),
                "fwsign_MBps": size / fw / 1e6,
                "floor_MBps": size / fl / 1e6,
            }
            rows.append(row)
            log(f"  verify {alg:8} {size_label(size):>7}: fwsign {fw * 1e3:9.3f} ms  floor {fl * 1e3:9.3f} ms  "
                f"ratio {row['ratio']:.3f}  (+{row['overhead_us']:.0f} us)")
    return {
        "description": "verify_envelope (envelope + streamed image) vs sha256 of the same file + one direct signature verify",
        "units": {"*_s": "CPU seconds of this process per verification", "*_wall_s": "wall-clock seconds per verification",
                  "ratio_wall": "median fwsign / median floor, wall clock", "ratio": "median fwsign / median floor",
                  "ratio_of_mins": "fastest fwsign / fastest floor",
                  "overhead_us": "microseconds, median fwsign - median floor", "*_MBps": "image MB (1e6 B) per second"},
        "target_ratio": TARGET_RATIO,
        "signature_floor": sig_floors,
        "results": rows,
    }


if __name__ == "__main__":
    # Child mode of run(): the 1 MiB rows as JSON on stdout (started with FWSIGN_PURE=1).
    if "--pure" in sys.argv:
        print(json.dumps({"build": _build(), "results": measure((MIB,), "--quick" in sys.argv)["results"]}))
