"""Perplexity and ROUGE, computed the same way for every method."""

from __future__ import annotations

import math

import numpy as np
import torch

IGNORE_INDEX = -100  # label of a token that carries no loss (prompt, padding)


def token_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(batch, 2): summed negative log-likelihood of each example's labelled tokens, and how many
    there are. Position t predicts token t+1, as in the models' own loss."""
    logits = logits[0] if isinstance(logits, tuple) else logits
    targets = labels[:, 1:]
    nll = torch.nn.functional.cross_entropy(logits[:, :-1].float().transpose(1, 2), targets,
                                            ignore_index=IGNORE_INDEX, reduction="none")
    return torch.stack([nll.sum(-1), (targets != IGNORE_INDEX).sum(-1).to(nll.dtype)], dim=-1)


def perplexity_metrics(nll_and_counts) -> dict:
    """Perplexity = exp(mean NLL over every labelled token of the split, not a mean of batch means)."""
    values = np.asarray(nll_and_counts, dtype=np.float64).reshape(-1, 2)
    tokens = values[:, 1].sum()
    mean_nll = values[:, 0].sum() / tokens if tokens else math.nan
    return {"perplexity": float(math.exp(min(mean_nll, 700.0))), "token_nll": float(mean_nll), "tokens": int(tokens)}


def trainer_perplexity(eval_prediction) -> dict:
    """``compute_metrics`` for the Trainer; its predictions are ``token_nll`` rows."""
    predictions = eval_prediction.predictions
    return perplexity_metrics(predictions[0] if isinstance(predictions, tuple) else predictions)


def preprocess_logits(logits, labels):
    """Keep two numbers per example instead of the (batch, length, vocabulary) logits."""
    return token_nll(logits, labels)


ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def rouge_metrics(predictions: list[str], references: list[str]) -> dict:
    """Mean ROUGE-1/2/L F-measure (Porter-stemmed), in 0..1."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    scores = [scorer.score(ref, pred) for pred, ref in zip(predictions, references)]
    return {name: float(np.mean([s[name].fmeasure for s in scores])) if scores else 0.0 for name in ROUGE_TYPES}
