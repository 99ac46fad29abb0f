"""The metrics a comparison shows, by task: how each is named, scaled and which way is better."""

from __future__ import annotations

CLASSIFICATION_METRICS = {"accuracy": "accuracy", "f1_macro": "F1 (macro)", "matthews_correlation": "MCC"}
LANGUAGE_METRICS = {"perplexity": "perplexity", "rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L",
                    "rougeLsum": "ROUGE-Lsum", "exact_match": "exact match"}
TABLE_METRICS = {**CLASSIFICATION_METRICS, **LANGUAGE_METRICS}
LOWER_IS_BETTER = {"perplexity", "token_nll", "loss"}
# Shown as they are, not in percent.
UNSCALED = {"matthews_correlation", "perplexity", "token_nll", "loss"}


def scale(metric: str) -> float:
    return 1.0 if metric in UNSCALED else 100.0


def better(metric: str):
    """min or max: the best of several values of ``metric``."""
    return min if metric in LOWER_IS_BETTER else max


def metrics_of(test_metrics: dict) -> list[str]:
    """The table metrics a run reports (a classifier's, or a language model's perplexity and any ROUGE)."""
    return [name for name in TABLE_METRICS if name in test_metrics]
