"""Length-grouped training batches and length-sorted evaluation that keeps the data's order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from balora.training.batching import by_length, in_original_order, length_grouped_order
from conftest import sentiment_frame
from helpers import reload_with_plain_peft, run_train


def batches_of(order, size):
    return [order[i:i + size] for i in range(0, len(order), size)]


def test_grouped_order_is_a_permutation_with_little_padding_and_batches_in_random_order():
    lengths = np.random.default_rng(0).integers(3, 120, size=1000)
    order = length_grouped_order(lengths, 32, torch.Generator().manual_seed(0))
    assert sorted(order) == list(range(1000))
    padded = sum(len(b) * lengths[b].max() for b in batches_of(np.array(order), 32))
    random_padded = sum(len(b) * lengths[b].max() for b in batches_of(np.random.default_rng(1).permutation(1000), 32))
    assert padded < 0.75 * random_padded
    longest = [lengths[b].max() for b in batches_of(np.array(order), 32)]
    assert longest != sorted(longest, reverse=True) and longest != sorted(longest)  # no sweep through lengths


def test_grouped_order_depends_on_the_generator():
    lengths = np.arange(200) % 17
    first = length_grouped_order(lengths, 8, torch.Generator().manual_seed(0))
    assert first == length_grouped_order(lengths, 8, torch.Generator().manual_seed(0))
    assert first != length_grouped_order(lengths, 8, torch.Generator().manual_seed(1))


def test_sorted_evaluation_round_trips_to_the_original_order():
    import datasets

    ids = [[1] * n for n in (3, 9, 1, 9, 5)]
    dataset = datasets.Dataset.from_dict({"input_ids": ids, "row": list(range(5))})
    ordered, order = by_length(dataset)
    assert [len(x) for x in ordered["input_ids"]] == [9, 9, 5, 3, 1]
    assert in_original_order(order, np.array(ordered["row"])).tolist() == [0, 1, 2, 3, 4]
    rows = np.stack([np.array(ordered["row"]), -np.array(ordered["row"])], axis=1)
    assert in_original_order(order, rows)[:, 1].tolist() == [0, -1, -2, -3, -4]


def test_predictions_of_mixed_length_data_are_written_in_the_data_order(tmp_path, tiny_model_dir):
    """Sentences of 1 to 12 words: evaluation sorts them, test_predictions.csv must not."""
    folder = tmp_path / "data" / "sst2_dataset"
    folder.mkdir(parents=True)
    for split, n, seed in (("train", 60, 1), ("validation", 12, 2)):
        frame = sentiment_frame(n, seed=seed)
        frame["sentence"] = [" ".join(s.split() * 3)[: 4 + 7 * (i % 9)] for i, s in enumerate(frame["sentence"])]
        frame.to_csv(folder / f"sst2_{split}.csv", index=False)
    run_train(tmp_path, tmp_path / "data", tiny_model_dir, epochs=1)
    saved = pd.read_csv(tmp_path / "tiny" / "test_predictions.csv", keep_default_na=False)
    assert saved["index"].tolist() == list(range(len(saved)))
    # Each line carries its example's text and the classes by name, so a reader needs no other file.
    from balora.data import load_task_data
    from balora.data.registry import get_dataset_spec

    test = load_task_data(get_dataset_spec("sst2"), str(tmp_path / "data")).splits["test"]
    assert saved["text"].tolist() == test["text"].tolist()
    names = get_dataset_spec("sst2").label_names
    assert saved["label_name"].tolist() == [names[k] for k in saved["label"]]
    assert saved["prediction_name"].tolist() == [names[k] for k in saved["prediction"]]
    reload_with_plain_peft(tmp_path / "tiny", tmp_path / "data", tiny_model_dir)
