"""Where bootloader-ref's parse-and-policy instructions go, per function, under emulation.

    .venv/bin/python benchmarks/emu/profile.py                      # fwsign P-256 envelope, Cortex-M4
    .venv/bin/python benchmarks/emu/profile.py --core cortex-m0plus --envelope spec-example3

Builds the lean core with the soft port as run.py does (into benchmarks/work/emu-profile/),
runs one envelope and prints, for bootref_verify_envelope ("verify") and bootref_run ("run"),
the instructions each function executes outside the port calls (SHA-256, image reads, the
signature stub): the columns add up to the harness's parse and interpreter counts. The
fwsign envelopes carry a 1 KiB image, so "run" includes the interpreter's per-chunk work
that run.py moves to image hashing by its slope over image sizes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import emu  # noqa: E402
import run  # noqa: E402

OUT = ROOT / "benchmarks" / "work" / "emu-profile"


def envelope(label: str) -> tuple[bytes, bytes, int]:
    """(envelope, image, flags) for fwsign-p256, fwsign-ed25519 or spec-example0..5."""
    if label.startswith("fwsign-") and label[7:] in run.ALGS:
        img = run.image_of(1024)
        return run.envelope_for(label[7:], img), img, 0
    if label.startswith("spec-example") and label[12:] in "012345" and len(label) == 13:
        env = bytes.fromhex((run.VECTORS / f"example{label[12:]}.signed.hex").read_text().strip())
        return env, b"", emu.ALLOW_SKIP
    raise SystemExit(f"unknown envelope {label!r}: fwsign-p256, fwsign-ed25519 or spec-example0..5")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--core", default="cortex-m4", choices=sorted(emu.CORES))
    ap.add_argument("--envelope", default="fwsign-p256", help="fwsign-p256 (default), fwsign-ed25519, spec-example0..5")
    ap.add_argument("--top", type=int, default=20, help="functions listed per phase (default 20)")
    args = ap.parse_args()
    if emu.arm_gcc() is None:
        raise SystemExit("benchmarks/emu: arm-none-eabi-gcc not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    env, img, flags = envelope(args.envelope)
    b = emu.build(args.core, out=OUT)
    prof: dict[str, dict[str, int]] = {}
    r = emu.emulate(b, env, img, vendor=run.VENDOR, klass=run.CLASS, flags=flags, profile=prof)
    if r.verify_result or r.run_result:
        raise SystemExit(f"bootloader-ref returned {r.verify_result}/{r.run_result}")
    print(f"{args.envelope} on {args.core}: parse {r.parse_instr}, interpreter {r.interp_instr} instructions "
          f"(SHA-256 {r.verify_sha + r.run_sha}, image reads {r.run_read}, outside the columns)")
    for phase, total in (("verify", r.parse_instr), ("run", r.interp_instr)):
        table = prof.get(phase, {})
        rows = sorted(table.items(), key=lambda kv: -kv[1])
        print(f"\n{phase}: {sum(table.values())} instructions in {len(table)} functions")
        for name, n in rows[: args.top]:
            print(f"  {n:7d}  {100 * n / total:5.1f} %  {name}")
        if len(rows) > args.top:
            print(f"  {sum(n for _, n in rows[args.top:]):7d}          ({len(rows) - args.top} more)")


if __name__ == "__main__":
    main()
