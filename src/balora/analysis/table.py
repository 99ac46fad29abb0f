"""The comparison table: one row per group, metrics as mean ± std over seeds, and the difference
to LoRA at the same budget with a paired test over seeds, its intervals and Holm-corrected p-values
(analysis/paired.py).

Test-split metrics are reported (the validation split chose the learning rate and the epoch).
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pandas as pd

from balora.analysis.collect import RunGroup
from balora.analysis.paired import (STATISTICS_HEADER, STATISTICS_NOTES, STAT_COLUMNS, add_family_columns,
                                    paired_columns, statistics_cells)
from balora.metric_registry import TABLE_METRICS, metric, table_metrics_of
from balora.analysis.train_size import train_size_text
from balora.results import atomic_write_text

REFERENCE_METHOD = "lora"
EDGE_MARK = "†"  # a method whose learning rate was chosen at an edge of its grid as run
SAME_BUDGET_TOLERANCE = 0.05  # AdaLoRA's rank granularity lands within about 1% of a LoRA budget


def mean_and_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def paired_difference(values: dict[int, float], reference: dict[int, float]) -> tuple[float | None, float | None, int]:
    """Mean of (value - reference) over the seeds both have, its paired t-test p-value, and n pairs."""
    from scipy.stats import ttest_rel

    seeds = sorted(set(values) & set(reference))
    if not seeds:
        return None, None, 0
    differences = [values[s] - reference[s] for s in seeds]
    p_value = None
    if len(seeds) > 1 and statistics.pstdev(differences) > 0:
        p_value = float(ttest_rel([values[s] for s in seeds], [reference[s] for s in seeds]).pvalue)
    return statistics.mean(differences), p_value, len(seeds)


def _same_setting(group: RunGroup, other: RunGroup) -> bool:
    keys = ("model_name_or_path", "epochs", "max_test_samples")
    return (other.dataset == group.dataset and other.train_samples == group.train_samples
            and all(other.first.config.get(k) == group.first.config.get(k) for k in keys))


def lora_reference(group: RunGroup, groups: list[RunGroup]) -> RunGroup | None:
    """LoRA on the same data whose adapter count is closest to the group's budget (within 5%)."""
    if group.method == REFERENCE_METHOD or not group.budget:
        return None
    candidates = [g for g in groups if g.method == REFERENCE_METHOD and _same_setting(group, g)
                  and abs(g.runs[0].results.parameters.adapter - group.budget) <= SAME_BUDGET_TOLERANCE * group.budget]
    if not candidates:
        return None
    return min(candidates, key=lambda g: (abs(g.runs[0].results.parameters.adapter - group.budget),
                                          g.phase != group.phase))


def test_metric(run, name: str) -> float:
    return run.results.test(name)


def memory_columns(group: RunGroup) -> dict:
    """Base as loaded and adapter as saved (the first run's: equal over seeds), mean training peak and mean
    whole-process peak (what a machine must hold); in MB."""
    memories = [r.results.memory for r in group.runs]
    process_peaks = [r.results.peak_memory.peak_mb for r in group.runs if r.results.peak_memory]
    first = memories[0]
    peaks = [m.peak_training_bytes for m in memories if m]
    return {"quantization": first.quantization if first else None,
            "base_model_mb": first.base_model_bytes / 2**20 if first else None,
            "adapter_mb": first.adapter_bytes / 2**20 if first and first.adapter_bytes else None,
            "peak_training_mb": statistics.mean(peaks) / 2**20 if peaks else None,
            "process_peak_mb": statistics.mean(process_peaks) if process_peaks else None}


def harness_columns(group: RunGroup) -> dict:
    """eval:<task>:<metric>_mean / _std / _n: lm-eval's score with the adapter applied, over the seeds
    that have the task's eval_<task>.json."""
    values: dict[tuple[str, str], list[float]] = {}
    for run in group.runs:
        for task, scores in run.harness_scores().items():
            for name in scores.metrics():
                values.setdefault((task, name), []).append(scores.tuned[name])
    columns = {}
    for (task, name), scores in values.items():
        base = f"eval:{task}:{name}"
        columns[f"{base}_mean"], columns[f"{base}_std"] = mean_and_std(scores)
        columns[f"{base}_n"] = len(scores)
    return columns


def _harness_cell(row, column: str) -> str:
    base = column.removesuffix("_mean")
    mean = row.get(column)
    if mean is None or pd.isna(mean):
        return "—"
    return metric(base.rpartition(":")[2]).mean_std_text(mean, row.get(f"{base}_std"), int(row[f"{base}_n"]))


def _megabytes(value, digits: int) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def peak_validation(run, name: str) -> float | None:
    """The best validation metric of any of the run's evaluations (every epoch, or every --eval_steps)."""
    from balora.jsonl import read_jsonl

    path = run.path / "metrics.jsonl"
    if not path.exists():
        return None
    values = [record[name] for record in read_jsonl(path) if record.get("type") == "eval" and name in record]
    return metric(name).best(values) if values else None


def comparison_table(groups: list[RunGroup]) -> pd.DataFrame:
    rows = []
    for group in groups:
        headline = group.first.results.headline_metric
        params = group.first.results.parameters
        row = {"phase": group.phase, "dataset": group.dataset, "method": group.label, "peft_method": group.method,
               "train_samples": group.train_samples, "budget": group.budget, "adapter_params": params.adapter,
               "peak_adapter_params": params.peak_adapter,
               "trainable_params": params.trainable, "n": len(group.runs),
               "seeds": " ".join(str(r.seed) for r in sorted(group.runs, key=lambda r: r.seed)),
               "learning_rate": group.first.config["learning_rate"], "headline_metric": headline,
               "learning_rate_at_edge": group.edge_warning}
        for name in table_metrics_of(group.first.results.metrics["test"]):
            row[f"test_{name}_mean"], row[f"test_{name}_std"] = mean_and_std([test_metric(r, name) for r in group.runs])
        row["validation_headline_mean"], row["validation_headline_std"] = mean_and_std(
            [r.results.validation(headline) for r in group.runs])
        row["wall_seconds_mean"] = statistics.mean(r.results.timing.total_seconds for r in group.runs)
        reference = lora_reference(group, groups)
        row["lora_reference"] = reference.label if reference else None
        row["delta_vs_lora"] = row["delta_p_value"] = row["delta_pairs"] = None
        row.update(dict.fromkeys(STAT_COLUMNS))
        if reference:
            row.update(paired_columns(group, reference, headline, test_metric))
        for name, text in group.swept_text.items():  # a sweep's values, one column per swept setting
            row[f"swept_{name}"] = text
        peaks = [peak_validation(r, headline) for r in group.runs]
        if all(p is not None for p in peaks):
            row["validation_peak_mean"], row["validation_peak_std"] = mean_and_std(peaks)
        row["experiments"] = ";".join(r.name for r in group.runs)
        row.update(memory_columns(group))
        row.update(harness_columns(group))
        rows.append(row)
    add_family_columns(rows)  # Holm's correction reads every comparison of the table
    return pd.DataFrame(rows)


def _mean_std(row, name: str) -> str:
    mean, std = row.get(f"test_{name}_mean"), row.get(f"test_{name}_std")
    if mean is None or pd.isna(mean):
        return "—"
    return metric(name).mean_std_text(mean, std, int(row["n"]))


def _delta(row) -> str:
    if row["delta_vs_lora"] is None or (isinstance(row["delta_vs_lora"], float) and math.isnan(row["delta_vs_lora"])):
        return "—"
    headline = metric(row["headline_metric"])
    p_value = row["delta_p_value"]
    p_text = "n/a" if p_value is None or (isinstance(p_value, float) and math.isnan(p_value)) else f"{p_value:.2f}"
    delta = f"{headline.shown(row['delta_vs_lora']):+.{headline.digits}f}"
    return f"{delta} (p={p_text}, n={int(row['delta_pairs'])})"


def markdown_table(table: pd.DataFrame) -> str:
    swept = [c for c in table.columns if c.startswith("swept_")]
    shown = [m for m in TABLE_METRICS if f"test_{m}_mean" in table.columns]
    harness = [c for c in table.columns if c.startswith("eval:") and c.endswith("_mean")]
    header = ["method", "dataset", "k-shot", *(c.removeprefix("swept_") for c in swept), "adapter params",
              *(["trainable params"] if swept else []), *(metric(m).label for m in shown),
              *(" ".join(c.removesuffix("_mean").split(":")[1:]) for c in harness), *(["peak validation"] if swept else []), "n", "wall s",
              "Δ vs LoRA, same budget", *STATISTICS_HEADER, "base / adapter MB", "train peak MB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        shots = train_size_text(row["train_samples"], row["headline_metric"], "full").removesuffix("-shot")
        swept_cells = [row[c] if isinstance(row[c], str) else "—" for c in swept]
        peak = []
        if swept:
            headline = metric(row["headline_metric"])
            peak = ["—" if pd.isna(row.get("validation_peak_mean")) else
                    f"{headline.shown(row['validation_peak_mean']):.{headline.digits}f}"]
        trainable = [f"{int(row['trainable_params']):,}"] if swept else []
        edge = isinstance(row.get("learning_rate_at_edge"), str)
        cells = [row["method"] + (f" {EDGE_MARK}" if edge else ""), row["dataset"], shots, *swept_cells,
                 f"{int(row['adapter_params']):,}", *trainable, *(_mean_std(row, m) for m in shown),
                 *(_harness_cell(row, c) for c in harness), *peak,
                 str(row["n"]), f"{row['wall_seconds_mean']:.0f}", _delta(row), *statistics_cells(row),
                 f"{_megabytes(row['base_model_mb'], 1)} / {_megabytes(row['adapter_mb'], 2)}",
                 _megabytes(row["peak_training_mb"], 0)]
        lines.append("| " + " | ".join(cells) + " |")
    notes = ("Test split; mean ± sample std over seeds, the value alone where one seed ran (accuracy, F1 and ROUGE in %; perplexity: lower is better). "
             "Δ: the headline metric minus LoRA's at the same budget on the same data, paired by seed (p: paired t-test, raw). Memory: the base model "
             "as loaded (quantized where quantized), the adapter file as saved, and the peak memory training added "
             "(mean over seeds; GPU allocator or CPU resident memory, see results_final.json)."
             + (" Peak validation: the best validation headline metric of any evaluation, mean over seeds."
                if swept else "")
             + (" lm-eval columns (task metric): the adapted model's score from eval_<task>.json, over the seeds "
                "evaluated." if harness else "") + " " + STATISTICS_NOTES
             + (f" {EDGE_MARK} The learning rate was chosen at an edge of its grid, grown as far as the study "
                "allowed (max_grid_extensions): the best rate may lie beyond it (study.json says which)."
                if "learning_rate_at_edge" in table.columns and table["learning_rate_at_edge"].map(
                    lambda v: isinstance(v, str)).any() else ""))
    return "\n".join(lines) + "\n\n" + notes + "\n"


def write_tables(table: pd.DataFrame, output_dir: Path) -> list[Path]:
    csv_path, md_path = output_dir / "comparison_table.csv", output_dir / "comparison_table.md"
    atomic_write_text(csv_path, table.to_csv(index=False))
    atomic_write_text(md_path, markdown_table(table))
    return [csv_path, md_path]
