"""Reading prompt / response datasets: alpaca's JSON, samsum's CSVs, generic jsonl / csv files."""

import json

import pandas as pd
import pytest

from balora.data import get_dataset_spec
from balora.data.text_pairs import load_text_pairs
from balora.errors import UserError
from balora.tasks import task_for


def test_alpaca_carves_validation_and_test_and_samples_train(pairs_data_dir):
    data = load_text_pairs(get_dataset_spec("alpaca"), str(pairs_data_dir), train_samples=20, seed=3)
    assert data.sizes() == {"train": 20, "validation": 6, "test": 6}
    assert list(data.splits["train"].columns) == ["prompt", "response", "context"]
    again = load_text_pairs(get_dataset_spec("alpaca"), str(pairs_data_dir), train_samples=20, seed=4)
    assert data.splits["test"].equals(again.splits["test"])  # evaluation rows do not depend on the seed
    assert not data.splits["train"].equals(again.splits["train"])
    assert "20 drawn from train (seed 3)" == data.split_origin["train"]


def test_samsum_keeps_its_splits_and_caps_evaluation(pairs_data_dir):
    data = load_text_pairs(get_dataset_spec("samsum"), str(pairs_data_dir), max_test_samples=4,
                           max_validation_samples=5)
    assert data.sizes() == {"train": 40, "validation": 5, "test": 4}
    assert data.splits["train"]["prompt"][0].startswith("A: ")


def test_missing_column_and_empty_text_are_one_line_errors(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps({"q": "say", "a": "x" if i else " "}) for i in range(20)))
    with pytest.raises(UserError, match="missing column 'answer'.*columns are q, a"):
        load_text_pairs(get_dataset_spec("jsonl", prompt_column="q", response_column="answer"), files=(str(path), None, None))
    with pytest.raises(UserError, match="1 rows of jsonl train .* have an empty 'a'"):
        load_text_pairs(get_dataset_spec("jsonl", prompt_column="q", response_column="a"), files=(str(path), None, None))


def test_csv_with_prompt_columns_is_prompt_response_data(tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame({"q": [f"say {i}" for i in range(30)], "a": ["fine"] * 30}).to_csv(path, index=False)
    spec = get_dataset_spec("csv", prompt_column="q", response_column="a")
    assert task_for(spec).name == "causal_lm"
    assert load_text_pairs(spec, files=(str(path), None, None)).sizes() == {"train": 24, "validation": 3, "test": 3}


def test_task_follows_the_dataset_and_can_be_overridden_within_its_kind():
    assert task_for(get_dataset_spec("alpaca")).name == "causal_lm"
    assert task_for(get_dataset_spec("samsum")).name == "generation"
    assert task_for(get_dataset_spec("alpaca"), "generation").name == "generation"
    assert task_for(get_dataset_spec("sst2")).name == "classification"
    with pytest.raises(UserError, match="--task causal_lm does not fit --dataset sst2"):
        task_for(get_dataset_spec("sst2"), "causal_lm")
    with pytest.raises(UserError, match="--prompt_column and --response_column are required with --dataset jsonl"):
        get_dataset_spec("jsonl")
    with pytest.raises(UserError, match="not to the classification dataset 'sst2'"):
        get_dataset_spec("sst2", prompt_column="q")


def test_a_carved_validation_split_is_capped_by_default_and_the_cap_can_change(tmp_path):
    from balora.data.text_pairs import CARVED_VALIDATION_CAP

    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"q": f"ask {i}", "a": f"answer {i}"}) + "\n" for i in range(6000)))
    spec = get_dataset_spec("jsonl", prompt_column="q", response_column="a")
    data = load_text_pairs(spec, files=(str(path), None, None), train_samples=100)
    assert data.sizes() == {"train": 100, "validation": CARVED_VALIDATION_CAP, "test": 600}
    assert data.notes[0] == "validation capped at 500 of the 600 carved (--max_validation_samples changes it)"
    assert data.split_origin["validation"].endswith("; 500 drawn from it (seed 42)")  # recorded in results
    wider = load_text_pairs(spec, files=(str(path), None, None), train_samples=100, max_validation_samples=1000)
    assert wider.sizes()["validation"] == 600 and not any("capped" in note for note in wider.notes)
    given = load_text_pairs(spec, files=(str(path), str(path), None), train_samples=100)
    assert given.sizes()["validation"] == 6000  # a split of its own is the user's choice
    assert not any("capped" in note for note in given.notes)
