"""JSON Lines readers: a malformed line is one error naming the file and the line."""

from __future__ import annotations

import json

import pytest

from balora.data import get_dataset_spec
from balora.data.text_pairs import load_text_pairs
from balora.errors import UserError
from balora.jsonl import read_jsonl

GOOD = json.dumps({"q": "say", "a": "x"})


@pytest.mark.parametrize("bad, message", [
    ("[1, 2]", "line 3: expected a JSON object {...}, got a list [...]"),
    ("null", "line 3: expected a JSON object {...}, got null"),
    ('"text"', "line 3: expected a JSON object {...}, got a string"),
    ('{"q": "cut', "line 3: not valid JSON (Unterminated string"),
])
def test_a_malformed_training_line_names_the_file_and_line(tmp_path, bad, message):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join([GOOD, "", bad] + [GOOD] * 20))
    spec = get_dataset_spec("jsonl", prompt_column="q", response_column="a")
    with pytest.raises(UserError) as caught:
        load_text_pairs(spec, files=(str(path), None, None))
    assert str(caught.value).startswith(f"{path}, {message}")


def test_a_json_list_with_a_record_that_is_not_an_object_names_it(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"q": "a", "a": "b"}, None]))
    spec = get_dataset_spec("jsonl", prompt_column="q", response_column="a")
    with pytest.raises(UserError, match=r"p.json, record 2: expected a JSON object \{...\}, got null"):
        load_text_pairs(spec, files=(str(path), None, None))


def test_a_metrics_file_cut_mid_line_is_one_error(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"type": "eval", "step": 1}\n{"type": "ev')
    with pytest.raises(UserError, match=r"metrics.jsonl, line 2: not valid JSON"):
        read_jsonl(path)


def test_a_malformed_csv_line_names_the_file_and_line(tmp_path):
    from balora.data.loading import read_csv

    path = tmp_path / "t.csv"
    path.write_text("sentence,label\ngood,1\nbad,0,extra\n")
    with pytest.raises(UserError, match=r"cannot read .*t.csv: .*line 3"):
        read_csv(path)
