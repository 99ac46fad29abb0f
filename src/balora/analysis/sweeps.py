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
from balora.analysis.plots import METRIC_NAMES, _pyplot, _save, _scale, read_curves
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
    """Each seed's best validation metric over its evaluations."""
    peaks = []
    for run in group.runs:
        _, evals = read_curves(run.path)
        if not evals.empty:
            peaks.append(float(evals[metric].max()))
    return peaks


def sweep_figure(family: SweepFamily, output: Path) -> Path:
    plt, sns = _pyplot()
    metric = family.groups[0].first.results.headline_metric
    from matplotlib.ticker import MaxNLocator

    scale, metric_name = _scale(metric), METRIC_NAMES.get(metric, metric)
    unit = "%" if scale == 100 else ""
    seeds = max(len(g.runs) for g in family.groups)
    panels = 2 if family.categorical else 1
    fig, axes = plt.subplots(1, panels, figsize=(7.2 * panels, 4.8), squeeze=False)
    curve_ax = axes[0][0]
    colors = sns.color_palette("tab10" if len(family.groups) <= 10 else "husl", len(family.groups))
    peaks = {}
    for color, group in zip(colors, family.groups):
        curve = seed_curves(group, metric)
        peaks[family.value_label(group)] = [scale * p for p in peak_values(group, metric)]
        peak = max(scale * curve["mean"]) if not curve.empty else float("nan")
        curve_ax.plot(curve["step"], scale * curve["mean"], marker="o", markersize=3, color=color,
                      label=f"{family.value_label(group)}: peak {peak:.1f}{unit}")
        if len(group.runs) > 1:
            curve_ax.fill_between(curve["step"], scale * curve["low"], scale * curve["high"], color=color, alpha=0.15)
    setting = " + ".join(family.settings)
    curve_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    curve_ax.set_xlabel("optimizer step")
    curve_ax.set_ylabel(f"validation {metric_name}")
    curve_ax.set_title(f"Validation {metric_name.split(' (')[0]} vs step, by {setting}", fontsize=11)
    curve_ax.legend(title=setting, fontsize=8, title_fontsize=9, loc="best")
    if family.categorical:
        bar_ax = axes[0][1]
        labels = list(peaks)
        means = [sum(v) / len(v) if v else float("nan") for v in peaks.values()]
        spread = [(max(v) - min(v)) / 2 if len(v) > 1 else 0.0 for v in peaks.values()]
        positions = range(len(labels))
        bars = bar_ax.barh(list(positions), means, xerr=spread if any(spread) else None, color=colors[:len(labels)],
                           capsize=3)
        bar_ax.bar_label(bars, labels=[f"{m:.1f}{unit}" for m in means], label_type="center", color="white",
                         fontweight="bold", fontsize=9)
        bar_ax.set_yticks(list(positions), labels, fontsize=8)
        bar_ax.invert_yaxis()
        low = min(m for m in means if m == m) if any(m == m for m in means) else 0.0
        bar_ax.set_xlim(max(0.0, low - 10 * (scale / 100)), max(m for m in means if m == m) + 5 * (scale / 100))
        bar_ax.set_xlabel(f"peak validation {metric_name}")
        bar_ax.set_title(f"Peak validation {metric_name.split(' (')[0]} by {setting}", fontsize=11)
    where = f"{family.dataset}, phase {family.phase}" if family.phase else family.dataset
    band = ", band: lowest to highest seed" if seeds > 1 else ""
    over = f"mean over {seeds} seeds{band}" if seeds > 1 else "1 seed"
    fig.suptitle(f"Sweep of {setting} ({where}; {family.groups[0].method}; {over})", fontsize=12)
    fig.tight_layout()
    return _save(fig, output)


def sweep_figures(groups: list[RunGroup], output_dir: Path) -> list[Path]:
    written = []
    for family in sweep_families(groups):
        stem = "_".join(str(part) for part in ("sweep", family.dataset, family.phase, family.entry_label) if part)
        written.append(sweep_figure(family, Path(output_dir) / f"{stem}.png"))
    return written
