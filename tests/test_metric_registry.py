"""The one home of what a metric is: which way is better, how it is shown; and every reader uses it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from balora.metric_registry import LOWER_IS_BETTER, METRICS, TABLE_METRICS, metric, table_metrics_of

SRC = Path(__file__).resolve().parents[1] / "src" / "balora"


def test_directions_scales_and_digits():
    assert LOWER_IS_BETTER == {"perplexity", "token_nll", "loss"}
    assert metric("perplexity").best([9.0, 8.0, 10.0]) == 8.0 and metric("accuracy").best([0.7, 0.8]) == 0.8
    assert metric("perplexity").signed(8.0) == -8.0
    assert metric("accuracy").text(0.8125) == "81.2%" and metric("matthews_correlation").text(0.5) == "0.500"
    assert metric("perplexity").axis_label == "perplexity (lower is better)"
    assert metric("accuracy").axis_label == "accuracy (%)"
    assert TABLE_METRICS == ("accuracy", "f1_macro", "matthews_correlation", "perplexity", "rouge1", "rouge2", "rougeL",
                            "rougeLsum", "exact_match")
    assert table_metrics_of({"perplexity": 8.0, "token_nll": 2.0, "rouge1": 0.3}) == ["perplexity", "rouge1"]
    assert metric("something_new").label == "something_new"  # unknown: shown as it is


def test_one_seed_shows_its_value_without_a_spread():
    assert metric("accuracy").mean_std_text(0.8, 0.0, 1) == "80.0"
    assert metric("accuracy").mean_std_text(0.8, 0.01, 3) == "80.0 ± 1.0"
    assert metric("perplexity").mean_std_text(7.5, 0.25, 2) == "7.50 ± 0.25"


def test_the_registry_imports_nothing_from_balora():
    tree = ast.parse((SRC / "metric_registry.py").read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)] + \
        [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m and m.startswith("balora")]


@pytest.mark.parametrize("name", ["LOWER_IS_BETTER", "METRIC_NAMES", "UNSCALED", "CLASSIFICATION_METRICS"])
def test_no_second_definition_of_what_a_metric_is(name):
    """Display names, scales and directions live in the registry only."""
    defined = [path.relative_to(SRC).as_posix() for path in SRC.rglob("*.py")
               if f"\n{name} = " in path.read_text() and path.name != "metric_registry.py"]
    assert defined == []
    assert not (SRC / "analysis" / "metrics.py").exists()


def test_tasks_take_their_direction_from_the_registry():
    from balora.data.registry import get_dataset_spec
    from balora.tasks.classification import ClassificationTask
    from balora.tasks.language import CausalLMTask

    assert CausalLMTask().trainer_evaluation(get_dataset_spec("alpaca")).greater_is_better is False
    assert ClassificationTask().trainer_evaluation(get_dataset_spec("cola")).greater_is_better is True
    assert all(m.name == name for name, m in METRICS.items())
