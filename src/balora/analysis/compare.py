"""`balora compare`: tables and figures from finished experiments, written to one folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from balora.analysis import plots
from balora.analysis.collect import RunGroup
from balora.analysis.power import write_power
from balora.analysis.ranks import adapter_ranks, rank_grid
from balora.analysis.sweeps import sweep_figures
from balora.analysis.train_size import train_size_text
from balora.analysis.table import comparison_table, write_tables
from balora.console import plural
from balora.errors import UserError


def _title(group: RunGroup) -> str:
    shots = f", {train_size_text(group.train_samples, group.first.results.headline_metric)}" if group.train_samples else ""
    return f"{group.label} ({group.dataset}{shots}, {plural(len(group.runs), 'seed')})"


def rank_title(group: RunGroup, stage: str = "") -> str:
    """A heatmap's title: the method and the experiment whose adapter it shows (ranks are one seed's)."""
    label = group.label if group.label.startswith(group.method) else f"{group.method}: {group.label}"
    return f"{label}{f', {stage} ranks' if stage else ''}\nexperiment {group.first.name}"


def rank_panels(groups: list[RunGroup]) -> list[tuple[str, object]]:
    """Heatmaps of every group whose adapter does not give every module the same rank (BA-LoRA,
    layer-wise schedules), and AdaLoRA's initial and final ranks; uniform LoRA adds nothing."""
    panels = []
    for group in groups:
        try:
            ranks = adapter_ranks(group.first.path / "model_checkpoint")
        except UserError:
            continue  # full fine-tuning has no ranks
        if "initial" in ranks:
            panels.append((rank_title(group, "initial"), rank_grid(ranks["initial"])))
            panels.append((rank_title(group, "final"), rank_grid(ranks["final"])))
        elif len(set(ranks["final"].values())) > 1:
            panels.append((rank_title(group), rank_grid(ranks["final"])))
    return panels


def summed_confusion(group: RunGroup) -> list[list[int]]:
    return np.sum([run.results.test("confusion_matrix") for run in group.runs], axis=0).tolist()


def compare(groups: list[RunGroup], output_dir: str | Path, say=print) -> list[Path]:
    if not groups:
        raise UserError("no finished experiments to compare")
    output_dir = Path(output_dir)
    table = comparison_table(groups)
    written = write_tables(table, output_dir)
    written.append(write_power(table, output_dir))
    written.append(plots.performance_plot(table, output_dir / "performance_plot.png"))
    panels = rank_panels(groups)
    if panels:
        written.append(plots.rank_heatmaps(panels, output_dir / "rank_allocation_heatmap.png"))
    else:
        say("no adapter with per-module ranks among these experiments: rank_allocation_heatmap.png not written")
    curves = []
    for group in groups:
        train, evals = plots.read_curves(group.first.path)
        curves.append((f"{group.label}, {group.dataset}" + (f", k={group.train_samples}" if group.train_samples else ""),
                       train, evals, group.first.results.headline_metric))
    written.append(plots.training_curves(curves, output_dir / "training_curves.png"))
    written.extend(sweep_figures(groups, output_dir))
    classifiers = [g for g in groups if "confusion_matrix" in g.first.results.metrics["test"]]
    if classifiers:  # language models have no classes to confuse
        written.append(plots.confusion_matrices(
            [(_title(g), summed_confusion(g),
              g.first.results.data.label_names) for g in classifiers], output_dir / "confusion_matrices.png"))
    return written
