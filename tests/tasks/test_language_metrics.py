"""Perplexity arithmetic and ROUGE wiring."""

import math

import numpy as np
import torch
from transformers import AutoModelForCausalLM

from balora.tasks.language_metrics import perplexity_metrics, rouge_metrics, token_nll


def test_perplexity_is_exp_of_the_mean_over_tokens_not_over_examples():
    # example A: 2 tokens, NLL 1.0 each; example B: 8 tokens, NLL 2.0 each
    metrics = perplexity_metrics(np.array([[2.0, 2], [16.0, 8]]))
    assert math.isclose(metrics["token_nll"], 18 / 10)
    assert math.isclose(metrics["perplexity"], math.exp(1.8))
    assert metrics["tokens"] == 10
    assert not math.isclose(metrics["perplexity"], math.exp((1.0 + 2.0) / 2))


def test_token_nll_matches_the_models_own_loss(tiny_decoder_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_decoder_dir).eval()
    ids = torch.tensor([[3, 8, 9, 12, 40, 7]])
    labels = torch.tensor([[-100, -100, 9, 12, 40, 7]])
    with torch.no_grad():
        out = model(input_ids=ids, labels=labels)
    rows = token_nll(out.logits, labels)
    assert rows[0, 1] == 4  # tokens 9 12 40 7 are predicted; the first two carry no loss
    assert math.isclose(perplexity_metrics(rows.numpy())["perplexity"], math.exp(out.loss.item()), rel_tol=1e-5)


def test_rouge_is_unstemmed_f_measure_unless_asked():
    assert rouge_metrics(["the cats were running"], ["the cat was running"])["rouge1"] > \
        rouge_metrics(["the dogs sat"], ["the cat was running"])["rouge1"]
    assert rouge_metrics(["cats running"], ["cat runs"])["rouge1"] == 0.0  # evaluate's default: no stemming
    stemmed = rouge_metrics(["cats running"], ["cat runs"], use_stemmer=True)
    assert stemmed == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "rougeLsum": 1.0}  # cats~cat, running~runs
    assert rouge_metrics(["alpha beta"], ["gamma delta"]) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0,
                                                              "rougeLsum": 0.0}
    # about the mean over examples (evaluate reports the median of bootstrap means)
    assert rouge_metrics(["a b", "x"], ["a b", "y"])["rouge1"] == 0.5


def test_rouge_lsum_reads_each_line_as_a_sentence():
    scores = rouge_metrics(["b c\na b"], ["a b\nb c"])
    assert scores["rougeLsum"] == 1.0 > scores["rougeL"]  # the same sentences in another order
