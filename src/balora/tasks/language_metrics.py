"""Perplexity and ROUGE, computed the same way for every method (ROUGE as `evaluate` computes it)."""

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


ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
ROUGE_SEED = 0  # the bootstrap's seed: our figures are those of evaluate.load("rouge", seed=0)


def rouge_metrics(predictions: list[str], references: list[str], use_stemmer: bool = False) -> dict:
    """ROUGE-1/2/L/Lsum F-measure in 0..1 as `evaluate.load("rouge")` computes them by default, so that
    our figures stand beside published ones: rouge-score's own tokenizer (lower case, letters and digits),
    no stemming unless ``use_stemmer``, ROUGE-Lsum over the lines of each text, and the aggregate
    rouge-score's BootstrapAggregator reports as "mid" (the median of 1,000 bootstrap means; within a
    fraction of a point of the plain mean). The bootstrap draws from numpy's global generator, which
    evaluate seeds with the metric's seed (drawn at load time unless given): ROUGE_SEED here, and the
    caller's generator state is put back."""
    from rouge_score import rouge_scorer, scoring

    if not predictions:
        return {name: 0.0 for name in ROUGE_TYPES}
    scorer = rouge_scorer.RougeScorer(rouge_types=list(ROUGE_TYPES), use_stemmer=use_stemmer, tokenizer=None)
    aggregator = scoring.BootstrapAggregator()
    for reference, prediction in zip(references, predictions):
        aggregator.add_scores(scorer.score(reference, prediction))
    state = np.random.get_state()
    np.random.seed(ROUGE_SEED)
    try:
        aggregate = aggregator.aggregate()
    finally:
        np.random.set_state(state)
    return {name: float(aggregate[name].mid.fmeasure) for name in ROUGE_TYPES}
