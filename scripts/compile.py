"""Compile fwsign's verification path with mypyc (optional; pure Python works the same).

The modules below are the whole in-process verification path: strict CBOR, the SUIT
decoder and model, the command-sequence analysis, COSE and the checks. mypyc compiles
the same type-annotated source into C extension modules that sit next to the .py files
(Python imports an extension module before a source file of the same name), so the
code that runs is the code that is reviewed and tested; the pure-Python modules stay
the fallback wherever no C compiler is available.

    scripts/compile.py           build the extension modules in place
    scripts/compile.py --clean   remove them (back to pure Python)
    scripts/compile.py --check   exit 1 unless the built modules match their sources

``fwsign/_native.json`` records the SHA-256 of each compiled source, so a build that no
longer matches its source is detected (``--check``, and a test) instead of silently
shadowing an edit. ``FWSIGN_PURE=1`` in the environment makes fwsign import the
sources even when a build exists.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.machinery
import json
import os
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Modules compiled, relative to the repository root.
MODULES = (
    "fwsign/cbor.py",
    "fwsign/frozenmap.py",
    "fwsign/_tables.py",  # generated; limits.py's defaults are its constants, built together
    "fwsign/limits.py",
    "fwsign/cose/algs.py",
    "fwsign/cose/headers.py",
    "fwsign/cose/messages.py",
    "fwsign/cose/sign.py",
    "fwsign/streams.py",
    "fwsign/verify.py",
    "fwsign/suit/codepoints.py",
    "fwsign/suit/decode.py",
    "fwsign/suit/encode.py",
    "fwsign/suit/model.py",
    "fwsign/suit/processor.py",
)
GROUP = "fwsign._native"
MANIFEST = ROOT / "fwsign" / "_native.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def built_files() -> list[Path]:
    """Extension modules of a build in the source tree (any Python version)."""
    out: list[Path] = []
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        out.extend(p for p in (ROOT / "fwsign").rglob(f"*{suffix}") if p.is_file())
    return sorted(set(out))


def clean() -> None:
    for p in built_files():
        p.unlink()
    MANIFEST.unlink(missing_ok=True)


def stale() -> list[str]:
    """Compiled modules whose source changed since the build (empty when up to date or not built)."""
    if not MANIFEST.exists():
        return []
    recorded = json.loads(MANIFEST.read_text())["sources"]
    return [m for m in MODULES if recorded.get(m) != _sha256(ROOT / m)] + [m for m in recorded if m not in MODULES]


def build() -> int:
    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").exists():
        print(f"compile: no Python headers in {include} (install python3-dev); fwsign stays pure Python", file=sys.stderr)
        return 1
    try:
        from mypyc.build import mypycify
        from setuptools import Distribution
    except ImportError as exc:
        print(f"compile: {exc.name} is not installed (pip install -e '.[test]'); fwsign stays pure Python", file=sys.stderr)
        return 1
    clean()
    os.chdir(ROOT)
    dist = Distribution({"name": "fwsign-native", "ext_modules": mypycify(list(MODULES), group_name=GROUP, opt_level="3")})
    cmd = dist.get_command_obj("build_ext")
    cmd.inplace = True
    cmd.build_temp = str(ROOT / "build" / "mypyc")
    cmd.parallel = os.cpu_count() or 1
    try:
        dist.run_command("build_ext")
    except Exception as exc:  # a failed C build leaves the pure-Python package working
        clean()
        print(f"compile: the C build failed ({exc}); fwsign stays pure Python", file=sys.stderr)
        return 1
    MANIFEST.write_text(json.dumps({"compiler": "mypyc", "python": sys.version.split()[0],
                                    "sources": {m: _sha256(ROOT / m) for m in MODULES}}, indent=1) + "\n")
    print(f"compile: {len(MODULES)} modules compiled with mypyc ({len(built_files())} extension files)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--clean", action="store_true", help="remove the compiled modules")
    group.add_argument("--check", action="store_true", help="exit 1 if a compiled module no longer matches its source")
    args = ap.parse_args()
    if args.clean:
        clean()
        return 0
    if args.check:
        changed = stale()
        for m in changed:
            print(f"compile: {m} does not match the compiled build; run make compile (or scripts/compile.py --clean)",
                  file=sys.stderr)
        return 1 if changed else 0
    return build()


if __name__ == "__main__":
    sys.exit(main())
