"""What each metric is, in one place: its name in tables and on axes, how it is scaled and how many
digits it is shown with, and which way is better.

Tasks (which way the Trainer keeps a checkpoint), learning-rate selection, tables, figures and
sweeps all read this, so a metric cannot be "better" one way in a table and the other in a figure.
It imports nothing from balora: every layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str  # as results_final.json and metrics.jsonl record it
    label: str  # short, for table headers: "MCC"
    long_label: str  # for axes and titles: "Matthews correlation"
    scale: float = 100.0  # shown multiplied by this (fractions are shown in percent)
    unit: str = "%"
    digits: int = 1  # decimals shown, after scaling
    higher_is_better: bool = True
    in_table: bool = False  # a column of the comparison table

    @property
    def axis_label(self) -> str:
        """``accuracy (%)``, ``perplexity (lower is better)``."""
        notes = [self.unit] if self.unit else []
        if not self.higher_is_better:
            notes.append("lower is better")
        return self.long_label + (f" ({', '.join(notes)})" if notes else "")

    def shown(self, value: float) -> float:
        return self.scale * value

    def text(self, value: float, sign: bool = False) -> str:
        """The value as tables and legends show it, unit included: ``81.3%``, ``+0.012``."""
        return f"{self.scale * value:{'+' if sign else ''}.{self.digits}f}{self.unit}"

    def mean_std_text(self, mean: float, std: float | None, n: int) -> str:
        """``81.3 ± 0.4``; one value has no spread to show, so it is shown alone."""
        value = f"{self.scale * mean:.{self.digits}f}"
        return value if n < 2 or std is None else f"{value} ± {self.scale * std:.{self.digits}f}"

    def best(self, values):
        """The best of ``values`` (the lowest perplexity, the highest accuracy)."""
        return max(values) if self.higher_is_better else min(values)

    def signed(self, value: float) -> float:
        """``value`` signed so that higher is better, for ranking."""
        return value if self.higher_is_better else -value


def _fraction(name: str, label: str, long_label: str, in_table: bool = True) -> Metric:
    return Metric(name, label, long_label, in_table=in_table)


def _raw(name: str, label: str, long_label: str, digits: int, higher_is_better: bool = True,
         in_table: bool = False) -> Metric:
    return Metric(name, label, long_label, scale=1.0, unit="", digits=digits, higher_is_better=higher_is_better,
                  in_table=in_table)


# In table order: a classifier's, then a language model's.
METRICS: dict[str, Metric] = {m.name: m for m in (
    _fraction("accuracy", "accuracy", "accuracy"),
    _fraction("f1_macro", "F1 (macro)", "macro F1"),
    _fraction("precision_macro", "precision (macro)", "macro precision", in_table=False),
    _fraction("recall_macro", "recall (macro)", "macro recall", in_table=False),
    _raw("matthews_correlation", "MCC", "Matthews correlation", 3, in_table=True),
    _raw("perplexity", "perplexity", "perplexity", 2, higher_is_better=False, in_table=True),
    _fraction("rouge1", "ROUGE-1", "ROUGE-1"),
    _fraction("rouge2", "ROUGE-2", "ROUGE-2"),
    _fraction("rougeL", "ROUGE-L", "ROUGE-L"),
    _fraction("rougeLsum", "ROUGE-Lsum", "ROUGE-Lsum"),
    _fraction("exact_match", "exact match", "exact match of the extracted answer"),
    _raw("token_nll", "token NLL", "mean token negative log-likelihood", 3, higher_is_better=False),
    _raw("loss", "loss", "cross-entropy loss", 3, higher_is_better=False),
)}
TABLE_METRICS = tuple(name for name, m in METRICS.items() if m.in_table)
LOWER_IS_BETTER = frozenset(name for name, m in METRICS.items() if not m.higher_is_better)


def metric(name: str) -> Metric:
    """The registered metric; a name balora does not know is shown as it is, higher taken as better."""
    return METRICS.get(name) or _raw(name, name, name, 3)


def table_metrics_of(test_metrics: dict) -> list[str]:
    """The table metrics a run reports (a classifier's, or a language model's perplexity and any ROUGE)."""
    return [name for name in TABLE_METRICS if name in test_metrics]
