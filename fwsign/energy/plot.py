"""Plots of the energy model (matplotlib, imported only when a plot is drawn)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .model import OVERHEAD_TARGET, UpdateCost

#: Stack order and colours: unavoidable phases first (greys/blues), security phases after (warm colours).
_COLOURS = {
    "radio: image": "#9ecae1",
    "flash: erase": "#bdbdbd",
    "flash: write image": "#969696",
    "radio: update metadata": "#fdae6b",
    "radio: TUF metadata": "#fd8d3c",
    "flash: write metadata": "#fdd0a2",
    "cpu: parse and policy": "#a1d99b",
    "cpu: manifest digest": "#74c476",
    "cpu: TUF metadata hashing": "#c7e9c0",
    "cpu: TUF signatures": "#9e9ac8",
    "cpu: signature": "#756bb1",
    "cpu: image hash (read-back verify)": "#e6550d",
    "boot: verify": "#de2d26",
}


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("plotting needs matplotlib (pip install 'fwsign[bench]')") from None
    return plt


def _save(fig: Any, out: Path) -> Path:
    """PNG bytes rendered in memory, then written by temp file + rename (never a partial file)."""
    import io

    from ..keys import write_atomic

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    try:
        write_atomic(out, buf.getvalue())
    except OSError as exc:
        raise UsageError(f"cannot write plot {out}: {exc.strerror or exc}") from None
    return out


def plot_breakdown(costs: Sequence[UpdateCost], out: Path, title: str, labels: Sequence[str] | None = None) -> Path:
    """Stacked bars of energy per phase (mJ), one bar per cost; security share printed on top."""
    plt = _pyplot()
    names = [n for n in _COLOURS if any(p.name == n for c in costs for p in c.phases)]
    labels = list(labels) if labels is not None else [f"{c.device}\n{c.link}\n{c.scenario.mode}" for c in costs]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(costs) + 2), 5.0))
    bottoms = [0.0] * len(costs)
    for n in names:
        vals = [sum(p.energy_j for p in c.phases if p.name == n) * 1e3 for c in costs]
        ax.bar(range(len(costs)), vals, bottom=bottoms, color=_COLOURS[n], label=n, edgecolor="white", linewidth=0.3)
        bottoms = [b + v for b, v in zip(bottoms, vals, strict=True)]
    for i, c in enumerate(costs):
        mark = "ok" if c.overhead_share <= OVERHEAD_TARGET else "over"
        ax.text(i, bottoms[i], f"{c.overhead_share * 100:.1f}%\n{mark}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(costs)), labels, fontsize=7)
    ax.set_ylabel("energy per update (mJ)")
    ax.set_yscale("log" if max(bottoms) / max(min(bottoms), 1e-12) > 50 else "linear")
    ax.set_title(title + f"\n(text: security overhead vs unavoidable cost; target {OVERHEAD_TARGET:.0%})", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    try:
        return _save(fig, out)
    finally:
        plt.close(fig)


def plot_verify_time(panels: dict[str, dict[str, Sequence[tuple[int, float]]]], out: Path, title: str) -> Path:
    """Verification time (ms, log) against image size (KiB, log): one panel per device, one line per algorithm/library."""
    plt = _pyplot()
    n = len(panels)
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.0 * cols, 3.6 * rows), sharex=True, sharey=True, squeeze=False)
    for ax, (device, series) in zip(axes.flat, panels.items(), strict=False):
        for label, pts in series.items():
            style = "--" if "ed25519" in label else "-"
            ax.plot([s / 1024 for s, _ in pts], [t * 1e3 for _, t in pts], style, marker="o", markersize=3, label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(device, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("image size (KiB)")
    for ax in axes[:, 0]:
        ax.set_ylabel("one verification (ms)")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    try:
        return _save(fig, out)
    finally:
        plt.close(fig)
