"""Turn the JSON results into PNG plots and SUMMARY.md.

Reads only the JSON files, so plots and tables can be regenerated (``run.py --report``)
without re-running a benchmark, and the summary never shows a figure the JSON lacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on CI or servers; must be chosen before pyplot is imported
import matplotlib.pyplot as plt
from matplotlib.patches import Patch
from matplotlib.ticker import ScalarFormatter


def _load(out: Path, name: str) -> dict[str, Any] | None:
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


# -- plots -------------------------------------------------------------------------------


def plot_verify(doc: dict[str, Any], out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    by_alg: dict[str, list[dict[str, Any]]] = {}
    for r in doc["results"]:
        by_alg.setdefault(r["algorithm"], []).append(r)
    for alg, rows in by_alg.items():
        rows.sort(key=lambda r: r["image_bytes"])
        ax.plot([r["image_bytes"] for r in rows], [r["ratio"] for r in rows], marker="o", label=alg)
    ax.axhline(doc["target_ratio"], color="grey", linestyle="--", linewidth=1, label=f"target {doc['target_ratio']:.2f}")
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_xscale("log", base=2)
    sizes = sorted({r["image_bytes"] for r in doc["results"]})
    ax.set_xticks(sizes, [r["image"] for r in sorted(doc["results"], key=lambda r: r["image_bytes"])
                          if r["algorithm"] == next(iter(by_alg))])
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    ax.set_xlabel("image size")
    ax.set_ylabel("median verify time / floor (log)")
    ax.set_title("fwsign verify_envelope vs sha256 + one signature verify")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out / "verify_ratio.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_cli(doc: dict[str, Any], out: Path) -> Path:
    rows = doc["results"]
    labels = [f"{r['operation']}\n{r['algorithm']}" for r in rows]
    x = range(len(rows))
    fw = [r["fwsign_s"]["median"] * 1e3 for r in rows]
    im = [r["imgtool_s"]["median"] * 1e3 for r in rows]
    fw_err = [[(r["fwsign_s"]["median"] - r["fwsign_s"]["min"]) * 1e3 for r in rows],
              [(r["fwsign_s"]["max"] - r["fwsign_s"]["median"]) * 1e3 for r in rows]]
    im_err = [[(r["imgtool_s"]["median"] - r["imgtool_s"]["min"]) * 1e3 for r in rows],
              [(r["imgtool_s"]["max"] - r["imgtool_s"]["median"]) * 1e3 for r in rows]]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    w = 0.38
    ax.bar([i - w / 2 for i in x], fw, w, yerr=fw_err, capsize=3, label="fwsign")
    ax.bar([i + w / 2 for i in x], im, w, yerr=im_err, capsize=3, label="imgtool")
    for i, r in enumerate(rows):
        ax.text(i, max(fw[i], im[i]) * 1.04, f"x{r['ratio']:.2f}", ha="center", fontsize=9)
    ax.set_xticks(list(x), labels)
    ax.set_ylabel("wall time per process, ms (median, min-max)")
    ax.set_title(f"CLI on a {doc['image_bytes'] // (1 << 20)} MiB image: fwsign vs MCUboot imgtool")
    ax.legend()
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    path = out / "cli.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_sizes(doc: dict[str, Any], out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    rows = doc["fwsign"] + doc["spec_examples"]
    labels = [r["label"] for r in rows]
    auth = [r["authentication_wrapper_bytes"] for r in rows]
    man = [r["manifest_bytes"] for r in rows]
    other = [r["other_bytes"] for r in rows]
    y = list(range(len(rows)))
    ax.barh(y, auth, label="authentication wrapper")
    ax.barh(y, man, left=auth, label="manifest")
    ax.barh(y, other, left=[a + m for a, m in zip(auth, man, strict=True)], label="other (severed members, CBOR heads)")
    for r in doc["imgtool"]:
        y.append(len(labels))
        labels.append(r["label"] + " overhead")
        ax.barh(y[-1], r["overhead_bytes"], color="grey")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("bytes")
    ax.set_title("Signed envelope sizes and imgtool's per-image overhead")
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Patch(color="grey", label="imgtool header + TLV"))
    ax.legend(handles=handles, fontsize=8, loc="upper right")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    path = out / "sizes.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- summary -------------------------------------------------------------------------------


def _ms(s: dict[str, float]) -> str:
    return f"{s['median'] * 1e3:.3f} ({s['min'] * 1e3:.3f}-{s['max'] * 1e3:.3f})"


def _ms0(s: dict[str, float]) -> str:
    return f"{s['median'] * 1e3:.0f} ({s['min'] * 1e3:.0f}-{s['max'] * 1e3:.0f})"


def summary_verify(doc: dict[str, Any]) -> list[str]:
    lines = [
        "### Verification vs the floor (in-process)",
        "",
        "| algorithm | image | fwsign CPU ms, median (min-max) | floor CPU ms, median (min-max) | ratio | ratio of mins "
        "| ratio, wall clock | overhead |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in doc["results"]:
        lines.append(f"| {r['algorithm']} | {r['image']} | {_ms(r['fwsign_s'])} | {_ms(r['floor_s'])} | "
                     f"{r['ratio']:.2f} | {r['ratio_of_mins']:.2f} | {r['ratio_wall']:.2f} | {r['overhead_us']:.0f} us |")
    target = doc["target_ratio"]
    checked = [r for r in doc["results"] if r["image_bytes"] in (1 << 20, 64 << 20)]
    met = [r for r in checked if r["ratio"] <= target]
    lines += [
        "",
        "Times are CPU time of the benchmark process (immune to waiting for a core on a busy machine); "
        f"the floor is SHA-256 over the same file with the same {doc['results'][0]['chunk_bytes'] // 1024} KiB chunks "
        "plus one direct verification of the same signature (PyNaCl for Ed25519, cryptography for ECDSA); "
        f"a ratio near 1 means fwsign adds almost nothing to the unavoidable work, and {len(met)} of the "
        f"{len(checked)} measurements at 1 MiB and 64 MiB meet the {target:.2f} target. "
        f"Build measured: {doc.get('build', 'pure Python')}.",
        "",
    ]
    pure = doc.get("pure_python_results")
    if pure:
        lines += [
            "The same at 1 MiB with the pure-Python modules (`FWSIGN_PURE=1`: an installation without the compiled build):",
            "",
            "| algorithm | image | fwsign CPU ms, median (min-max) | floor CPU ms, median (min-max) | ratio | ratio of mins | overhead |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in pure:
            lines.append(f"| {r['algorithm']} | {r['image']} | {_ms(r['fwsign_s'])} | {_ms(r['floor_s'])} | "
                         f"{r['ratio']:.2f} | {r['ratio_of_mins']:.2f} | {r['overhead_us']:.0f} us |")
        lines.append("")
    return lines


def summary_gateway(doc: dict[str, Any]) -> list[str]:
    lines = [
        "### Gateway throughput (one core, no image)",
        "",
        "| algorithm | envelope | fwsign envelopes/s | signature-only verifies/s | ratio | of which decode_envelope |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in doc["results"]:
        dec = r["per_call_us"]["stage_decode_envelope"]["median"]
        lines.append(f"| {r['algorithm']} | {r['envelope_bytes']} B | {r['envelopes_per_s']:,.0f} | "
                     f"{r['floor_verifies_per_s']:,.0f} | {r['ratio']:.2f} | {dec:.0f} us |")
    lines += [
        "",
        "One Python process verifies this many small envelopes per CPU second without their images; the ratio to the "
        "bare signature rate shows how much of each verification is parsing and policy rather than cryptography.",
        "",
    ]
    return lines


def summary_cli(doc: dict[str, Any]) -> list[str]:
    lines = [
        f"### CLI: fwsign vs MCUboot imgtool ({doc['image_bytes'] // (1 << 20)} MiB image, wall time per process)",
        "",
        "| operation | algorithm | fwsign ms, median (min-max) | imgtool ms, median (min-max) | ratio | ratio of mins |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in doc["results"]:
        lines.append(f"| {r['operation']} | {r['algorithm']} | {_ms0(r['fwsign_s'])} | {_ms0(r['imgtool_s'])} | "
                     f"{r['ratio']:.2f} | {r['ratio_of_mins']:.2f} |")
    st = doc["startup_s"]
    startup = ", ".join(f"`{name}` {s['median'] * 1e3:.0f} ms" for name, s in st.items())
    imp = doc["importtime_fwsign_verify"]
    worst = ", ".join(f"`{r['module']}` {r['cumulative_us'] / 1e3:.0f} ms" for r in imp["top_level_by_cumulative"][:4])
    lines += [
        "",
        "A ratio above 1 means the fwsign command takes longer than imgtool doing the same job on the same file; "
        "both are dominated by process start-up and imports at this image size.",
        "",
        f"Start-up (median): {startup}. Slowest top-level imports of `fwsign verify` (`-X importtime`): {worst}.",
        "",
    ]
    return lines


def summary_sizes(doc: dict[str, Any]) -> list[str]:
    lines = [
        "### Envelope sizes",
        "",
        "| envelope | bytes | authentication wrapper | manifest |",
        "|---|---:|---:|---:|",
    ]
    for r in doc["fwsign"] + doc["spec_examples"]:
        name = r["label"] + (f" ({r['shows']})" if "shows" in r else "")
        lines.append(f"| {name} | {r['envelope_bytes']} | {r['authentication_wrapper_bytes']} | {r['manifest_bytes']} |")
    lines += [
        "",
        "| imgtool | bytes added to the image | of which TLV trailer |",
        "|---|---:|---:|",
    ]
    for r in doc["imgtool"]:
        lines.append(f"| {r['label']} | {r['overhead_bytes']} | {r['tlv_bytes']} |")
    fw = {(r["algorithm"], r["kid"], bool(r["uri"])): r["envelope_bytes"] for r in doc["fwsign"]}
    kid_cost = fw[("Ed25519", True, False)] - fw[("Ed25519", False, False)]
    uri_cost = fw[("Ed25519", True, True)] - fw[("Ed25519", True, False)]
    uri_len = len(doc["identity"]["uri"])
    ex0 = next((r["envelope_bytes"] for r in doc["spec_examples"] if r["label"].endswith(" 0")), None)
    lines += [
        "",
        f"A signed single-image fwsign envelope is {fw[('Ed25519', True, False)]} bytes (spec example 0, the same shape: "
        f"{ex0} bytes); the key id costs {kid_cost} bytes and a download uri of {uri_len} characters {uri_cost} bytes, "
        "whereas imgtool adds its header (padded to the chosen header size) and a TLV trailer to the image itself.",
        "",
    ]
    return lines


def pq_table(doc: dict[str, Any]) -> list[str]:
    """The README's table: algorithm, signature and envelope bytes, host verify ratio, M4 cycles, BLE energy."""
    lines = ["| algorithm | signature B | envelope B | host verify (x Ed25519) | sign | Cortex-M4 verify cycles | "
             "BLE energy per update | of it, the envelope |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, r in doc["rows"].items():
        cycles = f"{r['m4_verify_cycles'] / 1e6:.2f} M" if r.get("m4_verify_cycles") else "—"
        energy = f"{r['ble_energy_mj']:.1f} mJ" if r.get("ble_energy_mj") else "—"
        env_e = f"{r['envelope_energy_mj']:.2f} mJ" if r.get("envelope_energy_mj") else "—"
        sign = r.get("sign_durable_wall_s", r["sign_s"])
        lines.append(f"| {label} | {r['signature_bytes']:,} | {r['envelope_bytes']:,} | {r['verify_ratio_to_ed25519']:.2f} | "
                     f"{sign * 1e3:.2f} ms | {cycles} | {energy} | {env_e} |")
    return lines


def summary_pq(doc: dict[str, Any]) -> list[str]:
    return ["## Post-quantum signatures (bench_pq.py)", "",
            f"One release envelope (a {doc['image_bytes'] // 1024} KiB image by uri) per algorithm. Sign: CPU time of "
            "one signature; HSS-LMS: wall time with its own durable reservation (fsync of key file and directory), "
            "as `fwsign sign` does. Cortex-M4: envelope verification, emulated instructions x CPI 1.25 (estimate); "
            "P-256 and Ed25519 signatures cited (nRF52840 profile). Energy: one update of an nRF52840 over BLE 1M.",
            "", *pq_table(doc), "", "![post-quantum](pq.png)", ""]


def plot_pq(doc: dict[str, Any], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {k: v for k, v in doc["rows"].items() if v.get("m4_verify_cycles")}
    labels = list(rows)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    specs = [("envelope_bytes", "envelope bytes", 1), ("m4_verify_cycles", "Cortex-M4 verify, M cycles (estimate)", 1e6),
             ("verify_ratio_to_ed25519", "host verify time / Ed25519", 1)]
    for ax, (key, title, scale) in zip(axes, specs, strict=True):
        vals = [rows[k][key] / scale for k in labels]
        ax.barh(labels, vals, color=["#4c72b0" if rows[k]["kind"] in ("ed25519", "p256") else "#dd8452" for k in labels])
        ax.set_title(title)
        ax.invert_yaxis()
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:,.0f}" if key == "envelope_bytes" else f" {v:.3g}", va="center", fontsize=8)
        if key != "envelope_bytes":
            ax.set_xscale("log")
    for ax in axes[1:]:
        ax.set_yticklabels([])
    fig.suptitle(f"Post-quantum signatures in a SUIT envelope ({doc['machine']['date'][:10]})")
    fig.tight_layout()
    path = out / "pq.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def generate(out: Path) -> list[Path]:
    written: list[Path] = []
    parts = ["# Benchmark results", ""]
    docs = {name: _load(out, name) for name in ("verify", "gateway", "cli", "sizes", "pq")}
    machine = next((d["machine"] for d in docs.values() if d is not None), None)
    if machine is not None:
        libs = ", ".join(f"{k} {v}" for k, v in machine["libraries"].items() if v and k in
                         ("cryptography", "pynacl", "cbor2", "imgtool"))
        parts += [f"Measured {machine['date'][:10]} on {machine['cpu_model']} ({machine['cores']} cores), "
                  f"Python {machine['python']}, {libs}; fwsign {machine.get('fwsign_build', 'pure Python')}. "
                  "Regenerate with `make bench`.", ""]
    if docs["verify"]:
        written.append(plot_verify(docs["verify"], out))
        parts += summary_verify(docs["verify"])
    if docs["gateway"]:
        parts += summary_gateway(docs["gateway"])
    if docs["cli"]:
        written.append(plot_cli(docs["cli"], out))
        parts += summary_cli(docs["cli"])
    if docs["sizes"]:
        written.append(plot_sizes(docs["sizes"], out))
        parts += summary_sizes(docs["sizes"])
    if docs["pq"]:
        written.append(plot_pq(docs["pq"], out))
        parts += summary_pq(docs["pq"])
    path = out / "SUMMARY.md"
    path.write_text("\n".join(parts).rstrip() + "\n")
    written.append(path)
    return written
