"""A small study, run to the end, on a CSV of one's own (renamed columns, string labels) and a JSONL of
one's own, both built from the shared real data: the dry run, the run and the comparison use the
study's names for the data and the CSV's class names."""

from __future__ import annotations

import json
import textwrap

import pandas as pd

from balora.cli import main
from balora.results import read_json
from conftest import shared_data_or_skip

STUDY = """\
    name: own_data
    results_dir: {results}
    seeds: [1]
    defaults: {{epochs: 1, batch_size: 16, max_length: 48, max_validation_samples: 20, max_test_samples: 20}}
    datasets:
      reviews: {{dataset: csv, train_file: {folder}/reviews.csv, text_column: review, label_column: sentiment,
                 model_name_or_path: {bert}}}
      notes: {{dataset: jsonl, train_file: {folder}/notes.jsonl, prompt_column: ask, response_column: reply,
               model_name_or_path: {decoder}, max_length: 128}}
    dataset_defaults:
      reviews: {{train_samples: 24}}
      notes: {{train_samples: 32}}
    phases:
      main:
        methods:
          lora: {{lora_r: 2, learning_rates: [5.0e-3]}}
"""


def own_files(folder):
    data = shared_data_or_skip("sst2")
    shared_data_or_skip("alpaca")
    sst2 = pd.read_csv(data / "sst2_dataset" / "sst2_train.csv").head(200)
    pd.DataFrame({"review": sst2["sentence"], "sentiment": sst2["label"].map({0: "neg", 1: "pos"})}).to_csv(
        folder / "reviews.csv", index=False)
    # short records: the tiny test tokenizer spells most words byte by byte
    alpaca = [r for r in json.loads((data / "alpaca_dataset" / "alpaca_data_cleaned.json").read_text())
              if not r["input"] and len(r["instruction"]) + len(r["output"]) < 60][:80]
    (folder / "notes.jsonl").write_text("".join(json.dumps({"ask": r["instruction"], "reply": r["output"]}) + "\n"
                                                for r in alpaca))


def test_a_study_on_a_csv_and_a_jsonl_of_ones_own(tmp_path, tiny_model_dir, capsys):
    from tiny_decoders import save_tiny_decoder

    own_files(tmp_path)
    from transformers import AutoTokenizer

    decoder = save_tiny_decoder(tmp_path / "decoder", "llama")
    tokenizer = AutoTokenizer.from_pretrained(decoder)  # a short chat template: the Alpaca header is too long
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}: "  # for its 128 positions
    tokenizer.save_pretrained(decoder)
    study = tmp_path / "own.yaml"
    results = tmp_path / "results"
    study.write_text(textwrap.dedent(STUDY).format(results=results, folder=tmp_path, bert=tiny_model_dir,
                                                   decoder=decoder))
    assert main(["study", str(study), "--dry_run"]) == 0
    dry = capsys.readouterr().out
    assert f"Data reviews: csv:{tmp_path}/reviews.csv; train 48, validation 20, test 20; 2 classes (neg, pos)" in dry
    assert "Data notes: jsonl:" in dry and "train 32, validation 8, test 8; causal_lm: ask -> reply" in dry
    assert "reviews-main-lora-lr0.005-s1" in dry and "notes-main-lora-lr0.005-s1" in dry

    assert main(["study", str(study)]) == 0
    reviews = read_json(results / "reviews-main-lora-lr0.005-s1" / "results_final.json")
    assert reviews["dataset"] == "csv" and reviews["data"]["label_names"] == ["neg", "pos"]
    assert read_json(results / "notes-main-lora-lr0.005-s1" / "results_final.json")["task"] == "causal_lm"

    assert main(["compare", "--study", str(study), "--output_dir", str(tmp_path / "analysis")]) == 0
    table = pd.read_csv(tmp_path / "analysis" / "comparison_table.csv")
    assert sorted(table["dataset"]) == ["notes", "reviews"]
    assert (tmp_path / "analysis" / "confusion_matrices.png").exists()
