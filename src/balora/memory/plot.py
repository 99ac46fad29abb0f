"""Peak memory of a training step against batch size, one line per method, with the limit; beside
it, the largest batch each method fits within the limit."""

from __future__ import annotations

from pathlib import Path

from balora.analysis.figures import figure, legend_outside, pyplot, save, wrap
from balora.memory.finder import BatchSearch

GB = 10**9


def require_plot_libraries() -> None:
    """One line naming the missing libraries, before anything is measured."""
    pyplot()


def memory_plot(searches: list[tuple[str, BatchSearch]], limit_bytes: int, title: str, measure: str,
                output: Path) -> Path:
    plt, sns = pyplot()
    names = [wrap(label, 24) for label, _ in searches]
    # Tall enough for every bar's (wrapped) name beside it.
    height = max(5.4, 2.4 + 0.2 * sum(name.count("\n") + 1.6 for name in names))
    fig, axes = figure(plt, 12, height, ncols=2, gridspec_kw={"width_ratios": [2.2, 1]})
    ax, bars = axes[0]
    colors = sns.color_palette("colorblind", len(searches))
    for (label, search), color in zip(searches, colors):
        points = sorted((b, peak) for b, peak in search.measured.items() if peak is not None)
        ax.plot([b for b, _ in points], [peak / GB for _, peak in points], "o-", color=color, lw=2, ms=5, label=label)
        best = search.largest_fitting
        if best is not None:
            ax.plot([best], [search.measured[best] / GB], "*", color=color, ms=15, mec="black", mew=0.8, zorder=5)
    ax.axhline(limit_bytes / GB, color="crimson", ls="--", lw=1.5, label=f"limit {limit_bytes / GB:g} GB")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("batch size (sequences per step)")
    ax.set_ylabel("peak memory (GB)")
    ax.set_title("peak memory of one step (★ largest batch within the limit)", fontsize=11)
    legend_outside(fig, *ax.get_legend_handles_labels(), where="below")

    labels = [label for label, _ in searches]
    largest = [search.largest_fitting or 0 for _, search in searches]
    bars.barh(range(len(labels)), largest, color=colors)
    bars.set_yticks(range(len(labels)), names, fontsize=9)
    bars.invert_yaxis()
    for i, (value, (_, search)) in enumerate(zip(largest, searches)):
        text = f"{value}" + (" (cap)" if search.reached_cap else "") if value else "none fits"
        bars.text(value, i, f" {text}", va="center", fontsize=11, fontweight="bold")
    bars.set_xlim(0, max(largest + [1]) * 1.3)
    bars.set_xlabel(f"largest batch within {limit_bytes / GB:g} GB (sequences)")
    bars.set_title("largest batch that fits", fontsize=11)
    fig.suptitle(wrap(title, 110) + "\n" + wrap(measure, 110), fontsize=12)
    return save(fig, output)
