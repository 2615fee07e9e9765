"""The status page: one self-contained HTML document, plots drawn as inline SVG on the server.

No script, no external stylesheet, font or CDN: the page is what the collector's figures
(:func:`fwsign.fleet.status.figures`) say, escaped, and nothing else (no token, no key).
"""

from __future__ import annotations

import datetime
from html import escape
from typing import Any, Final

COLOURS: Final = {"installed": "#2e7d32", "refused": "#c62828", "reverted": "#ef6c00", "pending": "#9e9e9e"}
STYLE: Final = """
body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}
th{background:#f3f3f3}
td.l,th.l{text-align:left}
h2{margin-top:1.5em}
.halt{background:#fdecea;border:1px solid #c62828;padding:.5em}
"""


def _t(ts: int | None) -> str:
    if ts is None:
        return "never"
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _dur(sec: float | None) -> str:
    if sec is None:
        return "-"
    s = int(sec)
    return f"{s // 3600}h {s % 3600 // 60:02d}m {s % 60:02d}s" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


def stacked_bars(rows: dict[str, dict[str, int]], width: int = 520) -> str:
    """A horizontal stacked bar per row (stage) of install / refuse / revert / pending counts."""
    bar_h, label_w = 22, 110
    h = bar_h * len(rows) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + label_w + 60}" height="{h}" role="img">']
    for i, (label, counts) in enumerate(rows.items()):
        y = 5 + i * bar_h
        total = sum(counts.values()) or 1
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(label)}</text>')
        x = float(label_w)
        for state, colour in COLOURS.items():
            w = width * counts.get(state, 0) / total
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h - 4}" fill="{colour}">'
                             f'<title>{state}: {counts.get(state, 0)}</title></rect>')
            x += w
        parts.append(f'<text x="{label_w + width + 5}" y="{y + 15}" font-size="12">{sum(counts.values())}</text>')
    ly = 5 + len(rows) * bar_h + 15
    lx = label_w
    for state, colour in COLOURS.items():
        parts.append(f'<rect x="{lx}" y="{ly - 10}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{lx + 14}" y="{ly}" font-size="12">{state}</text>')
        lx += 100
    parts.append("</svg>")
    return "".join(parts)


def bars(counts: dict[str, int], width: int = 420) -> str:
    """Vertical bars of a small categorical distribution (versions in the field)."""
    if not counts:
        return ""
    h, bw = 140, max(20, min(60, width // max(1, len(counts)) - 8))
    top = max(counts.values()) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{len(counts) * (bw + 8) + 20}" height="{h + 30}" role="img">']
    for i, (label, n) in enumerate(counts.items()):
        bh = (h - 20) * n / top
        x = 10 + i * (bw + 8)
        parts.append(f'<rect x="{x}" y="{h - bh:.1f}" width="{bw}" height="{bh:.1f}" fill="#1565c0">'
                     f'<title>{escape(label)}: {n}</title></rect>'
                     f'<text x="{x}" y="{h - bh - 3:.1f}" font-size="11">{n}</text>'
                     f'<text x="{x}" y="{h + 15}" font-size="11">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render(fig: dict[str, Any], halts: list[dict[str, Any]] | None = None) -> str:
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>fwsign fleet status</title>',
           f"<style>{STYLE}</style></head><body>",
           "<h1>Fleet status</h1>",
           f'<p>{fig["devices"]} devices, <span id="report-count">{fig["reports"]}</span> signed reports accepted; '
           f'as of {_t(fig["generated_at"])}. A device counts as installed only when its signed boot report names the '
           "release.</p>"]
    for h in halts or []:
        out.append(f'<p class="halt">Rollout of release {h["release"]} for class {escape(h["class_id"])} halted: '
                   f'{escape(h["rule"])}</p>')
    for cid, c in fig["classes"].items():
        ro = c["rollout"]
        out.append(f'<h2>Class {escape(cid)}</h2>')
        if ro is not None:
            out.append(f'<p>Rollout of release {ro["release"]}: {escape(ro["state"])}, stage {ro["stage"] or "-"} of '
                       f'{ro["stages"]} ({ro["percent"]}%).</p>')
        out.append('<table class="stages"><tr><th class="l">stage</th>' + "".join(f"<th>{s}</th>" for s in COLOURS)
                   + "<th>devices</th></tr>")
        for stage, counts in c["stages"].items():
            cells = "".join(f'<td data-state="{s}">{counts[s]}</td>' for s in COLOURS)
            out.append(f'<tr data-class="{escape(cid)}" data-stage="{escape(stage)}"><td class="l">{escape(stage)}</td>'
                       f"{cells}<td>{sum(counts.values())}</td></tr>")
        t = c["totals"]
        out.append('<tr class="total"><th class="l">all</th>' + "".join(
            f'<th data-total="{s}">{t[s]}</th>' for s in COLOURS) + f'<th>{c["devices"]}</th></tr></table>')
        out.append(stacked_bars(c["stages"]))
        if c["reasons"]:
            out.append('<h3>Reasons</h3><table><tr><th class="l">reason</th><th>devices</th></tr>' + "".join(
                f'<tr><td class="l">{escape(r)}</td><td>{n}</td></tr>' for r, n in sorted(c["reasons"].items())) + "</table>")
        out.append("<h3>Releases in the field (last booted)</h3>")
        out.append(bars(c["versions"]))
    out.append('<h2>Time from availability to installation</h2><table><tr><th class="l">class</th><th>release</th>'
               "<th>available</th><th>installed on</th><th>median</th><th>90th pct.</th><th>share still on it</th></tr>")
    for m in fig["releases"]:
        share = "-" if m["still_on_share"] is None else f'{100 * m["still_on_share"]:.1f}%'
        out.append(f'<tr><td class="l">{escape(m["class_id"])}</td><td>{m["release"]}</td><td>{_t(m["available_at"])}</td>'
                   f'<td>{m["installed_devices"]}</td><td>{_dur(m["median_seconds"])}</td><td>{_dur(m["p90_seconds"])}</td>'
                   f"<td>{share}</td></tr>")
    out.append('</table><h2>Devices</h2><table><tr><th class="l">device</th><th class="l">class</th><th>stage</th>'
               '<th class="l">state</th><th class="l">reason</th><th>release</th><th>last seen</th></tr>')
    for d in fig["device_list"]:
        out.append(f'<tr><td class="l"><a href="devices/{escape(d["device_id"])}">{escape(d["device_id"])}</a></td>'
                   f'<td class="l">{escape(d["class_id"])}</td><td>{d["stage"] or "-"}</td><td class="l">{d["state"]}</td>'
                   f'<td class="l">{escape(d["reason"] or "")}</td><td>{d["release"] if d["release"] is not None else "?"}</td>'
                   f'<td>{_t(d["last_seen"])}</td></tr>')
    out.append("</table></body></html>")
    return "".join(out)


def render_timeline(device_id: str, entries: list[dict[str, Any]]) -> str:
    rows = "".join(f'<tr><td>{_t(e["received_at"])}</td><td class="l">{e["kind"]}</td><td class="l">{escape(e["reason"])}</td>'
                   f'<td>{e["release"] if e["release"] is not None else "?"}</td></tr>' for e in entries)
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            "<title>fwsign device timeline</title>"
            f'<style>{STYLE}</style></head><body><p><a href="../">fleet status</a></p><h1>Device {escape(device_id)}</h1>'
            '<table><tr><th>received</th><th class="l">report</th><th class="l">result</th><th>release</th></tr>'
            f"{rows}</table></body></html>")
