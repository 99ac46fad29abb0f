"""A study tokenises each split once: same rows, tokenizer and length -> the same dataset."""

from __future__ import annotations

import pandas as pd

from balora.data import cache


def test_same_inputs_are_tokenised_once_and_anything_different_again():
    cache.clear()
    calls = []

    def tokenize(frame, tokenizer, max_length):
        calls.append(max_length)
        return object()

    class Tok:
        name_or_path = "tok"

        def __len__(self):
            return 100

    frame = pd.DataFrame({"text": ["a b", "c"], "label": [0, 1]})
    first = cache.cached(frame, Tok(), 128, tokenize)
    assert cache.cached(frame.copy(), Tok(), 128, tokenize) is first
    assert cache.cached(frame, Tok(), 64, tokenize) is not first
    changed = frame.assign(text=["a b", "d"])
    assert cache.cached(changed, Tok(), 128, tokenize) is not first
    assert calls == [128, 64, 128]
    cache.clear()
