"""Peak memory of a training step against batch size, one line per method, with the limit."""

from __future__ import annotations

from pathlib import Path

from balora.analysis.plots import _pyplot, _save
from balora.memory.finder import BatchSearch

GB = 10**9


def memory_plot(searches: list[tuple[str, BatchSearch]], limit_bytes: int, title: str, measure: str,
                output: Path) -> Path:
    plt, sns = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = sns.color_palette("colorblind", len(searches))
    for (label, search), color in zip(searches, colors):
        points = sorted((b, peak) for b, peak in search.measured.items() if peak is not None)
        best = search.largest_fitting
        ax.plot([b for b, _ in points], [peak / GB for _, peak in points], "o-", color=color, lw=2, ms=5,
                label=f"{label}: largest batch {best if best is not None else 'none'}")
        if best is not None:
            ax.plot([best], [search.measured[best] / GB], "*", color=color, ms=16, mec="black", mew=0.8, zorder=5)
    ax.axhline(limit_bytes / GB, color="crimson", ls="--", lw=1.5, label=f"limit {limit_bytes / GB:g} GB")
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_xlabel("batch size (sequences per step)")
    ax.set_ylabel("peak memory (GB)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{title}\n({measure}; ★ = largest batch within the limit)", fontsize=11)
    ax.legend(loc="upper left", fontsize=9, frameon=True)
    return _save(fig, output)
