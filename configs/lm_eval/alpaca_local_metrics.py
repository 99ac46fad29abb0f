"""Per-word and per-byte scores of a reference response, for configs/lm_eval/alpaca_local.yaml.

lm-eval's own loglikelihood "perplexity" exponentiates the mean log-likelihood of a whole response
(~150 tokens of Alpaca), which lands near 1e65 and hides any difference between two models. Here
each response contributes its summed log-likelihood with its word and byte counts, so lm-eval's
weighted aggregations give a perplexity per word and bits per byte (as its rolling tasks do).
"""


def process_results(doc, results):
    loglikelihood, is_greedy = results[0]
    # The continuation lm-eval scores is the target after its " " delimiter; count what was scored.
    response = " " + doc["output"]
    words = len(response.split())
    size = len(response.encode("utf-8"))
    return {
        "word_perplexity": (loglikelihood, words),
        "bits_per_byte": (loglikelihood, size),
        "acc": int(is_greedy),
    }
