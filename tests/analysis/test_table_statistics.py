"""The comparison table's interval, Holm and verdict columns, from runs with test predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from balora.analysis import stats
from balora.analysis.collect import groups_from_names
from balora.analysis.table import comparison_table, markdown_table
from analysis.fake_runs import fake_predictions, fake_run

LABELS = np.array([0, 1] * 50)


def _predictions(correct: int) -> np.ndarray:
    """Predictions of LABELS whose first ``correct`` examples are right, the rest wrong."""
    return np.where(np.arange(len(LABELS)) < correct, LABELS, 1 - LABELS)


@pytest.fixture
def table(tmp_path):
    lora, strong, close = {1: 80, 2: 82, 3: 78}, {1: 90, 2: 93, 3: 88}, {1: 81, 2: 81, 3: 79}
    names = []
    for label, method, scores, config in (("lora", "lora", lora, {"lora_r": 8}),
                                          ("strong", "ba_lora", strong, {"param_budget": 73728}),
                                          ("close", "pissa", close, {"param_budget": 73728})):
        for seed, correct in scores.items():
            path = fake_run(tmp_path, f"{label}_s{seed}", method, seed, correct / 100, **config)
            fake_predictions(path, LABELS, _predictions(correct))
            names.append(path.name)
    return comparison_table(groups_from_names(tmp_path, names)).set_index("method"), lora, strong, close


def test_intervals_holm_and_verdict(table):
    table, lora, strong, close = table
    rows = {"ba_lora": strong, "pissa": close}
    raw = []
    for method, scores in rows.items():
        row = table.loc[method]
        summary = stats.paired_summary([(scores[s] - lora[s]) / 100 for s in lora])
        assert (row["delta_ci_low"], row["delta_ci_high"]) == pytest.approx((summary.low, summary.high))
        assert row["delta_cohens_dz"] == pytest.approx(summary.cohens_dz)
        assert row["delta_p_value"] == pytest.approx(summary.p_value)
        assert row["delta_bootstrap_low"] < row["delta_vs_lora"] < row["delta_bootstrap_high"]
        raw.append(summary.p_value)
    # Two comparisons in the family: the smaller p doubled, the larger kept (both capped at 1, monotone).
    small, large = sorted(raw)
    assert sorted(table.loc[list(rows), "delta_p_holm"]) == pytest.approx(sorted([min(1, 2 * small),
                                                                                  max(min(1, 2 * small), large)]))
    assert table.loc["ba_lora", "delta_verdict"] == "better"
    assert table.loc["pissa", "delta_verdict"] == "not distinguishable"
    assert pd.isna(table.loc["lora", "delta_verdict"])  # the reference is not compared with itself


def test_markdown_names_the_correction_and_shows_the_intervals(table):
    text = markdown_table(table[0].reset_index())
    header = next(line for line in text.splitlines() if line.startswith("| method"))
    assert "95% CI, seeds | 95% CI, test bootstrap | p (Holm) | d_z | verdict" in header
    strong = next(line for line in text.splitlines() if line.startswith("| ba_lora"))
    assert "+10.3 (p=" in strong and "| better |" in strong
    assert "Holm" in text.split("\n\n")[1] and "power.md" in text


def test_language_models_have_no_bootstrap(tmp_path):
    from analysis.fake_runs import fake_language_run

    names = [fake_language_run(tmp_path, f"{m}_s{s}", m, s, perplexity=p, **c).name
             for m, c, values in (("lora", {"lora_r": 8}, (8.0, 8.2)), ("pissa", {"param_budget": 73728}, (7.0, 7.5)))
             for s, p in zip((1, 2), values)]
    row = comparison_table(groups_from_names(tmp_path, names)).set_index("peft_method").loc["pissa"]
    assert pd.isna(row["delta_bootstrap_low"]) and row["delta_ci_low"] < row["delta_vs_lora"]
