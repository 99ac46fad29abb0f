"""Our ROUGE is `evaluate`'s: the same figures on the same generations."""

import os
import random

import numpy as np
import pytest

from balora.tasks.language_metrics import ROUGE_SEED, rouge_metrics

WORDS = "amanda baked cookies and will bring jerry some tomorrow the meeting is moved to friday".split()


def generations(n: int = 40, seed: int = 0) -> tuple[list[str], list[str]]:
    """Summaries of a few lines each and noisy copies of them, as a model writes them."""
    rng = random.Random(seed)
    references, predictions = [], []
    for _ in range(n):
        lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))).capitalize() + "."
                 for _ in range(rng.randint(1, 3))]
        references.append("\n".join(lines))
        kept = [" ".join(w for w in line.split() if rng.random() > 0.3) or "Ok." for line in lines]
        predictions.append("\n".join(rng.sample(kept, len(kept))) + (" Running late!" if rng.random() > 0.5 else ""))
    return predictions, references


def evaluate_rouge():
    """evaluate's rouge metric: from the Hub (or its cache), or the script at $BALORA_EVALUATE_ROUGE
    (metrics/rouge/rouge.py of github.com/huggingface/evaluate), since the Hub is out of reach offline."""
    evaluate = pytest.importorskip("evaluate", reason="evaluate is not installed (pip install evaluate)")
    where = os.environ.get("BALORA_EVALUATE_ROUGE", "rouge")
    try:
        return evaluate.load(where, seed=ROUGE_SEED)  # the seed of its bootstrap
    except Exception as err:  # offline without a cached copy: the Hub's error, whatever its type
        pytest.skip(f"evaluate's rouge metric cannot load here ({type(err).__name__}); set BALORA_EVALUATE_ROUGE "
                    "to a copy of its rouge.py to compare")


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_rouge_equals_evaluates_rouge_on_the_same_generations(use_stemmer):
    rouge = evaluate_rouge()
    predictions, references = generations()
    theirs = rouge.compute(predictions=predictions, references=references, use_stemmer=use_stemmer)
    assert rouge_metrics(predictions, references, use_stemmer) == {k: float(v) for k, v in theirs.items()}


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_rouge_is_rouge_score_called_as_evaluates_script_calls_it(use_stemmer):
    """Offline, evaluate's script cannot be fetched: these are the calls its Rouge._compute makes with its
    defaults (rouge_types None -> all four, use_aggregator=True, tokenizer None)."""
    from rouge_score import rouge_scorer, scoring

    predictions, references = generations(seed=1)
    scorer = rouge_scorer.RougeScorer(rouge_types=["rouge1", "rouge2", "rougeL", "rougeLsum"],
                                      use_stemmer=use_stemmer, tokenizer=None)
    aggregator = scoring.BootstrapAggregator()
    for ref, pred in zip(references, predictions):
        aggregator.add_scores(scorer.score(ref, pred))
    np.random.seed(ROUGE_SEED)
    expected = {key: float(value.mid.fmeasure) for key, value in aggregator.aggregate().items()}
    assert rouge_metrics(predictions, references, use_stemmer) == expected
    # the bootstrap's median mean stays close to the plain mean
    means = {key: np.mean([scorer.score(r, p)[key].fmeasure for r, p in zip(references, predictions)])
             for key in expected}
    assert all(abs(expected[key] - means[key]) < 0.02 for key in expected)


def test_scoring_leaves_the_callers_random_state_alone():
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    rouge_metrics(*generations(n=5))
    assert np.random.random() == before
