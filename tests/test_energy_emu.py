"""The emulation harness on one small case (needs arm-none-eabi-gcc and unicorn)."""

from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                reason="arm-none-eabi-gcc not installed (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")


def test_spec_example_0_runs_under_emulation_and_counts_every_phase(tmp_path: Path) -> None:
    pytest.importorskip("unicorn", reason="unicorn not installed (pip install 'fwsign[bench]')")
    sys.path.insert(0, str(ROOT / "benchmarks" / "emu"))
    try:
        import emu
    finally:
        sys.path.pop(0)
    b = emu.build("cortex-m4", out=tmp_path)
    env = bytes.fromhex((ROOT / "tests" / "vectors" / "suit-spec" / "example0.signed.hex").read_text().strip())
    vendor = uuid.UUID("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe").bytes
    klass = uuid.UUID("1492af14-2569-5e48-bf42-9b2d51f2ab45").bytes
    r = emu.emulate(b, env, vendor=vendor, klass=klass, flags=emu.ALLOW_SKIP)
    assert (r.verify_result, r.run_result) == (0, 0)
    # one SHA-256 block compression is thousands of instructions; parsing is too
    assert r.verify_sha > 1000 and r.parse_instr > 1000 and r.interp_instr > 1000
    assert r.verify_sig < 20  # the signature stub is a marker pair, nothing else
    wrong = bytes(16)
    r = emu.emulate(b, env, vendor=wrong, klass=klass)
    assert r.verify_result == 0 and r.run_result != 0  # vendor condition fails closed

    # per-function attribution (benchmarks/emu/profile.py): adds up to the phase counts exactly
    prof: dict[str, dict[str, int]] = {}
    r = emu.emulate(b, env, vendor=vendor, klass=klass, flags=emu.ALLOW_SKIP, profile=prof)
    assert sum(prof["verify"].values()) == r.parse_instr
    assert sum(prof["run"].values()) == r.interp_instr
    assert prof["verify"]["cbor_head"] > 0 and "compress" not in prof["verify"]  # SHA-256 is the port's
    assert "?" not in prof["verify"] and "?" not in prof["run"]
