"""A decoder run on 200 examples is never called "200-shot"."""

import math

from balora.analysis.train_size import train_size_text


def test_per_class_for_classifiers_in_all_for_language_models():
    assert train_size_text(16, "accuracy") == "16-shot"
    assert train_size_text(16.0, "matthews_correlation") == "16-shot"
    assert train_size_text(200, "perplexity") == "200 examples"
    assert train_size_text(None, "accuracy") == "full data" and train_size_text(math.nan, "perplexity", "full") == "full"
