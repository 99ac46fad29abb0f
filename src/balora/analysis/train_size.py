"""How a run's --train_samples reads in tables and figures: per class for classification ("16-shot"),
in all for prompt / response data ("200 examples"), where "200-shot" would be wrong."""

from __future__ import annotations

import math

TEXT_TO_TEXT_METRICS = {"perplexity"}  # the headline metric of causal_lm / generation runs


def train_size_text(train_samples, headline_metric: str, full: str = "full data") -> str:
    if train_samples is None or (isinstance(train_samples, float) and math.isnan(train_samples)):
        return full
    if headline_metric in TEXT_TO_TEXT_METRICS:
        return f"{int(train_samples)} examples"
    return f"{int(train_samples)}-shot"
