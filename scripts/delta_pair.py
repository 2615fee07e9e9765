"""Build the firmware pair the delta measurements and tests use.

Two builds of bootloader-ref for Cortex-M4 from two commits of this repository, made the
way `make bench-device` builds its emulated firmware (benchmarks/emu/emu.py: the core, the
soft SHA-256 port and the emulator's driver, arm-none-eabi-gcc -Os, --gc-sections,
objcopy -O binary): the old one before and the new one after a one-line fix in the
interpreter (commit 228006e, "try-each [option, nil] is malformed"), the size of change a
security patch makes. Each tree is taken with `git archive`, so the working copy is not
touched. Writes OLD.bin, NEW.bin and PROVENANCE.json into the output directory
(default tests/vectors/delta/).

    python scripts/delta_pair.py [--out DIR] [--old 7cdda42] [--new 228006e]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ("src/cbor.c", "src/envelope.c", "src/interp.c", "src/errors.c", "ports/soft/sha256.c", "ports/soft/bootref_soft.c")
CFLAGS = ("-mcpu=cortex-m4", "-mthumb", "-Os", "-ffunction-sections", "-fdata-sections", "-DNDEBUG", "-std=c99",
          "-DBOOTREF_DETAIL_STRINGS=0", "-DBOOTREF_SOFT_EXTERNAL_SIG")


def build(commit: str, cc: str, work: Path) -> bytes:
    tree = work / commit
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "bootloader-ref", "benchmarks/emu"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    br, emu = tree / "bootloader-ref", tree / "benchmarks" / "emu"
    elf, binf = tree / "fw.elf", tree / "fw.bin"
    inc = [f"-I{br / p}" for p in ("include", "src", "ports/soft")]
    subprocess.run([cc, *CFLAGS, *inc, "-nostdlib", "-T", str(emu / "emu.ld"), "-Wl,--gc-sections", "-Wl,-e,emu_main",
                    "-o", str(elf), *(str(br / s) for s in SRC), str(emu / "driver.c"), "-lc_nano", "-lgcc"],
                   check=True, capture_output=True, text=True)
    subprocess.run([cc[: -len("gcc")] + "objcopy", "-O", "binary", "--remove-section=.bss", str(elf), str(binf)],
                   check=True)
    return binf.read_bytes()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "vectors" / "delta")
    ap.add_argument("--old", default="7cdda42")
    ap.add_argument("--new", default="228006e")
    args = ap.parse_args()
    cc = shutil.which("arm-none-eabi-gcc")
    if cc is None:
        print("delta_pair: arm-none-eabi-gcc not found (make sysdeps installs it)", file=sys.stderr)
        return 2
    version = subprocess.run([cc, "--version"], check=True, capture_output=True, text=True).stdout.splitlines()[0]
    args.out.mkdir(parents=True, exist_ok=True)
    prov: dict[str, object] = {"what": "bootloader-ref built for Cortex-M4 as benchmarks/emu builds it",
                               "toolchain": version, "flags": " ".join(CFLAGS), "sources": list(SRC),
                               "made_by": "scripts/delta_pair.py"}
    with tempfile.TemporaryDirectory() as tmp:
        for name, commit in (("OLD.bin", args.old), ("NEW.bin", args.new)):
            full = subprocess.run(["git", "-C", str(ROOT), "rev-parse", commit], check=True, capture_output=True,
                                  text=True).stdout.strip()
            data = build(commit, cc, Path(tmp))
            (args.out / name).write_bytes(data)
            prov[name] = {"commit": full, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (args.out / "PROVENANCE.json").write_text(json.dumps(prov, indent=2) + "\n")
    print(json.dumps(prov, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
