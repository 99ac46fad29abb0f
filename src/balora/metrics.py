"""Classification metrics, computed the same way for every method."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (accuracy_score, confusion_matrix, matthews_corrcoef,
                             precision_recall_fscore_support)


SCALAR_METRICS = ("accuracy", "f1_macro", "precision_macro", "recall_macro", "matthews_correlation")


def classification_metrics(labels, predictions, label_names, detailed: bool = False) -> dict:
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    classes = list(range(len(label_names)))
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predictions, labels=classes, average="macro", zero_division=0
    )
    metrics = {
        "accuracy": float(accuracy_score(labels, predictions)),
        "f1_macro": float(f1),
        "precision_macro": float(precision),
        "recall_macro": float(recall),
        "matthews_correlation": float(matthews_corrcoef(labels, predictions)),
    }
    if detailed:
        per_p, per_r, per_f, support = precision_recall_fscore_support(
            labels, predictions, labels=classes, average=None, zero_division=0
        )
        metrics["confusion_matrix"] = confusion_matrix(labels, predictions, labels=classes).tolist()
        metrics["per_class"] = {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(label_names, per_p, per_r, per_f, support)
        }
    return metrics


def trainer_metrics(label_names):
    """The ``compute_metrics`` function handed to the Trainer (scalars only, so they can be logged)."""

    def compute(eval_prediction) -> dict:
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        return classification_metrics(eval_prediction.label_ids, logits.argmax(-1), label_names)

    return compute


__all__ = ["SCALAR_METRICS", "classification_metrics", "trainer_metrics"]
