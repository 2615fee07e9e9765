"""Structure-aware differential test (docs/processing-model.md section 12).

Hypothesis builds correctly signed SUIT envelopes from the grammar (tests/gen/) and runs
each through the Python verifier and the C verifier in process, with the same keys,
identity, counter, image and limits. For a correctly signed, generated manifest the two
must give the same verdict and the *same* reason code: no structure-class equivalence as in
tests/test_differential.py, whose mutations break the signature before the semantics.
Neither may accept what the small oracle of the model's rules says to refuse.

Part of `make test` (which compiles first; by hand, run on a fresh compiled build or with
FWSIGN_PURE=1). `make fuzz-diff` runs the same generator for a set time and keeps each new
disagreement in tests/vectors/generated/.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.gen.build import Case, describe
from tests.gen.harness import VECTORS, Differ, check, hexdump, replay, save_vector, vector
from tests.gen.strategies import cases

pytestmark = [pytest.mark.generated]

EXAMPLES = 2000
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


def _explain(differ: Differ, case: Case, why: str) -> str:
    r = check(differ, case)
    path = save_vector(vector(r, "test_generated.py fixed-seed run"), FAILURES, f"{r.outcome.python}__{r.outcome.c}")
    o = r.outcome
    return (f"{why}\n  python: {o.python} ({o.python_detail})\n  C:      {o.c} ({o.c_error})\n"
            f"  oracle: {r.refuse or 'no rule says refuse'}\n{describe(case)}\n{hexdump(r.envelope)}\n  vector: {path}")


def test_generated_manifests_agree(differ: Differ) -> None:
    """2,000 generated, correctly signed envelopes (fixed seed): same verdict, same reason,
    and neither verifier accepts what the model says to refuse."""
    seen: Counter[tuple[str, str]] = Counter()

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(cases())
    def run(case: Case) -> None:
        r = check(differ, case)
        seen[r.outcome.pair] += 1
        assert r.outcome.agree, _explain(differ, case, "the verifiers disagree")
        assert not r.oracle_violation, _explain(differ, case, f"{r.oracle_violation} accepted what the model refuses")

    run()
    # the generator must keep reaching acceptance and the main refusals, or it tests little
    assert seen[("ok", "ok")] >= EXAMPLES // 20, seen
    assert sum(n for (py, _c), n in seen.items() if py == "missing-check") > 0, seen


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
