"""Figures of a comparison: metric vs adapter parameters, rank heatmaps, training curves and
confusion matrices. Each function takes plain data and an output path and writes one PNG.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from balora.errors import UserError

METRIC_NAMES = {"accuracy": "accuracy (%)", "f1_macro": "macro F1 (%)", "matthews_correlation": "Matthews correlation",
                "perplexity": "perplexity (lower is better)", "rouge1": "ROUGE-1 (%)", "rouge2": "ROUGE-2 (%)",
                "rougeL": "ROUGE-L (%)", "rougeLsum": "ROUGE-Lsum (%)", "exact_match": "exact match (%)"}


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only; no display needed
        import matplotlib.pyplot as plt
        import seaborn as sns
    except ImportError:
        raise UserError("plots need matplotlib and seaborn: pip install 'balora[plots]'") from None
    sns.set_theme(style="whitegrid", context="notebook")
    return plt, sns


def _save(fig, output: Path) -> Path:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.stem}.tmp{output.suffix}")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    tmp.replace(output)
    return output


def _grid(plt, panels: int, width: float, height: float, columns: int = 3):
    columns = min(columns, panels)
    rows = math.ceil(panels / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:panels])


def _scale(metric: str) -> float:
    from balora.analysis.metrics import scale

    return scale(metric)


def performance_plot(table: pd.DataFrame, output: Path) -> Path:
    """Test headline metric (mean ± std over seeds) against adapter parameters, one panel per
    dataset and training-set size, one series per method."""
    plt, sns = _pyplot()
    table = table.assign(shots=table["train_samples"].map(lambda k: "full data" if pd.isna(k) else f"{int(k)}-shot"))
    facets = list(dict.fromkeys(zip(table["dataset"], table["shots"])))
    fig, axes = _grid(plt, len(facets), 6.0, 4.2, columns=2)
    palette = dict(zip(table["method"].unique(), sns.color_palette("tab10", table["method"].nunique())))
    for ax, (dataset, shots) in zip(axes, facets):
        part = table[(table["dataset"] == dataset) & (table["shots"] == shots)]
        metric = part["headline_metric"].iloc[0]
        for method, rows in part.groupby("method", sort=False):
            rows = rows.sort_values("adapter_params")
            ax.errorbar(rows["adapter_params"], _scale(metric) * rows[f"test_{metric}_mean"],
                        yerr=_scale(metric) * rows[f"test_{metric}_std"], marker="o", capsize=3,
                        label=method, color=palette[method])
        ax.set_xscale("log")
        ax.set_xlabel("adapter parameters (log scale)")
        ax.set_ylabel(f"test {METRIC_NAMES.get(metric, metric)}")
        ax.set_title(f"{dataset}, {shots}")
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), title="method")
    fig.suptitle("Test metric vs adapter parameters (mean ± std over seeds)")
    fig.tight_layout()
    return _save(fig, output)


def rank_heatmaps(panels: list[tuple[str, pd.DataFrame]], output: Path) -> Path:
    """One heatmap per (title, layers x module-type grid), on a shared colour scale."""
    if not panels:
        raise UserError("no adapter with per-module ranks to plot")
    plt, sns = _pyplot()
    vmax = max(float(grid.max().max()) for _, grid in panels)
    width = max(3.2, 1.0 + 0.9 * max(grid.shape[1] for _, grid in panels))
    fig, axes = _grid(plt, len(panels), width, 0.45 * max(grid.shape[0] for _, grid in panels) + 1.6)
    for ax, (title, grid) in zip(axes, panels):
        sns.heatmap(grid, ax=ax, annot=True, fmt=".0f", cmap="viridis", vmin=0, vmax=vmax,
                    cbar_kws={"label": "rank"}, linewidths=0.5)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("module")
        ax.set_ylabel("layer")
        ax.tick_params(axis="x", rotation=30)
        ax.tick_params(axis="y", rotation=0)
    fig.tight_layout()
    return _save(fig, output)


def read_curves(experiment_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training records and validation records of an experiment's metrics.jsonl."""
    path = Path(experiment_path) / "metrics.jsonl"
    if not path.exists():
        raise UserError(f"experiment {experiment_path}: no metrics.jsonl to plot")
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
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
    plt, sns = _pyplot()
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(13, 4.6))
    colors = sns.color_palette("tab10" if len(curves) <= 10 else "husl", len(curves))
    metrics = set()
    for color, (label, train, evals, metric) in zip(colors, curves):
        if not train.empty:
            loss_ax.plot(train["step"], train["loss"], color=color, alpha=0.85, label=f"{label} (train)")
        if not evals.empty:
            loss_ax.plot(evals["step"], evals["loss"], color=color, linestyle="--", marker="o", label=f"{label} (validation)")
            metric_ax.plot(evals["epoch"], _scale(metric) * evals[metric], color=color, marker="o", label=label)
        metrics.add(metric)
    loss_ax.set_xlabel("optimizer step")
    loss_ax.set_ylabel("cross-entropy loss")
    loss_ax.set_title("Loss (solid: training, dashed: validation)")
    metric_ax.set_xlabel("epoch")
    metric_ax.set_ylabel("validation " + " / ".join(METRIC_NAMES.get(m, m) for m in sorted(metrics)))
    metric_ax.set_title("Validation metric per epoch")
    metric_ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    fig.tight_layout()
    return _save(fig, output)


def confusion_matrices(panels: list[tuple[str, list[list[int]], list[str]]], output: Path) -> Path:
    """(title, confusion matrix summed over seeds, class names) per group, rows normalised."""
    plt, sns = _pyplot()
    size = max(len(names) for _, _, names in panels)
    fig, axes = _grid(plt, len(panels), 1.0 + 0.9 * max(size, 3), 0.8 + 0.8 * max(size, 3), columns=4)
    for ax, (title, matrix, names) in zip(axes, panels):
        frame = pd.DataFrame(matrix, index=names, columns=names)
        shares = frame.div(frame.sum(axis=1).where(lambda s: s > 0, 1), axis=0) * 100
        sns.heatmap(shares, ax=ax, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, cbar=False, square=True)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
    fig.suptitle("Test confusion matrices (% of each true class, summed over seeds)")
    fig.tight_layout()
    return _save(fig, output)
