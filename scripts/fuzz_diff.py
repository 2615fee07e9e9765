"""make fuzz-diff: run the structure-aware differential generator for a set time.

Generates correctly signed SUIT envelopes (tests/gen/), runs each through the Python
verifier and the C verifier in process, and reports the rate, the count, every
(Python reason, C reason) pair that disagrees, and envelopes a verifier accepted although
the model's rules say to refuse them. Each new disagreement pair is shrunk by hypothesis
and saved as a regression vector in tests/vectors/generated/ (one per pair; an existing
vector for a pair is kept). Exits 1 on any disagreement or oracle violation.

Each envelope is also installed on a fresh simulated device (the C boot flow) and
compared with the Python processor in device mode (tests/gen/device.py); that rate and
its (python, device) pairs are reported separately, and new device disagreements are kept
in tests/vectors/generated/device/ (the ones listed in KNOWN_DISAGREEMENTS are reported,
not saved, and do not fail the run). --no-device leaves the device out.

    FUZZ_SECONDS=120 (default), FUZZ_SEED=<int> (default: from the clock, printed)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The verifiers' sources, not a compiled build that may predate them.
os.environ.setdefault("FWSIGN_PURE", "1")


def _private_library() -> None:
    """Build the C library, then load a private copy: others may rebuild it meanwhile."""
    from fwsign.device import lib

    if "FWSIGN_BOOTREF_LIB" in os.environ:
        return
    built = lib.build()
    copy = Path(tempfile.mkdtemp(prefix="fwsign-fuzz-diff-")) / "libbootref.so"
    shutil.copy2(built, copy)
    os.environ["FWSIGN_BOOTREF_LIB"] = str(copy)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", "120")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "0")) or None)
    parser.add_argument("--round", type=int, default=300, help="examples per hypothesis round")
    parser.add_argument("--no-save", action="store_true", help="do not write regression vectors")
    parser.add_argument("--no-device", action="store_true", help="compare the host verifiers only")
    args = parser.parse_args()

    _private_library()
    from hypothesis import HealthCheck, Phase, given, seed, settings

    from tests.gen.build import Case, encode
    from tests.gen.device import (
        DEVICE_VECTORS,
        KNOWN_DISAGREEMENTS,
        DeviceDiffer,
        DeviceOutcome,
        check_device,
        device_vector,
        save_device_vector,
    )
    from tests.gen.harness import VECTORS, Differ, Result, check, save_vector, vector
    from tests.gen.strategies import cases

    base_seed = args.seed if args.seed is not None else int(time.time())
    today = datetime.date.today().isoformat()
    differ = Differ()
    known = {tuple(p.stem.removeprefix("py-").split("__c-")) for p in VECTORS.glob("py-*__c-*.json")}
    pairs: Counter[tuple[str, str]] = Counter()
    violations: Counter[tuple[str, str]] = Counter()
    device_differ = None if args.no_device else DeviceDiffer()
    device_known: set[tuple[str, str]] = set()
    for path in DEVICE_VECTORS.glob("*.json"):
        observed = json.loads(path.read_text())["observed"]
        device_known.add((observed["python"], observed["device"]))
    device_pairs: Counter[tuple[str, str]] = Counter()
    device_seconds = 0.0
    saved: list[Path] = []
    total = 0
    start = time.monotonic()

    class NewPair(Exception):
        pass

    class NewDevicePair(Exception):
        pass

    class Round:
        found: ClassVar[list[Result]] = []
        device_found: ClassVar[list[tuple[Case, bytes, DeviceOutcome]]] = []
        shrinking = False

    def body(case: Case) -> None:
        nonlocal total, device_seconds
        r = check(differ, case)
        if not Round.shrinking:
            total += 1
            pairs[r.outcome.pair] += 1
            for side in r.oracle_violation:
                violations[(side, r.refuse[0])] += 1
        if not r.outcome.agree and r.outcome.pair not in known:
            Round.shrinking = True
            Round.found.append(r)
            raise NewPair("/".join(r.outcome.pair))
        if device_differ is None:
            return
        t = time.monotonic()
        d = check_device(device_differ, case, r.envelope)
        if not Round.shrinking:
            device_seconds += time.monotonic() - t
            device_pairs[d.pair] += 1
        if not d.agree and d.pair not in device_known and d.pair not in KNOWN_DISAGREEMENTS:
            Round.shrinking = True
            Round.device_found.append((case, r.envelope, d))
            raise NewDevicePair("/".join(d.pair))

    round_no = 0
    while time.monotonic() - start < args.seconds:
        round_seed = base_seed + round_no
        round_no += 1
        Round.found, Round.device_found, Round.shrinking = [], [], False
        one = seed(round_seed)(settings(
            max_examples=args.round, deadline=None, database=None, derandomize=False, print_blob=False,
            phases=[Phase.generate, Phase.shrink], report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck))(given(cases())(body)))

        try:
            one()
        except NewPair:
            r = Round.found[-1]  # hypothesis replays the shrunk example last
            known.add(r.outcome.pair)
            provenance = f"found by make fuzz-diff on {today}, seed {round_seed}"
            if not args.no_save:
                saved.append(save_vector(vector(r, provenance)))
            print(f"  new disagreement python={r.outcome.python} C={r.outcome.c} ({r.outcome.c_error}), shrunk, "
                  f"seed {round_seed}", flush=True)
        except NewDevicePair:
            case, envelope, d = Round.device_found[-1]
            assert envelope == encode(case)
            device_known.add(d.pair)
            provenance = f"found by make fuzz-diff on {today}, seed {round_seed}"
            if not args.no_save:
                saved.append(save_device_vector(device_vector(case, envelope, d, provenance)))
            print(f"  new device disagreement python={'/'.join(d.python)} device={'/'.join(d.device)} "
                  f"({d.device_detail}), shrunk, seed {round_seed}", flush=True)

    elapsed = time.monotonic() - start
    disagreements = {p: n for p, n in pairs.items() if p[0] != p[1]}
    print(f"\n{total} manifests in {elapsed:.0f} s: {total / elapsed * 60:,.0f} per minute (Python and C), "
          f"seeds {base_seed}..{base_seed + round_no - 1}")
    print(f"agree: {sum(n for p, n in pairs.items() if p[0] == p[1])}  "
          f"(accepted by both: {pairs[('ok', 'ok')]})")
    print(f"disagree: {sum(disagreements.values())} in {len(disagreements)} (python, C) pair(s)")
    for (py, c), n in sorted(disagreements.items(), key=lambda kv: -kv[1]):
        print(f"  {n:6d}  python={py:26s} C={c}")
    print(f"accepted although the model says refuse: {sum(violations.values())}")
    for (side, rule), n in sorted(violations.items(), key=lambda kv: -kv[1]):
        print(f"  {n:6d}  {side:6s} accepted; {rule}")
    device_disagree: dict[tuple[str, str], int] = {}
    if device_differ is not None:
        n_device = sum(device_pairs.values())
        device_disagree = {p: n for p, n in device_pairs.items() if p[0] != p[1]}
        print(f"\ndevice: {n_device} installs (+ boots) in {device_seconds:.0f} s of the run: "
              f"{n_device / max(device_seconds, 1e-9) * 60:,.0f} per minute on the device path alone")
        print(f"device agree: {sum(n for p, n in device_pairs.items() if p[0] == p[1])}  "
              f"(installed and booted on both: {device_pairs[('boot/ok', 'boot/ok')]})")
        print(f"device disagree: {sum(device_disagree.values())} in {len(device_disagree)} (python, device) pair(s)")
        for (py, dv), n in sorted(device_disagree.items(), key=lambda kv: -kv[1]):
            note = " (known: " + KNOWN_DISAGREEMENTS[(py, dv)] + ")" if (py, dv) in KNOWN_DISAGREEMENTS else ""
            print(f"  {n:6d}  python={py:34s} device={dv}{note}")
    for p in saved:
        print(f"saved {p.relative_to(ROOT)}")
    unknown_device = {p for p in device_disagree if p not in KNOWN_DISAGREEMENTS}
    return 1 if disagreements or violations or unknown_device else 0


if __name__ == "__main__":
    sys.exit(main())
