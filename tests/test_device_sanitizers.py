"""Memory safety of the boot flow: the power-fail, threat and mutation tests again, with the
C library built under AddressSanitizer + UBSan (``make -C bootloader-ref test-asan``) and
loaded into a child Python with the sanitizer runtime preloaded. Any memory error or
undefined behaviour in the C code aborts the child."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fwsign.device import lib

ROOT = Path(__file__).resolve().parents[1]


def runtime(name: str) -> str | None:
    cc = shutil.which("gcc")
    if cc is None:
        return None
    out = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    return out if os.path.isabs(out) and os.path.exists(out) else None


def sanitizer_env() -> dict[str, str]:
    """An environment in which Python loads the ASan/UBSan build of libbootref (skips where it cannot)."""
    proc = subprocess.run(["make", "-s", "-C", str(lib.BOOTREF_DIR), "test-asan"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    asan, ubsan = runtime("libasan.so"), runtime("libubsan.so")
    if asan is None or ubsan is None:
        pytest.skip("gcc's sanitizer runtimes (libasan, libubsan) are not installed")
    return {
        **os.environ,
        "FWSIGN_BOOTREF_LIB": str(lib.BOOTREF_DIR / "build" / "asan" / "libbootref.so"),
        "LD_PRELOAD": f"{asan} {ubsan}",
        # CPython's own allocations are not ours to judge at exit; memory errors still abort
        "ASAN_OPTIONS": "detect_leaks=0:exitcode=86:abort_on_error=0",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=87",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def test_boot_flow_clean_under_asan_and_ubsan() -> None:
    env = sanitizer_env()
    tests = ["tests/test_powerfail.py", "tests/test_threats_device.py",
             "tests/test_differential.py::test_mutations_agree", "tests/test_differential.py::test_every_algorithm_agreement",
             "tests/test_delta_release.py"]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *tests],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    report = proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "AddressSanitizer" not in report and "runtime error" not in report, report
    assert proc.returncode == 0, report
