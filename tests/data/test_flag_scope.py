"""Flags that would do nothing are refused, and --train_samples says which of its two meanings it has."""

import json

import pytest

from balora.cli import main
from balora.data import get_dataset_spec, load_task_data
from balora.data.text_pairs import load_text_pairs


@pytest.mark.parametrize("extra, message", [
    (["--train_file", "mine.csv"], "--train_file applies to --dataset csv or jsonl, not to 'sst2'; add --dataset csv"),
    (["--dataset", "imdb", "--test_file", "t.jsonl"], "--test_file applies to --dataset csv or jsonl, not to 'imdb'; "
                                                       "add --dataset jsonl"),
    (["--dataset", "alpaca", "--label_column", "y"], "--label_column applies to classification data, not to the "
                                                     "prompt / response dataset 'alpaca'"),
    (["--dataset", "jsonl", "--train_file", "a.jsonl", "--prompt_column", "q", "--response_column", "a",
      "--text_column", "t"], "--text_column applies to classification data, not to the prompt / response dataset"),
    (["--dataset", "csv", "--train_file", "a.csv", "--prompt_column", "q", "--response_column", "a",
      "--text_pair_column", "t"], "--text_pair_column applies to classification data"),
])
def test_a_flag_the_data_does_not_read_is_refused(capsys, tmp_path, extra, message):
    code = main(["train", "--experiment_name", "x", "--results_dir", str(tmp_path), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.splitlines()) == 1, err
    assert not any(tmp_path.iterdir())


def test_the_data_line_says_which_meaning_train_samples_has(tiny_data_dir, tmp_path):
    data = load_task_data(get_dataset_spec("sst2"), str(tiny_data_dir), train_samples=4)
    assert data.notes == ["4 per class (--train_samples)"]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"q": f"ask {i}", "a": f"answer {i}"}) + "\n" for i in range(50)))
    pairs = load_text_pairs(get_dataset_spec("jsonl", prompt_column="q", response_column="a"),
                            files=(str(path), None, None), train_samples=20)
    assert pairs.notes == ["20 in all (--train_samples)"]
