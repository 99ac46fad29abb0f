"""What a task is to the pipeline: how its data is read and encoded, which model it loads, how the
Trainer scores it, and how the kept model is tested. `balora train` calls these and never asks
which task it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TrainerEvaluation:
    metric: str  # validation metric that picks the kept checkpoint
    greater_is_better: bool
    compute_metrics: Callable | None
    preprocess_logits_for_metrics: Callable | None = None


@dataclass
class TestOutcome:
    metrics: dict[str, Any]
    # file name -> function writing it at the given path (run only once the experiment is kept)
    files: dict[str, Callable] = field(default_factory=dict)


@dataclass
class EvaluationInputs:
    """What testing needs besides the Trainer."""

    tokenized: dict
    collator: Any
    tokenizer: Any
    spec: Any
    config: Any
    say: Callable[[str], None]
    test_rows: Any = None  # the test split as read (a DataFrame with text and label), in the data's order
    test_split: bool = True  # False: nothing scores the test split (a study's search run)
