"""Prompt / response fixtures: a tiny decoder whose tokenizer has a short chat template (so prompts stay a
few tokens long), and small instruction and summarisation data in the layouts balora reads."""

from __future__ import annotations

import json
import random
import shutil

import pandas as pd
import pytest

CHAT_TEMPLATE = ("{% for m in messages %}Q: {{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}A:{% endif %}")

TOPICS = ("movie", "film", "dialogue", "summary")
WORDS = ("good", "great", "bad", "awful")


def pair_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        topic, word = rng.choice(TOPICS), WORDS[i % len(WORDS)]
        rows.append({"instruction": f"say {topic}", "input": "" if i % 3 else "hello", "output": f"the {topic} was {word}"})
    return rows


@pytest.fixture(scope="session")
def tiny_chat_decoder_dir(tiny_decoder_dir, tmp_path_factory) -> str:
    from transformers import AutoTokenizer

    path = tmp_path_factory.mktemp("chat_decoder") / "model"
    shutil.copytree(tiny_decoder_dir, path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture
def pairs_data_dir(tmp_path):
    """alpaca (one JSON file) and samsum (CSV splits) in the --data_dir layout."""
    alpaca = tmp_path / "data" / "alpaca_dataset"
    alpaca.mkdir(parents=True)
    (alpaca / "alpaca_data_cleaned.json").write_text(json.dumps(pair_rows(60)))
    samsum = tmp_path / "data" / "samsum_dataset"
    samsum.mkdir()
    for split, n in (("train", 40), ("validation", 8), ("test", 6)):
        rows = [{"id": i, "dialogue": f"A: {r['instruction']}\nB: {r['output']}", "summary": r["output"]}
                for i, r in enumerate(pair_rows(n, seed=len(split)))]
        pd.DataFrame(rows).to_csv(samsum / f"samsum_{split}.csv", index=False)
    return tmp_path / "data"
