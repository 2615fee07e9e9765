"""A short real libFuzzer run of the envelope target (``make -C bootloader-ref fuzz``).

The replay tests exercise the harness with fixed inputs under gcc's sanitizers; this runs
the coverage-guided fuzzer itself for a few seconds, with ASan and UBSan, from the spec
corpus. Longer runs: ``make fuzz-c FUZZ_SECONDS=...``. Skipped only where clang cannot
link libFuzzer (the project's set-up installs it when it can).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ._suit import BOOTREF_DIR


def _libfuzzer_available() -> bool:
    if shutil.which("clang") is None:
        return False
    probe = subprocess.run(
        ["clang", "-fsanitize=fuzzer", "-x", "c", "-o", "/dev/null", "-"],
        input=b"int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n",
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _libfuzzer_available(), reason="clang with libFuzzer is not installed (scripts/ensure-sysdeps.sh)")
def test_short_libfuzzer_run_finds_no_crash() -> None:
    proc = subprocess.run(
        ["make", "-s", "-C", str(BOOTREF_DIR), "fuzz", "FUZZ_SECONDS=4"],
        capture_output=True, text=True, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    # libFuzzer reports the executions it made; a run that did nothing is not a pass.
    assert "Done" in output and "runs in" in output, output[-2000:]
