"""`balora compare` on language-model runs: perplexity (lower is better) and ROUGE columns and plots."""

from __future__ import annotations

from analysis.fake_runs import fake_language_run
from balora.analysis.collect import groups_from_names
from balora.analysis.compare import compare
from balora.analysis.table import comparison_table, markdown_table, peak_validation
from balora.record import ResultsRecord
from balora.study.runner import validation_score


def test_perplexity_and_rouge_columns(tmp_path):
    fake_language_run(tmp_path, "lora", perplexity=8.0, rouge=0.40, dataset="samsum")
    fake_language_run(tmp_path, "ba", method="ba_lora", perplexity=7.5, rouge=0.42, dataset="samsum")
    table = comparison_table(groups_from_names(tmp_path, ["lora", "ba"]))
    assert list(table["test_perplexity_mean"]) == [8.0, 7.5]
    assert list(table["test_rouge1_mean"]) == [0.40, 0.42]
    assert "test_accuracy_mean" not in table
    markdown = markdown_table(table)
    assert "| perplexity | ROUGE-1 | ROUGE-2 | ROUGE-L |" in markdown and "accuracy" not in markdown.split("\n")[0]
    assert "| 7.50 | 42.0 | 21.0 | 37.8 | 1 |" in markdown  # one seed: the value, no "± 0.0"
    assert "-0.50 (p=n/a, n=1)" in markdown  # Δ perplexity vs LoRA, unscaled, digits as its column


def record(metric: str, value: float) -> ResultsRecord:
    return ResultsRecord(experiment_name="x", method="lora", dataset="alpaca", seed=42, headline_metric=metric,
                         metrics={"validation": {metric: value}, "test": {}}, parameters=None, config={})


def test_lower_perplexity_is_the_better_validation_score(tmp_path):
    assert validation_score(record("perplexity", 5.0)) > validation_score(record("perplexity", 9.0))
    assert validation_score(record("accuracy", 0.8)) == 0.8


def test_peak_validation_of_perplexity_is_the_lowest(tmp_path):
    run = groups_from_names(tmp_path, [fake_language_run(tmp_path, "lora").name])[0].first
    assert peak_validation(run, "perplexity") == 8.6


def test_compare_writes_tables_and_plots_without_confusion_matrices(tmp_path):
    fake_language_run(tmp_path, "lora")
    fake_language_run(tmp_path, "ba", method="ba_lora", perplexity=7.0)
    written = {p.name for p in compare(groups_from_names(tmp_path, ["lora", "ba"]), tmp_path / "out", say=lambda line: None)}
    assert {"comparison_table.md", "performance_plot.png", "training_curves.png"} <= written
    assert "confusion_matrices.png" not in written
