"""Turn split DataFrames into tokenised datasets; padding happens per batch in the collator."""

from __future__ import annotations

import datasets
import pandas as pd
from transformers import DataCollatorWithPadding, PreTrainedTokenizerBase


def tokenize_split(frame: pd.DataFrame, tokenizer: PreTrainedTokenizerBase, max_length: int) -> datasets.Dataset:
    pair = "text_pair" in frame.columns

    def encode(batch):
        return tokenizer(batch["text"], batch["text_pair"] if pair else None,
                         truncation=True, max_length=max_length)

    dataset = datasets.Dataset.from_pandas(frame, preserve_index=False)
    dataset = dataset.map(encode, batched=True, remove_columns=[c for c in frame.columns if c != "label"],
                          desc=None, load_from_cache_file=False)
    return dataset.rename_column("label", "labels")


def tokenize_splits(splits: dict[str, pd.DataFrame], tokenizer, max_length: int) -> dict[str, datasets.Dataset]:
    from balora.data.cache import cached

    return {name: cached(frame, tokenizer, max_length, tokenize_split) for name, frame in splits.items()}


def padding_collator(tokenizer) -> DataCollatorWithPadding:
    return DataCollatorWithPadding(tokenizer)
