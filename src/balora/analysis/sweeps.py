"""Figures of a study's sweeps: validation metric against optimizer step, one line per swept value.

One figure per swept entry of the study file (phase, dataset, label): every value of the sweep
is a line, the mean over seeds at each evaluation, with a band from the lowest to the highest
seed. A sweep of a setting whose values are not numbers (target modules) also gets a bar chart of
the peak validation metric by value, the figure such sweeps are read by.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from balora.analysis.collect import RunGroup
from balora.analysis.figures import figure, legend_outside, no_offset, pyplot, save, wrap, wrap_for
from balora.analysis.plots import read_curves
from balora.metric_registry import metric as metric_info
from balora.study.sweeps import is_categorical


@dataclass
class SweepFamily:
    """The groups of one swept entry, in the order of the sweep."""

    phase: str | None
    dataset: str
    entry_label: str
    settings: list[str]  # the swept settings, in the file's order
    groups: list[RunGroup]

    @property
    def categorical(self) -> bool:
        return any(is_categorical([g.swept[name] for g in self.groups]) for name in self.settings)

    def value_label(self, group: RunGroup) -> str:
        if len(self.settings) == 1:
            return group.swept_text[self.settings[0]]
        return ", ".join(f"{_short(name)}={group.swept_text[name]}" for name in self.settings)


def _short(name: str) -> str:
    return name.removeprefix("lora_")


def sweep_families(groups: list[RunGroup]) -> list[SweepFamily]:
    families: dict[tuple, SweepFamily] = {}
    for group in groups:
        if not group.swept:
            continue
        key = (group.phase, group.dataset, group.entry_label)
        if key not in families:
            families[key] = SweepFamily(group.phase, group.dataset, group.entry_label, list(group.swept), [])
        families[key].groups.append(group)
    return list(families.values())


def seed_curves(group: RunGroup, metric: str) -> pd.DataFrame:
    """Validation metric by step: mean, lowest and highest over the group's seeds."""
    frames = []
    for run in group.runs:
        _, evals = read_curves(run.path)
        if not evals.empty:
            frames.append(evals[["step", metric]].assign(seed=run.seed))
    if not frames:
        return pd.DataFrame(columns=["step", "mean", "low", "high"])
    joined = pd.concat(frames)
    return joined.groupby("step")[metric].agg(mean="mean", low="min", high="max").reset_index()


def peak_values(group: RunGroup, metric: str) -> list[float]:
    """Each seed's best validation metric over its evaluations (a perplexity's lowest)."""
    peaks = []
    for run in group.runs:
        _, evals = read_curves(run.path)
        if not evals.empty:
            peaks.append(float(metric_info(metric).best(evals[metric])))
    return peaks


def curve_peak(curve: pd.DataFrame, metric: str) -> float:
    """The best point of a mean curve, by the metric's direction; NaN for no curve."""
    return float(metric_info(metric).best(curve["mean"])) if not curve.empty else float("nan")


def sweep_figure(family: SweepFamily, output: Path) -> Path:
    plt, sns = pyplot()
    name = family.groups[0].first.results.headline_metric
    metric = metric_info(name)
    from matplotlib.ticker import MaxNLocator

    seeds = max(len(g.runs) for g in family.groups)
    panels = 2 if family.categorical else 1
    fig, axes = figure(plt, 6.4 * panels, 5.4, ncols=panels)
    curve_ax = axes[0][0]
    colors = sns.color_palette("tab10" if len(family.groups) <= 10 else "husl", len(family.groups))
    peaks = {}
    for color, group in zip(colors, family.groups):
        curve = seed_curves(group, name)
        peaks[family.value_label(group)] = [metric.shown(p) for p in peak_values(group, name)]
        peak = curve_peak(curve, name)
        curve_ax.plot(curve["step"], metric.shown(curve["mean"]), marker="o", markersize=3, color=color,
                      label=f"{family.value_label(group)}: best {metric.text(peak)}")
        if len(group.runs) > 1:
            curve_ax.fill_between(curve["step"], metric.shown(curve["low"]), metric.shown(curve["high"]), color=color,
                                  alpha=0.15)
    setting = " + ".join(family.settings)
    curve_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    curve_ax.set_xlabel("optimizer step")
    curve_ax.set_ylabel(f"validation {metric.axis_label}")
    no_offset(curve_ax)
    curve_ax.set_title(wrap_for(curve_ax, f"Validation {metric.long_label} vs step, by {setting}", 11), fontsize=11)
    legend_outside(fig, *curve_ax.get_legend_handles_labels(), title=wrap(setting, 38), where="below")
    if family.categorical:
        bar_ax = axes[0][1]
        labels = list(peaks)
        means = [sum(v) / len(v) if v else float("nan") for v in peaks.values()]
        spread = [(max(v) - min(v)) / 2 if len(v) > 1 else 0.0 for v in peaks.values()]
        positions = range(len(labels))
        bars = bar_ax.barh(list(positions), means, xerr=spread if any(spread) else None, color=colors[:len(labels)],
                           capsize=3)
        bar_ax.bar_label(bars, labels=[f"{m:.{metric.digits}f}{metric.unit}" for m in means], label_type="center",
                         color="white", fontweight="bold", fontsize=9)
        bar_ax.set_yticks(list(positions), [wrap(label, 22) for label in labels], fontsize=8)
        bar_ax.invert_yaxis()
        finite = [m for m in means if m == m]
        low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
        bar_ax.set_xlim(max(0.0, low - 10 * (metric.scale / 100)), high + 5 * (metric.scale / 100))
        bar_ax.set_xlabel(f"best validation {metric.axis_label}")
        bar_ax.set_title(wrap_for(bar_ax, f"Best validation {metric.long_label} by {setting}", 11), fontsize=11)
    where = f"{family.dataset}, phase {family.phase}" if family.phase else family.dataset
    band = ", band: lowest to highest seed" if seeds > 1 else ""
    over = f"mean over {seeds} seeds{band}" if seeds > 1 else "1 seed"
    fig.suptitle(wrap(f"Sweep of {setting} ({where}; {family.groups[0].method}; {over})", 60 * panels),
                 fontsize=12)
    return save(fig, output)


def sweep_figures(groups: list[RunGroup], output_dir: Path) -> list[Path]:
    written = []
    for family in sweep_families(groups):
        stem = "_".join(str(part) for part in ("sweep", family.dataset, family.phase, family.entry_label) if part)
        written.append(sweep_figure(family, Path(output_dir) / f"{stem}.png"))
    return written
