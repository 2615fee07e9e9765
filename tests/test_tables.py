"""Limits and reason codes come from one source (fwsign/model_tables.toml): the generated
Python module, C headers and model tables must match it, and both verifiers must give
every error code the reason the source names.

The generated files are committed, so nothing here regenerates: a drift fails with the
name of the file and `make tables` as the fix.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from fwsign import _tables, errors
from fwsign.limits import DEFAULT_LIMITS, DEVICE_LIMITS, Limits

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT / "scripts" / "gen_tables.py"
BOOTREF = ROOT / "bootloader-ref"


def _gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_tables", GEN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_tables"] = module
    spec.loader.exec_module(module)
    return module


gen = _gen()
TABLES = gen.load()
#: BOOTREF_OK / BOOTREF_E_* -> number, read from bootref.h
CODES: dict[str, int] = gen.error_codes((BOOTREF / "include" / "bootref.h").read_text())
#: BOOTREF_OK / BOOTREF_E_* -> the reason the source maps it onto
C_REASON = {TABLES.ok_code: "ok", **{c: r.code for r in TABLES.reasons for c in r.c}}


def test_generated_files_match_the_source() -> None:
    proc = subprocess.run([sys.executable, str(GEN), "--check"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_check_mode_names_a_file_that_drifts(tmp_path: Path) -> None:
    # A limit changed in the source alone: the Python module, the C header and the model no longer match.
    source = (ROOT / "fwsign" / "model_tables.toml").read_text()
    changed = tmp_path / "model_tables.toml"
    changed.write_text(source.replace("device = 4096", "device = 8192", 1))
    assert gen.stale(gen.load(changed)) == [gen.PY_OUT, gen.LIMITS_H, gen.MODEL_MD]


def test_every_error_code_of_bootref_h_has_one_reason() -> None:
    assert CODES, "no error codes found in bootref.h"
    assert set(C_REASON) == set(CODES)
    shared = {r for r in C_REASON.values() if r != "ok"}
    assert shared <= set(errors.REASONS), "a reason of the C verifier is not one of the Python verifier's"


def test_bootref_reason_of_every_code_is_the_tables() -> None:
    lib = pytest.importorskip("fwsign.device.lib")
    if shutil.which("make") is None or shutil.which("gcc") is None:
        pytest.skip("building bootloader-ref needs make and gcc")
    for name, number in CODES.items():
        assert lib.reason(number) == C_REASON[name], name
    # numbers bootref.h leaves unused, and any beyond the last code, are "unknown" (never "ok")
    unused = [n for n in range(max(CODES.values()) + 3) if n not in CODES.values()]
    assert unused and {lib.reason(n) for n in [*unused, -1, 1 << 20]} == {TABLES.unknown}


def test_reasons_are_the_sources_in_order() -> None:
    assert list(errors.REASONS.items()) == [(r.code, r.text) for r in TABLES.reasons]
    assert errors.REASONS == _tables.REASONS and errors.REASONS is not _tables.REASONS


def _error_classes() -> list[type[errors.FwsignError]]:
    return [c for _, c in inspect.getmembers(errors, inspect.isclass)
            if issubclass(c, errors.FwsignError) and c.__module__ == errors.__name__]


def test_every_reason_attribute_is_a_reason_code() -> None:
    for cls in _error_classes():
        own = cls.__dict__.get("reason")
        if own is None:
            continue
        if own in TABLES.base_reasons:
            # a base class's own code: only ever raised with a more specific reason=
            assert TABLES.base_reasons[own] == cls.__name__, own
        else:
            assert own in errors.REASONS, f"{cls.__name__}.reason = {own!r} is not in REASONS"
    named = {r.python for r in TABLES.reasons if r.python}
    assert named <= {c.__name__ for c in _error_classes()}


def test_base_class_reasons_are_never_raised_bare() -> None:
    # FwsignError("x") would report "error", which no one documents: every construction of
    # a class whose own reason is a base code passes reason= (or forwards **kwargs).
    bases = set(TABLES.base_reasons.values())
    bare: list[str] = []
    for path in sorted((ROOT / "fwsign").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in bases and not any(k.arg in ("reason", None) for k in node.keywords):
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}(...)")
    assert not bare, bare


def test_limits_defaults_and_device_limits_are_the_sources() -> None:
    by_field = {lim.field: lim for lim in TABLES.limits if lim.field}
    assert [f.name for f in dataclasses.fields(Limits)] == list(by_field)
    assert dataclasses.asdict(DEFAULT_LIMITS) == {f: lim.host for f, lim in by_field.items()}
    assert dataclasses.asdict(DEVICE_LIMITS) == {
        f: lim.device if lim.device is not None else lim.host for f, lim in by_field.items()}
    assert isinstance(DEVICE_LIMITS, Limits)
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEVICE_LIMITS.max_depth = 1  # type: ignore[misc]


def test_host_constants_outside_limits_are_the_sources() -> None:
    # limits the host keeps elsewhere (delegation) are checked, not generated
    for lim in TABLES.limits:
        if lim.python:
            module, _, name = lim.python.rpartition(".")
            assert getattr(importlib.import_module(module), name) == lim.host, lim.python


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C preprocessor")
def test_bootref_config_h_gives_the_device_defaults_and_keeps_overrides() -> None:
    macros = [lim for lim in TABLES.limits if lim.macro]

    def expand(*flags: str) -> list[int]:
        text = '#include "bootref_config.h"\n' + "\n".join(f"{lim.macro}" for lim in macros) + "\n"
        proc = subprocess.run(["cc", "-E", "-P", "-I", str(BOOTREF / "include"), *flags, "-"],
                              input=text, capture_output=True, text=True, timeout=60, check=True)
        tail = proc.stdout.strip().splitlines()[-len(macros):]
        return [int(re.sub(r"[uU]$", "", v.strip())) for v in tail]

    assert expand() == [lim.device for lim in macros]
    # a device team's -D still wins over the generated default
    assert expand("-DBOOTREF_MAX_COMPONENTS=2u")[[lim.macro for lim in macros].index("BOOTREF_MAX_COMPONENTS")] == 2


def test_readme_reason_table_is_reasons() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| (.+?) \|$", readme.split("## Exit codes and reason codes", 1)[1], re.M))
    assert rows == errors.REASONS
