"""Tokenised splits kept in memory, so a study tokenises each dataset once, not once per experiment.

The key is what the tokens depend on: the split's content (a hash of every row), the tokenizer
(its name or path, class and vocabulary size) and the maximum length. Datasets are immutable,
so handing the same one to several experiments is safe.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import pandas as pd

# A study cycles through a handful of datasets x models; a few entries cover it without holding
# every dataset a long-lived process ever saw.
MAX_ENTRIES = 16

_cache: OrderedDict[tuple, object] = OrderedDict()


def content_hash(frame: pd.DataFrame) -> str:
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    header = "\x1f".join(map(str, frame.columns)).encode()
    return hashlib.sha256(header + rows.tobytes()).hexdigest()


def tokenizer_key(tokenizer) -> tuple:
    return (getattr(tokenizer, "name_or_path", ""), type(tokenizer).__name__, len(tokenizer),
            getattr(tokenizer, "padding_side", None), getattr(tokenizer, "truncation_side", None))


def cached(frame: pd.DataFrame, tokenizer, max_length: int, tokenize):
    """``tokenize(frame, tokenizer, max_length)``, or the dataset it returned for the same inputs."""
    key = (content_hash(frame), tokenizer_key(tokenizer), max_length)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    dataset = tokenize(frame, tokenizer, max_length)
    _cache[key] = dataset
    while len(_cache) > MAX_ENTRIES:
        _cache.popitem(last=False)
    return dataset


def clear() -> None:
    _cache.clear()
