"""Fixtures for the bootloader-ref tests: build once per session, run the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ._suit import BOOTREF_DIR, BUILD, spec_public_pem

# Sanitizer failures must not look like a verdict: the CLI uses 1 for "rejected",
# which is also the sanitizers' default exit code.
SAN_ENV = {
    "ASAN_OPTIONS": "exitcode=86:detect_leaks=1:abort_on_error=0",
    "UBSAN_OPTIONS": "exitcode=87:halt_on_error=1:print_stacktrace=1",
}


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def verdict(self) -> str:
        lines = self.out.strip().splitlines()
        return lines[-1] if lines else ""

    @property
    def reason(self) -> str:
        """Reason code of a REJECTED line ("" if the envelope was accepted)."""
        v = self.verdict
        return v.split(":")[1].strip() if v.startswith("REJECTED:") else ""


@pytest.fixture(scope="session")
def built() -> Path:
    if shutil.which("make") is None or shutil.which("gcc") is None:
        pytest.fail("bootloader-ref tests need make and gcc")
    for target in ([], ["test-asan"]):
        proc = subprocess.run(["make", "-s", "-C", str(BOOTREF_DIR), *target], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.fail(f"make {' '.join(target)} failed:\n{proc.stdout}\n{proc.stderr}")
    return BUILD


Runner = Callable[..., Result]


def _runner(binary: Path, *, leaks: bool = True) -> Runner:
    def run(*args: str | Path, keys: list[Path] | None = None, timeout: float = 20) -> Result:
        trust: list[str] = []
        for k in [spec_public_pem()] if keys is None else keys:
            trust += ["--trust", str(k)]
        env = dict(os.environ, **SAN_ENV)
        if not leaks:  # the exit-time leak scan doubles the cost of a short run
            env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"].replace("detect_leaks=1", "detect_leaks=0")
        proc = subprocess.run([str(binary), "verify", *trust, *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=timeout)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="session")
def bootref(built: Path) -> Runner:
    """The CLI under AddressSanitizer + UBSan: every functional test doubles as a memory-safety test."""
    return _runner(built / "asan" / "bootref")


@pytest.fixture(scope="session")
def bootref_sweep(built: Path) -> Runner:
    """Sanitizer CLI for bulk runs: memory errors and UB still abort, leak scan off (covered elsewhere)."""
    return _runner(built / "asan" / "bootref", leaks=False)


@pytest.fixture(scope="session")
def bootref_release(built: Path) -> Runner:
    """The optimised CLI, as shipped."""
    return _runner(built / "bootref")


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, bytes], Path]:
    def _write(name: str, data: bytes) -> Path:
        p = tmp_path / name
        p.write_bytes(data)
        return p

    return _write
