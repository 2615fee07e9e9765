"""Generate the limits and reason-code tables of both verifiers from one source.

fwsign/model_tables.toml holds every limit of the processing model (host default,
device default, C macro, Python field) and every reason code (meaning, the BOOTREF_E_*
codes that map onto it). This script writes:

    fwsign/_tables.py                          host defaults, device values, REASONS
    bootloader-ref/include/bootref_limits.h    device defaults as #ifndef/#define
    bootloader-ref/src/reasons_table.h         bootref_reason()'s strings and table
    bootloader-ref/src/report_table.h          SUIT report result code and reason per error code
    docs/processing-model.md                   the tables of sections 10 and 11
    docs/reports.md                            the table of reason codes in SUIT reports

    scripts/gen_tables.py           write the files that differ
    scripts/gen_tables.py --check   write nothing; exit 1 naming each file that differs

Error code numbers stay in bootloader-ref/include/bootref.h, where they are stable and
documented; they are read from there. Only the standard library is used, so the check
runs anywhere Python 3.11 does.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "fwsign" / "model_tables.toml"
BOOTREF_H = ROOT / "bootloader-ref" / "include" / "bootref.h"
ERRORS_PY = ROOT / "fwsign" / "errors.py"
PY_OUT = ROOT / "fwsign" / "_tables.py"
LIMITS_H = ROOT / "bootloader-ref" / "include" / "bootref_limits.h"
REASONS_H = ROOT / "bootloader-ref" / "src" / "reasons_table.h"
MODEL_MD = ROOT / "docs" / "processing-model.md"
REPORT_H = ROOT / "bootloader-ref" / "src" / "report_table.h"
REPORTS_MD = ROOT / "docs" / "reports.md"

#: suit-report-result-reason values (draft-ietf-suit-report, SUIT_Report_Reasons).
DRAFT_REASONS: dict[str, int] = {
    "ok": 0, "cbor-parse": 1, "cose-unsupported": 2, "alg-unsupported": 3, "unauthorised": 4,
    "command-unsupported": 5, "component-unsupported": 6, "component-unauthorised": 7,
    "parameter-unsupported": 8, "severing-unsupported": 9, "condition-failed": 10,
    "operation-failed": 11, "invoke-pending": 12,
}

SOURCE_NAME = "fwsign/model_tables.toml"
GENERATOR = "scripts/gen_tables.py"


class SourceError(Exception):
    """The source is inconsistent (with itself or with bootref.h)."""


@dataclass(frozen=True)
class Limit:
    name: str
    host: int
    device: int | None
    field: str | None
    host_field: str | None
    python: str | None
    macro: str | None
    refused: str
    c_doc: str
    unit: str


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    c: tuple[str, ...]
    python: str | None
    #: The C codes exist only in builds with this option (#if OPTION in reasons_table.h).
    c_option: str | None = None


@dataclass(frozen=True)
class ReportReason:
    reason: str
    number: int
    draft: str


@dataclass(frozen=True)
class Tables:
    limits: tuple[Limit, ...]
    reasons: tuple[Reason, ...]
    ok_code: str
    unknown: str
    base_reasons: dict[str, str]
    codes: dict[str, int]  # BOOTREF_OK / BOOTREF_E_* -> number, from bootref.h
    report: tuple[ReportReason, ...] = ()


def error_codes(header: str) -> dict[str, int]:
    """The bootref_err_t enumerators of bootref.h and their numbers."""
    m = re.search(r"typedef enum bootref_err \{(.*?)\} bootref_err_t;", header, re.S)
    if m is None:
        raise SourceError(f"{BOOTREF_H.relative_to(ROOT)}: no bootref_err_t enum")
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    codes: dict[str, int] = {}
    for name, number in re.findall(r"\b(BOOTREF_\w+)\s*=\s*(\d+)", body):
        codes[name] = int(number)
    if len(set(codes.values())) != len(codes):
        raise SourceError("bootref.h: two error codes share a number")
    return codes


def _str(entry: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str) or not value:
        raise SourceError(f"{where}: '{key}' must be a non-empty string")
    return value


def _int(entry: dict[str, Any], key: str, where: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SourceError(f"{where}: '{key}' must be a positive integer")
    return value


def load(source: Path = SOURCE, header: Path = BOOTREF_H) -> Tables:
    """Read and cross-check the source; raise SourceError on any inconsistency."""
    data = tomllib.loads(source.read_text())
    codes = error_codes(header.read_text())

    raw_limits = data.get("limit", [])
    by_field = {e["field"]: e for e in raw_limits if "field" in e}
    limits: list[Limit] = []
    for i, e in enumerate(raw_limits):
        where = f"limit[{i}] {e.get('name', '?')!r}"
        homes = [k for k in ("field", "host_field", "python") if k in e]
        if len(homes) != 1:
            raise SourceError(f"{where}: give exactly one of field, host_field, python")
        host = _int(e, "host", where)
        if "host_field" in e:
            if host is not None or e["host_field"] not in by_field:
                raise SourceError(f"{where}: host_field names a field of another limit and replaces 'host'")
            host = _int(by_field[e["host_field"]], "host", where)
        if host is None:
            raise SourceError(f"{where}: no host value")
        device = _int(e, "device", where)
        if ("macro" in e) != (device is not None):
            raise SourceError(f"{where}: a device value needs its C macro and a macro its value")
        macro = e.get("macro")
        if macro is not None and not re.fullmatch(r"BOOTREF_[A-Z0-9_]+", macro):
            raise SourceError(f"{where}: macro {macro!r} is not a BOOTREF_* name")
        field = e.get("field")
        if field is not None and not re.fullmatch(r"max_[a-z0-9_]+", field):
            raise SourceError(f"{where}: field {field!r} is not a max_* name")
        limits.append(Limit(
            name=_str(e, "name", where), host=host, device=device, field=field,
            host_field=e.get("host_field"), python=e.get("python"), macro=macro,
            refused=_str(e, "refused", where), c_doc=str(e.get("c_doc", "")).strip(), unit=str(e.get("unit", "")),
        ))
    for key in ("name", "field", "macro"):
        seen = [getattr(lim, key) for lim in limits if getattr(lim, key) is not None]
        if len(seen) != len(set(seen)):
            raise SourceError(f"two limits share a {key}")

    reasons: list[Reason] = []
    for i, e in enumerate(data.get("reason", [])):
        where = f"reason[{i}] {e.get('code', '?')!r}"
        code = _str(e, "code", where)
        if not re.fullmatch(r"[a-z]+(-[a-z]+)*", code):
            raise SourceError(f"{where}: a reason code is lower-case words joined by '-'")
        reasons.append(Reason(code, _str(e, "text", where), tuple(e.get("c", ())), e.get("python"),
                              e.get("c_option")))
    names = [r.code for r in reasons]
    if len(names) != len(set(names)):
        raise SourceError("two reasons share a code")

    c_only = data.get("c_only", {})
    ok_code = _str(c_only, "ok", "c_only")
    unknown = _str(c_only, "unknown", "c_only")
    base = dict(data.get("base_reasons", {}))
    if set(base) & set(names) or {unknown, "ok"} & set(names):
        raise SourceError("a base-class or C-only reason is also a reason code")

    mapped = [ok_code, *(c for r in reasons for c in r.c)]
    for c in mapped:
        if c not in codes:
            raise SourceError(f"{c} is not an error code of bootref.h")
    if len(mapped) != len(set(mapped)):
        raise SourceError("an error code maps onto two reasons")
    missing = sorted(set(codes) - set(mapped), key=codes.__getitem__)
    if missing:
        raise SourceError(f"error codes of bootref.h without a reason: {', '.join(missing)}")
    refused = {lim.refused for lim in limits} - set(names)
    if refused:
        raise SourceError(f"limits refused with unknown reasons: {', '.join(sorted(refused))}")
    report: list[ReportReason] = []
    for i, e in enumerate(data.get("report_reason", [])):
        where = f"report_reason[{i}] {e.get('reason', '?')!r}"
        rr = ReportReason(_str(e, "reason", where), _int(e, "number", where) or 0, _str(e, "draft", where))
        if rr.reason not in names:
            raise SourceError(f"{where}: not a reason code")
        if rr.draft not in DRAFT_REASONS or rr.draft == "ok":
            raise SourceError(f"{where}: {rr.draft!r} is not a failure reason of draft-ietf-suit-report")
        if rr.number < 1 or rr.number > 255:
            raise SourceError(f"{where}: number must be 1..255")
        report.append(rr)
    if len({r.reason for r in report}) != len(report) or len({r.number for r in report}) != len(report):
        raise SourceError("two report_reason entries share a reason or a number")
    unreported = sorted({r.code for r in reasons if r.c} - {r.reason for r in report})
    if unreported:
        raise SourceError(f"reasons of C error codes without a report_reason: {', '.join(unreported)}")
    return Tables(tuple(limits), tuple(reasons), ok_code, unknown, base, codes, tuple(report))


# --- Python -----------------------------------------------------------------------------


def render_python(t: Tables) -> str:
    out = [
        f'"""Limits and reason codes, generated by {GENERATOR} from {SOURCE_NAME}: do not edit.',
        "",
        "Change the source and run `make tables`; tests/test_tables.py fails while this file and",
        "the source differ. fwsign.limits and fwsign.errors import from here.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Final",
        "",
        "# Host defaults of fwsign.limits.Limits, one per field.",
    ]
    fields = [lim for lim in t.limits if lim.field is not None]
    for lim in fields:
        out.append(f"{str(lim.field).upper()}: Final = {lim.host:_}")
    out += [
        "",
        "#: The device's defaults (bootloader-ref/include/bootref_limits.h) as Limits fields; a",
        "#: field without a device counterpart keeps its host default.",
        "DEVICE: Final[dict[str, int]] = {",
    ]
    for lim in fields:
        out.append(f'    "{lim.field}": {lim.device if lim.device is not None else lim.host:_},')
    out += [
        "}",
        "",
        "#: Stable reason codes and what they mean.",
        "REASONS: Final[dict[str, str]] = {",
    ]
    for r in t.reasons:
        out.append(f"    {json.dumps(r.code)}: {json.dumps(r.text)},")
    out += [
        "}",
        "",
        "#: suit-report-result-reason values of draft-ietf-suit-report (SUIT_Report_Reasons).",
        "DRAFT_REASONS: Final[dict[str, int]] = {",
    ]
    for name, value in DRAFT_REASONS.items():
        out.append(f"    {json.dumps(name)}: {value},")
    out += [
        "}",
        "",
        "#: How a reason appears in a SUIT report: (suit-report-result-code, the draft's reason).",
        "REPORT_REASONS: Final[dict[str, tuple[int, str]]] = {",
    ]
    for rr in t.report:
        out.append(f"    {json.dumps(rr.reason)}: ({rr.number}, {json.dumps(rr.draft)}),")
    out += ["}", ""]
    return "\n".join(out)


# --- C ----------------------------------------------------------------------------------


def _c_comment(text: str, indent: str = "") -> list[str]:
    lines = text.splitlines() or [""]
    if len(lines) == 1:
        return [f"{indent}/* {lines[0]} */"]
    return [f"{indent}/* {lines[0]}", *(f"{indent} * {ln}".rstrip() for ln in lines[1:-1]), f"{indent} * {lines[-1]} */"]


def render_limits_h(t: Tables) -> str:
    out = [
        "/*",
        f" * bootref_limits.h - generated by {GENERATOR} from {SOURCE_NAME}:",
        " * do not edit; change the source and run `make tables`.",
        " *",
        " * The device defaults of the limits of docs/processing-model.md section 10. Each is",
        " * only a default: a device team overrides it by defining the macro first (or -D...).",
        " * bootref_config.h includes this file and adds the derived values and their checks.",
        " */",
        "#ifndef BOOTREF_LIMITS_H",
        "#define BOOTREF_LIMITS_H",
    ]
    for lim in t.limits:
        if lim.macro is None:
            continue
        if lim.field is not None:
            host = f"fwsign.limits.Limits.{lim.field}"
        elif lim.host_field is not None:
            host = f"fwsign.limits.Limits.{lim.host_field}"
        else:
            host = str(lim.python)
        note = f"Host: {host} = {lim.host}. Over the limit: \"{lim.refused}\"."
        text = f"{lim.c_doc}\n{note}" if lim.c_doc else note
        out += ["", *_c_comment(text), f"#ifndef {lim.macro}", f"#define {lim.macro} {lim.device}u", "#endif"]
    out += ["", "#endif /* BOOTREF_LIMITS_H */", ""]
    return "\n".join(out)


def _r_name(code: str) -> str:
    return "R_" + code.upper().replace("-", "_")


def render_reasons_h(t: Tables) -> str:
    # One entry per reason the C side returns, "unknown" first so that the numbers
    # bootref.h leaves unused (zero in reason_of) read as "unknown", never "ok".
    # Reasons whose codes exist only under a build option come last, strings and table
    # entries inside #if OPTION: a build without it carries neither.
    reason_of = {t.ok_code: "ok"}
    option_of: dict[str, str] = {}
    for r in t.reasons:
        for c in r.c:
            reason_of[c] = r.code
            if r.c_option is not None:
                option_of[c] = r.c_option
    ordered = sorted(reason_of, key=t.codes.__getitem__)
    plain = [c for c in ordered if c not in option_of]
    optional = [c for c in ordered if c in option_of]
    if optional and plain and t.codes[optional[0]] < t.codes[plain[-1]]:
        raise SourceError("codes under a build option must be numbered after every other code")
    strings = [t.unknown]
    for c in plain:
        if reason_of[c] not in strings:
            strings.append(reason_of[c])
    opt_strings: list[tuple[str, str]] = []
    for c in optional:
        if reason_of[c] not in strings and reason_of[c] not in [s for s, _ in opt_strings]:
            opt_strings.append((reason_of[c], option_of[c]))
    if len(strings) + len(opt_strings) > 256:
        raise SourceError("more than 256 C reasons do not fit reason_of's uint8_t")
    out = [
        "/*",
        f" * reasons_table.h - generated by {GENERATOR} from {SOURCE_NAME}",
        " * and the codes of bootref.h: do not edit; change the source and run `make tables`.",
        " *",
        " * bootref_reason()'s tables, included by errors.c only. The reason classes as one",
        " * block of NUL-terminated strings: no pointer table (4 bytes a reason on Cortex-M),",
        " * and a switch would be about twice the size again. Looked up on the error path only.",
        " */",
        "#ifndef BOOTREF_REASONS_TABLE_H",
        "#define BOOTREF_REASONS_TABLE_H",
        "",
        "static const char reasons[] =",
    ]
    line = "   "
    for s in strings:
        item = f' "{s}\\0"'
        if len(line) + len(item) > 92:
            out.append(line)
            line = "   "
        line += item
    out.append(line)
    option = None
    for s, opt in opt_strings:
        if opt != option:
            if option is not None:
                out.append("#endif")
            out.append(f"#if {opt}")
            option = opt
        out.append(f'    "{s}\\0"')
    if option is not None:
        out.append("#endif")
    out.append("    ;")
    out.append("")
    out.append("/* index of each string in reasons[] */")
    out.append("enum {")
    every = strings + [s for s, _ in opt_strings]
    out += [f"    {_r_name(s)}{' = 0' if i == 0 else ''}," for i, s in enumerate(every)]
    out.append("};")
    out += [
        "",
        "/* the reason of each error code of bootref.h; numbers it leaves unused are R_UNKNOWN (0) */",
        "static const uint8_t reason_of[] = {",
    ]
    width = max(len(c) for c in ordered) + 2
    option = None
    for c in ordered:
        opt = option_of.get(c)
        if opt != option:
            if option is not None:
                out.append("#endif")
            if opt is not None:
                out.append(f"#if {opt}")
            option = opt
        out.append(f"    {'[' + c + ']':<{width}} = {_r_name(reason_of[c])},  /* {t.codes[c]} */")
    if option is not None:
        out.append("#endif")
    out += ["};", "", "#endif /* BOOTREF_REASONS_TABLE_H */", ""]
    return "\n".join(out)


def render_report_h(t: Tables) -> str:
    number = {rr.reason: rr.number for rr in t.report}
    draft = {rr.reason: DRAFT_REASONS[rr.draft] for rr in t.report}
    rows = sorted(((t.codes[c], c, r.code) for r in t.reasons for c in r.c), key=lambda x: x[0])
    width = max(len(c) for _, c, _ in rows) + 2
    out = [
        "/*",
        f" * report_table.h - generated by {GENERATOR} from {SOURCE_NAME}",
        " * and the codes of bootref.h: do not edit; change the source and run `make tables`.",
        " *",
        " * For each error code of bootref.h, the SUIT report's result code (fwsign's stable",
        " * number of its reason) and result reason (draft-ietf-suit-report), packed as",
        " * number << 4 | draft reason; 0 for numbers bootref.h leaves unused. Included by",
        " * src/report.c only.",
        " */",
        "#ifndef BOOTREF_REPORT_TABLE_H",
        "#define BOOTREF_REPORT_TABLE_H",
        "",
        "static const uint16_t report_of[] = {",
    ]
    option_of = {c: r.c_option for r in t.reasons for c in r.c if r.c_option}
    option: str | None = None
    for n, c, code in rows:
        opt = option_of.get(c)
        if opt != option:  # codes that exist only with a compile-time option, as in reasons_table.h
            if option is not None:
                out.append("#endif")
            if opt is not None:
                out.append(f"#if {opt}")
            option = opt
        packed = number[code] << 4 | draft[code]
        out.append(f"    {'[' + c + ']':<{width}} = 0x{packed:03x},  /* {n}: {code} */")
    if option is not None:
        out.append("#endif")
    out += ["};", "", "#endif /* BOOTREF_REPORT_TABLE_H */", ""]
    return "\n".join(out)


def report_table(t: Tables) -> str:
    rows = ["| fwsign reason | result code | draft reason (value) |", "|---|---:|---|"]
    for rr in t.report:
        rows.append(f"| `{rr.reason}` | {rr.number} | `{rr.draft}` ({DRAFT_REASONS[rr.draft]}) |")
    return "\n".join(rows)


def render_reports_doc(t: Tables, doc: str) -> str:
    begin, end = _marker("report reasons")
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
    if not pattern.search(doc):
        raise SourceError(f"{REPORTS_MD.relative_to(ROOT)}: no '{begin}' ... '{end}' block")
    table = report_table(t)
    return pattern.sub(lambda _m: f"{begin}\n{table}\n{end}", doc, count=1)


# --- docs/processing-model.md -----------------------------------------------------------


def _shown(value: int, unit: str) -> str:
    if unit == "bytes" and value >= 1024 and value % 1024 == 0:
        return f"{value >> 20} MiB" if value % (1 << 20) == 0 else f"{value >> 10} KiB"
    return f"{value:,}"


def limits_table(t: Tables) -> str:
    rows = [
        "| limit | host default | Python | device default | C macro | refused as |",
        "|---|---:|---|---:|---|---|",
    ]
    for lim in t.limits:
        if lim.field is not None:
            py = f"`{lim.field}`"
        elif lim.host_field is not None:
            py = f"(`{lim.host_field}`)"
        else:
            py = f"`{str(lim.python).removeprefix('fwsign.')}`"
        device = _shown(lim.device, lim.unit) if lim.device is not None else "—"
        macro = f"`{lim.macro}`" if lim.macro else "—"
        rows.append(f"| {lim.name} | {_shown(lim.host, lim.unit)} | {py} | {device} | {macro} | `{lim.refused}` |")
    return "\n".join(rows)


def error_classes(source: str) -> dict[str, str]:
    """reason code -> the class of fwsign/errors.py that carries it as its own ``reason``."""
    out: dict[str, str] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt in node.body:
            target = stmt.target if isinstance(stmt, ast.AnnAssign) else (
                stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None)
            value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
            if (isinstance(target, ast.Name) and target.id == "reason" and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)):
                out.setdefault(value.value, node.name)
    return out


def reasons_table(t: Tables, classes: dict[str, str]) -> str:
    rows = ["| reason | meaning | Python | C (`BOOTREF_E_*`, number) |", "|---|---|---|---|"]
    for r in t.reasons:
        if not r.c:
            continue
        cls = r.python or classes.get(r.code)
        py = f"`{cls}`" if cls else "—"
        c = ", ".join(f"`{name.removeprefix('BOOTREF_E_')}` {t.codes[name]}" for name in sorted(r.c, key=t.codes.__getitem__))
        rows.append(f"| `{r.code}` | {r.text} | {py} | {c} |")
    return "\n".join(rows)


def _marker(what: str) -> tuple[str, str]:
    return (f"<!-- {what}: generated by {GENERATOR} from {SOURCE_NAME}; do not edit -->",
            f"<!-- end of generated {what} -->")


def render_doc(t: Tables, doc: str, classes: dict[str, str]) -> str:
    for what, table in (("limits", limits_table(t)), ("reasons", reasons_table(t, classes))):
        begin, end = _marker(what)
        pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
        if not pattern.search(doc):
            raise SourceError(f"{MODEL_MD.relative_to(ROOT)}: no '{begin}' ... '{end}' block")
        doc = pattern.sub(lambda _m, b=begin, tb=table, e=end: f"{b}\n{tb}\n{e}", doc, count=1)
    return doc


# --- main -------------------------------------------------------------------------------


def outputs(t: Tables) -> dict[Path, str]:
    """Every generated file and the text it must hold."""
    return {
        PY_OUT: render_python(t),
        LIMITS_H: render_limits_h(t),
        REASONS_H: render_reasons_h(t),
        REPORT_H: render_report_h(t),
        REPORTS_MD: render_reports_doc(t, REPORTS_MD.read_text()),
        MODEL_MD: render_doc(t, MODEL_MD.read_text(), error_classes(ERRORS_PY.read_text())),
    }


def stale(t: Tables | None = None) -> list[Path]:
    """The generated files whose text differs from what the source gives."""
    want = outputs(t or load())
    return [p for p, text in want.items() if not p.exists() or p.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file differs")
    args = ap.parse_args(argv)
    try:
        tables = load()
        want = outputs(tables)
    except SourceError as exc:
        print(f"gen_tables: {exc}", file=sys.stderr)
        return 2
    differ = [p for p, text in want.items() if not p.exists() or p.read_text() != text]
    for p in differ:
        rel = p.relative_to(ROOT)
        if args.check:
            print(f"gen_tables: {rel} differs from {SOURCE_NAME}; run `make tables`", file=sys.stderr)
        else:
            p.write_text(want[p])
            print(f"gen_tables: wrote {rel}")
    return 1 if args.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
