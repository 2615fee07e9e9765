"""Shared helpers for the benchmark scripts: paths, machine facts, timing, JSON output.

Every benchmark compares fwsign against a floor or a peer measured in the same run on
the same machine, so the figures that matter are ratios; absolute times are recorded
for context only.
"""

from __future__ import annotations

import datetime as _dt
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
#: Scratch space for generated images and keys (git-ignored).
WORK = BENCH_DIR / "work"
RESULTS = BENCH_DIR / "results"
#: The executables of the interpreter running the suite, so fwsign and imgtool come
#: from the same virtualenv as the in-process measurements.
VENV_BIN = Path(sys.executable).parent

KIB = 1024
MIB = 1024 * KIB

#: Fixed device identity for every signed test envelope, so sizes are comparable.
VENDOR_ID = "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe"  # uuid5(DNS, "arm.com"), as in the spec examples
CLASS_ID = "1492af14-2569-5e48-bf42-9b2d51f2ab45"  # the spec examples' class id


def tool(name: str) -> str:
    """Path of a console script in the running virtualenv (fwsign, imgtool)."""
    path = VENV_BIN / name
    if not path.exists():
        raise SystemExit(f"benchmarks: {path} not found; run `make venv` first")
    return str(path)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """What a reader needs to judge whether figures from two runs are comparable."""
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "openssl": _openssl_version(),
        "libraries": {
            name: _version(name)
            for name in ("fwsign", "cryptography", "pynacl", "cbor2", "imgtool", "click", "matplotlib")
        },
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "fwsign_build": _fwsign_build(),
    }


def _fwsign_build() -> str:
    """Whether fwsign's verification path ran compiled (scripts/compile.py) or as pure Python."""
    import fwsign

    return "compiled (mypyc)" if fwsign.compiled() else "pure Python"


def _openssl_version() -> str | None:
    try:
        from cryptography.hazmat.backends.openssl.backend import backend

        return str(backend.openssl_version_text())
    except Exception:  # the exact attribute moved between cryptography releases
        return None


def stats(samples: Sequence[float]) -> dict[str, float | int]:
    """min/median/max of a list of samples (seconds or any other unit)."""
    return {
        "min": min(samples),
        "median": statistics.median(samples),
        "max": max(samples),
        "n": len(samples),
    }


def calibrate(fn: Callable[[], object], target_s: float, max_number: int = 100_000) -> int:
    """How many calls make one timing batch last about ``target_s``.

    Batching keeps the timer resolution and loop overhead negligible for calls that
    take microseconds, while a call that already takes ``target_s`` runs once.
    """
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= target_s / 4 or number >= max_number:
            break
        number *= 4
    per_call = elapsed / number
    return max(1, min(max_number, round(target_s / per_call))) if per_call > 0 else max_number


def time_batch(fn: Callable[[], object], number: int) -> tuple[float, float]:
    """Mean (CPU seconds, wall seconds) per call over ``number`` back-to-back calls.

    CPU time of this process is the primary figure: on a shared machine the wall clock
    also counts the time the process waited for a core, which belongs to whoever else
    is running, while the CPU time is the work the call itself did (including the
    kernel's share for reading the file). Wall time is kept next to it.
    """
    # Start every batch from a collected heap so one batch does not pay for the
    # garbage of the previous one; collection during the batch stays on, as in use.
    gc.collect()
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(number):
        fn()
    return (time.process_time() - c0) / number, (time.perf_counter() - w0) / number


def time_interleaved(
    fns: dict[str, Callable[[], object]], repeat: int, target_s: float, *, wall: dict[str, list[float]] | None = None,
) -> dict[str, list[float]]:
    """Time several functions, alternating between them every repetition.

    Alternating (rather than running all repetitions of one, then the other) spreads
    frequency scaling, page-cache state and noisy neighbours evenly over the contenders,
    which is what makes the ratio of their medians trustworthy. Returns CPU seconds per
    call; pass ``wall`` to also collect wall-clock seconds per call.
    """
    for fn in fns.values():  # warm up: imports, caches, first-touch of the file pages
        fn()
    numbers = {name: calibrate(fn, target_s) for name, fn in fns.items()}
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            cpu, elapsed = time_batch(fn, numbers[name])
            samples[name].append(cpu)
            if wall is not None:
                wall.setdefault(name, []).append(elapsed)
    return samples


def write_json(out_dir: Path, name: str, payload: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    doc = {"benchmark": name, "machine": machine_info(), **payload}
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def random_file(path: Path, size: int) -> Path:
    """A file of ``size`` random bytes, reused across runs when it already has that size."""
    if path.exists() and path.stat().st_size == size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        left = size
        while left:
            n = min(left, 4 * MIB)
            fh.write(os.urandom(n))
            left -= n
    tmp.replace(path)
    return path


def size_label(n: int) -> str:
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n >= KIB and n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n} B"


def log(msg: str) -> None:
    print(msg, flush=True)
