"""Shared fixtures: a tiny randomly initialised BERT and tiny CSV datasets on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

# Nothing in the test suite may reach a model or dataset hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

WORDS_POS = "good great lovely fine superb happy charming delightful".split()
WORDS_NEG = "bad awful boring dull terrible sad ugly poor".split()


def tiny_bert(num_labels: int = 2, layers: int = 2, seed: int = 0, hidden: int = 32):
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                        intermediate_size=2 * hidden, max_position_embeddings=128, num_labels=num_labels)
    return BertForSequenceClassification(config)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    """A 2-layer, hidden-32 BERT saved with the packaged MiniLM tokenizer (no head weights saved)."""
    from balora.modeling import load_tokenizer

    path = tmp_path_factory.mktemp("tiny_bert")
    model = tiny_bert()
    # Save the encoder only, as a pretrained checkpoint would be: the head is created fresh.
    model.bert.save_pretrained(path)
    load_tokenizer("all-MiniLM-L6-v2").save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_quantizable_model_dir(tmp_path_factory) -> str:
    """As tiny_model_dir with hidden size 64: bitsandbytes quantizes 4-bit weights in blocks of 64."""
    from balora.modeling import load_tokenizer

    path = tmp_path_factory.mktemp("tiny_bert_64")
    tiny_bert(hidden=64).bert.save_pretrained(path)
    load_tokenizer("all-MiniLM-L6-v2").save_pretrained(path)
    return str(path)


def sentiment_frame(n: int, seed: int = 0) -> pd.DataFrame:
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        words = WORDS_POS if label else WORDS_NEG
        rows.append({"sentence": " ".join(rng.choice(words) for _ in range(5)), "label": label})
    return pd.DataFrame(rows)


@pytest.fixture
def tiny_data_dir(tmp_path) -> Path:
    """`toy` data in the local layout, under the name sst2 so the registry knows it."""
    folder = tmp_path / "data" / "sst2_dataset"
    folder.mkdir(parents=True)
    sentiment_frame(80, seed=1).to_csv(folder / "sst2_train.csv", index=False)
    sentiment_frame(20, seed=2).to_csv(folder / "sst2_validation.csv", index=False)
    return tmp_path / "data"


def shared_data_or_skip(name: str) -> Path:
    if not (SHARED_DATA / f"{name}_dataset").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}/{name}_dataset (the shared/ folder beside the checkout)")
    return SHARED_DATA


@pytest.fixture(scope="session", params=["llama", "gpt2"])
def tiny_decoder_dir(request, tmp_path_factory) -> str:
    """A 2-layer, hidden-32 causal LM (Llama, then GPT-2) with a tiny BPE tokenizer that has no pad token."""
    from tiny_decoders import save_tiny_decoder

    return save_tiny_decoder(tmp_path_factory.mktemp(f"tiny_{request.param}"), request.param)


def pytest_collection_modifyitems(config, items):
    """Tests marked cuda need a GPU: skipped, with the reason, on a machine without one."""
    if not any(item.get_closest_marker("cuda") for item in items):
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (scripts/gpu_check.sh runs these on a GPU machine)")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)
