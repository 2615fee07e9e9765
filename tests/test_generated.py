"""Structure-aware differential test (docs/processing-model.md section 12).

Hypothesis builds correctly signed SUIT envelopes from the grammar (tests/gen/) and runs
each through the Python verifier and the C verifier in process, with the same keys,
identity, counter, image and limits. For a correctly signed, generated manifest the two
must give the same verdict and the *same* reason code: no structure-class equivalence as in
tests/test_differential.py, whose mutations break the signature before the semantics.
Neither may accept what the small oracle of the model's rules says to refuse.

The same examples are also installed on a fresh simulated
device (the C boot flow of bootloader-ref/src/boot.c, fwsign.device) and compared with the
Python processor in device mode (tests/gen/device.py): same stage (install refused, or
installed and booted) and same reason.

Part of `make test` (which compiles first; by hand, run on a fresh compiled build or with
FWSIGN_PURE=1). `make fuzz-diff` runs the same generator for a set time and keeps each new
disagreement in tests/vectors/generated/.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.gen.build import Case, describe
from tests.gen.device import (
    DEVICE_VECTORS,
    KNOWN_DISAGREEMENTS,
    DeviceDiffer,
    check_device,
    device_vector,
    replay_device,
    save_device_vector,
)
from tests.gen.harness import VECTORS, Differ, check, hexdump, replay, save_vector, vector
from tests.gen.strategies import cases

pytestmark = [pytest.mark.generated]

EXAMPLES = 2000
#: Every DEVICE_EVERY-th example also goes to the device. The device path (a fresh device,
#: install, boot, and the model in device mode) measured about 2 ms an example, 4 s for all
#: 2,000 on top of about 8 s for the host comparison: every example.
DEVICE_EVERY = 1
FAILURES = Path(__file__).resolve().parents[1] / "build" / "generated-failures"


def _stale_compiled_build() -> str:
    """A compiled build made from other sources would test yesterday's verifier."""
    import subprocess
    import sys

    import fwsign

    if not fwsign.compiled():
        return ""
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "scripts" / "compile.py"), "--check"],
                          capture_output=True, text=True, cwd=root)
    return "" if proc.returncode == 0 else proc.stderr.strip()


@pytest.fixture(scope="module")
def differ() -> Differ:
    stale = _stale_compiled_build()
    assert not stale, f"compiled modules older than their sources: {stale}; run 'make compile' or set FWSIGN_PURE=1"
    return Differ()


@pytest.fixture(scope="module")
def device_differ() -> DeviceDiffer:
    return DeviceDiffer()


def _explain(differ: Differ, case: Case, why: str) -> str:
    r = check(differ, case)
    path = save_vector(vector(r, "test_generated.py fixed-seed run"), FAILURES, f"{r.outcome.python}__{r.outcome.c}")
    o = r.outcome
    return (f"{why}\n  python: {o.python} ({o.python_detail})\n  C:      {o.c} ({o.c_error})\n"
            f"  oracle: {r.refuse or 'no rule says refuse'}\n{describe(case)}\n{hexdump(r.envelope)}\n  vector: {path}")


def test_generated_manifests_agree(differ: Differ, device_differ: DeviceDiffer) -> None:
    """2,000 generated, correctly signed envelopes (fixed seed): same verdict, same reason,
    and neither verifier accepts what the model says to refuse; and the simulated device
    and the processor in device mode give the same stage and the same reason."""
    seen: Counter[tuple[str, str]] = Counter()
    device_seen: Counter[tuple[str, str]] = Counter()
    known: Counter[tuple[str, str]] = Counter()
    count = [0]

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(cases())
    def run(case: Case) -> None:
        r = check(differ, case)
        seen[r.outcome.pair] += 1
        assert r.outcome.agree, _explain(differ, case, "the verifiers disagree")
        assert not r.oracle_violation, _explain(differ, case, f"{r.oracle_violation} accepted what the model refuses")
        count[0] += 1
        if count[0] % DEVICE_EVERY:
            return
        d = check_device(device_differ, case, r.envelope)
        device_seen[d.pair] += 1
        if not d.agree and d.pair in KNOWN_DISAGREEMENTS:
            known[d.pair] += 1
            return
        if not d.agree:
            path = save_device_vector(device_vector(case, r.envelope, d, "test_generated.py fixed-seed run"),
                                      FAILURES / "device")
            raise AssertionError(
                f"the device and the model in device mode disagree\n  python: {d.python} ({d.python_detail})\n"
                f"  device: {d.device} ({d.device_detail})\n{describe(case)}\n{hexdump(r.envelope)}\n  vector: {path}")

    run()
    if known:  # reported on every run until they are fixed
        warnings.warn(f"known device disagreements (see tests/gen/device.py): {dict(known)}", stacklevel=1)
    # the device path must keep reaching a booted image and install refusals of several kinds
    assert device_seen[("boot/ok", "boot/ok")] >= 10, device_seen
    assert len(device_seen) >= 8, device_seen
    # the generator must keep reaching acceptance and the main refusals, or it tests little
    assert seen[("ok", "ok")] >= EXAMPLES // 20, seen
    assert sum(n for (py, _c), n in seen.items() if py == "missing-check") > 0, seen


def _device_vectors() -> list[Path]:
    return sorted(DEVICE_VECTORS.glob("*.json"))


@pytest.mark.parametrize("path", _device_vectors(), ids=lambda p: p.stem)
def test_device_regression_vector(device_differ: DeviceDiffer, path: Path) -> None:
    """Each device disagreement `make fuzz-diff` found: the device and the model in device
    mode give the expected verdict ("stage/reason"); one not yet judged needs agreement."""
    data = json.loads(path.read_text())
    o = replay_device(device_differ, data)
    expected = data["expected"]
    if expected is None:
        assert o.agree, (path.name, o, data["structure"])
    else:
        assert o.pair == (expected, expected), (path.name, o, data["structure"])


def _vectors() -> list[Path]:
    return sorted(VECTORS.glob("*.json"))


@pytest.mark.parametrize("path", _vectors(), ids=lambda p: p.stem)
def test_regression_vector(differ: Differ, path: Path) -> None:
    """Each disagreement `make fuzz-diff` found: both verifiers give the expected reason
    (the model's answer); a vector not yet judged ("expected": null) needs agreement."""
    data = json.loads(path.read_text())
    o = replay(differ, data)
    expected = data["expected"]
    if expected is None:
        assert o.agree, (path.name, o, data["structure"])
    else:
        assert (o.python, o.c) == (expected, expected), (path.name, o, data["structure"])
