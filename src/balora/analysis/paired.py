"""The statistics columns of the comparison table: a group against its reference, seed by seed.

Reads the runs' test_predictions.csv for the bootstrap over test examples (classifiers only; a
language model's table has the interval over seeds alone) and leaves the arithmetic to stats.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from balora.analysis import stats
from balora.analysis.collect import RunGroup
from balora.metric_registry import metric

STAT_COLUMNS = ("delta_std", "delta_ci_low", "delta_ci_high", "delta_bootstrap_low", "delta_bootstrap_high",
                "delta_cohens_dz", "delta_p_holm", "delta_verdict")


def _predictions(run) -> tuple[np.ndarray, np.ndarray] | None:
    path = run.path / "test_predictions.csv"
    if not path.exists():
        return None
    frame = pd.read_csv(path, usecols=["label", "prediction"])
    return frame["label"].to_numpy(), frame["prediction"].to_numpy()


def bootstrap_interval(group: RunGroup, reference: RunGroup, headline: str) -> tuple[float | None, float | None]:
    """The paired bootstrap interval over the seeds both groups ran, or (None, None) where it cannot be
    drawn: a metric not computed from classes, a run without predictions, or test sets that differ."""
    if headline not in stats.FROM_CONFUSION:
        return None, None
    ours, theirs = {r.seed: r for r in group.runs}, {r.seed: r for r in reference.runs}
    seeds = sorted(set(ours) & set(theirs))
    pairs = [(_predictions(ours[s]), _predictions(theirs[s])) for s in seeds]
    if not pairs or any(a is None or b is None for a, b in pairs):
        return None, None
    labels = pairs[0][0][0]
    # Pairing by example needs the same test examples in the same order in every run.
    if any(len(run[0]) != len(labels) or not np.array_equal(run[0], labels) for pair in pairs for run in pair):
        return None, None
    return stats.paired_bootstrap(labels, [a[1] for a, _ in pairs], [b[1] for _, b in pairs], headline)


def paired_columns(group: RunGroup, reference: RunGroup, headline: str, test_metric) -> dict:
    """Mean difference, n, t-interval, p, effect size and bootstrap interval of one comparison."""
    ours = {r.seed: test_metric(r, headline) for r in group.runs}
    theirs = {r.seed: test_metric(r, headline) for r in reference.runs}
    seeds = sorted(set(ours) & set(theirs))
    if not seeds:
        return {"delta_vs_lora": None, "delta_p_value": None, "delta_pairs": 0}
    summary = stats.paired_summary([ours[s] - theirs[s] for s in seeds])
    low, high = bootstrap_interval(group, reference, headline)
    return {"delta_vs_lora": summary.mean, "delta_p_value": summary.p_value, "delta_pairs": summary.n,
            "delta_std": summary.std, "delta_ci_low": summary.low, "delta_ci_high": summary.high,
            "delta_bootstrap_low": low, "delta_bootstrap_high": high, "delta_cohens_dz": summary.cohens_dz}


def _value(row, name):
    value = row.get(name)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def add_family_columns(rows: list[dict]) -> None:
    """Holm-adjust the p-values of every comparison in the table together, then give each its verdict."""
    adjusted = stats.holm([_value(row, "delta_p_value") for row in rows])
    for row, p_holm in zip(rows, adjusted):
        if _value(row, "delta_pairs") is None or not row.get("lora_reference"):
            continue
        row["delta_p_holm"] = p_holm
        row["delta_verdict"] = stats.verdict(
            [(_value(row, "delta_ci_low"), _value(row, "delta_ci_high")),
             (_value(row, "delta_bootstrap_low"), _value(row, "delta_bootstrap_high"))],
            p_holm, metric(row["headline_metric"]).higher_is_better)


def interval_text(row, low: str, high: str) -> str:
    """``[-0.4, +2.1]`` in the headline metric's shown units, or — where there is none."""
    a, b = _value(row, low), _value(row, high)
    if a is None or b is None:
        return "—"
    headline = metric(row["headline_metric"])
    return f"[{headline.shown(a):+.{headline.digits}f}, {headline.shown(b):+.{headline.digits}f}]"


def statistics_cells(row) -> list[str]:
    """The markdown cells after Δ: CI over seeds, CI over test examples, Holm p, d_z, verdict."""
    p_holm, dz = _value(row, "delta_p_holm"), _value(row, "delta_cohens_dz")
    return [interval_text(row, "delta_ci_low", "delta_ci_high"),
            interval_text(row, "delta_bootstrap_low", "delta_bootstrap_high"),
            "—" if p_holm is None else f"{p_holm:.2f}", "—" if dz is None else f"{dz:+.2f}",
            _value(row, "delta_verdict") or "—"]


STATISTICS_HEADER = ["95% CI, seeds", "95% CI, test bootstrap", "p (Holm)", "d_z", "verdict"]
STATISTICS_NOTES = (
    "Δ statistics: 95% CI, seeds: t-interval of the per-seed paired differences; 95% CI, test bootstrap: "
    f"percentile interval of {stats.BOOTSTRAP_SAMPLES} paired resamples of the test examples (the same "
    "examples for both methods and every seed; classifiers only); p: the raw paired t-test p-value; "
    "p (Holm): Holm-adjusted over every comparison in this table (Holm–Bonferroni, family-wise α = 0.05); "
    "d_z: Cohen's d_z, the mean paired difference over its standard deviation; verdict: better or worse "
    "only where both intervals exclude 0 and p (Holm) < 0.05, else not distinguishable (— with one seed). "
    "With n = 3 only a large, consistent difference can be told apart: see power.md.")
