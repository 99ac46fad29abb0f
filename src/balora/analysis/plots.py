"""Figures of a comparison: metric vs adapter parameters, rank heatmaps, training curves and
confusion matrices. Each function takes plain data and an output path and writes one PNG.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from balora.analysis.figures import at_least_span, figure, grid, legend_outside, no_offset, pyplot, save, wrap_for
from balora.errors import UserError
from balora.jsonl import read_jsonl
from balora.metric_registry import metric as metric_info

def performance_plot(table: pd.DataFrame, output: Path) -> Path:
    """Test headline metric (mean ± std over seeds) against adapter parameters, one panel per
    dataset and training-set size, one series per method."""
    plt, sns = pyplot()
    from balora.analysis.train_size import train_size_text

    table = table.assign(shots=[train_size_text(k, m) for k, m in zip(table["train_samples"], table["headline_metric"])])
    facets = list(dict.fromkeys(zip(table["dataset"], table["shots"])))
    fig, axes = grid(plt, len(facets), 5.2, 4.0, columns=2)
    palette = dict(zip(table["method"].unique(), sns.color_palette("tab10" if table["method"].nunique() <= 10
                                                                   else "husl", table["method"].nunique())))
    for ax, (dataset, shots) in zip(axes, facets):
        part = table[(table["dataset"] == dataset) & (table["shots"] == shots)]
        metric = metric_info(part["headline_metric"].iloc[0])
        for method, rows in part.groupby("method", sort=False):
            rows = rows.sort_values("adapter_params")
            ax.errorbar(rows["adapter_params"], metric.shown(rows[f"test_{metric.name}_mean"]),
                        yerr=metric.shown(rows[f"test_{metric.name}_std"]), marker="o", capsize=3,
                        label=method, color=palette[method])
        ax.set_xscale("log")
        ax.set_xlabel("adapter parameters (log scale)")
        ax.set_ylabel(f"test {metric.axis_label}")
        no_offset(ax)
        # At least twenty of the smallest step the table shows (2 points of accuracy): differences
        # the table rounds away should look flat, not like a cliff.
        at_least_span(ax, 20 * 10 ** -metric.digits)
        ax.set_title(wrap_for(ax, f"{dataset}, {shots}", 11), fontsize=11)
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    legend_outside(fig, handles, labels, title="method")
    fig.suptitle("Test metric vs adapter parameters (mean ± std over seeds)")
    return save(fig, output)


def rank_heatmaps(panels: list[tuple[str, pd.DataFrame]], output: Path) -> Path:
    """One heatmap per (title, layers x module-type grid), on a shared colour scale."""
    if not panels:
        raise UserError("no adapter with per-module ranks to plot")
    plt, sns = pyplot()
    vmax = max(float(ranks.max().max()) for _, ranks in panels)
    width = max(4.2, 1.6 + 0.9 * max(ranks.shape[1] for _, ranks in panels))
    longest = max(len(str(c)) for _, ranks in panels for c in ranks.columns)
    fig, axes = grid(plt, len(panels), width, 0.4 * max(ranks.shape[0] for _, ranks in panels) + 2.0 + 0.06 * longest)
    for ax, (title, ranks) in zip(axes, panels):
        sns.heatmap(ranks, ax=ax, annot=True, fmt=".0f", cmap="viridis", vmin=0, vmax=vmax,
                    cbar_kws={"label": "rank"}, linewidths=0.5)
        ax.set_title(wrap_for(ax, title, 10), fontsize=10)
        ax.set_xlabel("module")
        ax.set_ylabel("layer")
        # Module names read upwards, so long ones never run into their neighbours.
        ax.tick_params(axis="x", rotation=90)
        ax.tick_params(axis="y", rotation=0)
    return save(fig, output)


def read_curves(experiment_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training records and validation records of an experiment's metrics.jsonl."""
    path = Path(experiment_path) / "metrics.jsonl"
    if not path.exists():
        raise UserError(f"experiment {experiment_path}: no metrics.jsonl to plot")
    records = read_jsonl(path)
    train = pd.DataFrame([r for r in records if r.get("type") == "train"])
    evals = pd.DataFrame([r for r in records if r.get("type") == "eval"])
    # A resumed run logs the redone steps again; the later record is the one that counts.
    if not train.empty:
        train = train.drop_duplicates("step", keep="last").sort_values("step")
    if not evals.empty:
        evals = evals.drop_duplicates("step", keep="last").sort_values("step")
    return train, evals


def training_curves(curves: list[tuple[str, pd.DataFrame, pd.DataFrame, str]], output: Path) -> Path:
    """(label, train records, validation records, headline metric) per experiment: training and
    validation loss per optimizer step, and the validation metric per epoch."""
    if not curves:
        raise UserError("no training curves to plot")
    plt, sns = pyplot()
    fig, axes = figure(plt, 12.5, 4.6, ncols=2)
    loss_ax, metric_ax = axes[0]
    colors = sns.color_palette("tab10" if len(curves) <= 10 else "husl", len(curves))
    metrics = set()
    for color, (label, train, evals, name) in zip(colors, curves):
        metric = metric_info(name)
        # One legend entry per experiment (its colour); the line style says which split.
        if not train.empty:
            loss_ax.plot(train["step"], train["loss"], color=color, alpha=0.85)
        if not evals.empty:
            loss_ax.plot(evals["step"], evals["loss"], color=color, linestyle="--", marker="o")
            metric_ax.plot(evals["epoch"], metric.shown(evals[name]), color=color, marker="o", label=label)
        metrics.add(metric.axis_label)
    loss_ax.set_xlabel("optimizer step")
    loss_ax.set_ylabel("cross-entropy loss")
    loss_ax.set_title(wrap_for(loss_ax, "Loss (solid: training, dashed: validation)", 11), fontsize=11)
    metric_ax.set_xlabel("epoch")
    metric_ax.set_ylabel(wrap_for(metric_ax, "validation " + " / ".join(sorted(metrics)), 10))
    no_offset(metric_ax)
    metric_ax.set_title("Validation metric per epoch", fontsize=11)
    handles, labels = metric_ax.get_legend_handles_labels()
    legend_outside(fig, handles, labels, title="experiment")
    return save(fig, output)


def confusion_matrices(panels: list[tuple[str, list[list[int]], list[str]]], output: Path) -> Path:
    """(title, confusion matrix summed over seeds, class names) per group, rows normalised."""
    plt, sns = pyplot()
    size = max(len(names) for _, _, names in panels)
    longest = min(max(len(str(n)) for _, _, names in panels for n in names), 24)
    side = 1.4 + 0.8 * max(size, 3) + 0.07 * longest  # room for the class names beside and below
    fig, axes = grid(plt, len(panels), side, side + 0.5, columns=4)
    for ax, (title, matrix, names) in zip(axes, panels):
        shown = [wrap_class(name) for name in names]
        frame = pd.DataFrame(matrix, index=shown, columns=shown)
        shares = frame.div(frame.sum(axis=1).where(lambda s: s > 0, 1), axis=0) * 100
        sns.heatmap(shares, ax=ax, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, cbar=False)
        ax.set_title(wrap_for(ax, title, 9), fontsize=9)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.tick_params(axis="x", rotation=90)
        ax.tick_params(axis="y", rotation=0)
    fig.suptitle(wrap_for(axes[0], "Test confusion matrices (% of each true class, summed over seeds)", 12)
                 if len(panels) == 1 else "Test confusion matrices (% of each true class, summed over seeds)")
    return save(fig, output)


def wrap_class(name: str) -> str:
    """A long class name cut to 24 characters: a tick label, not a sentence."""
    name = str(name)
    return name if len(name) <= 24 else name[:23] + "…"
