"""A run trained without the test split is tested later from its saved model: the same scores and
files as the run testing itself, for an adapter and for a full fine-tune, with nothing retrained."""

from __future__ import annotations

import json

import pytest

import balora.train
from balora.config import TrainConfig
from balora.console import Console
from balora.deferred_test import test_saved_experiment as score_saved_test
from balora.methods import build_options
from balora.train import train


def trained(results_dir, data_dir, model_dir, test_split: bool, **settings):
    config = TrainConfig(experiment_name="tiny", dataset="sst2", data_dir=str(data_dir), model_name_or_path=model_dir,
                         results_dir=str(results_dir), epochs=2, batch_size=8, learning_rate=5e-3,
                         **{"peft_method": "lora", **settings})
    return train(config, build_options(), Console(quiet=True), test_split=test_split)


@pytest.mark.parametrize("method", ["lora", "full", "adalora"])
def test_the_saved_model_scores_what_the_run_would_have(tmp_path, tiny_data_dir, tiny_model_dir, monkeypatch, method):
    tested = trained(tmp_path / "a", tiny_data_dir, tiny_model_dir, True, peft_method=method)
    untested = trained(tmp_path / "b", tiny_data_dir, tiny_model_dir, False, peft_method=method)
    assert untested.tested is False and not (tmp_path / "b" / "tiny" / "test_predictions.csv").exists()
    assert "Test accuracy" not in (tmp_path / "b" / "tiny" / "training_log.txt").read_text()
    assert untested.validation() == tested.validation()

    monkeypatch.setattr(balora.train, "run_and_record", lambda *a, **k: pytest.fail("retrained"))
    later = score_saved_test(str(tmp_path / "b"), "tiny")
    assert later.metrics["test"] == tested.metrics["test"]
    saved = json.loads((tmp_path / "b" / "tiny" / "results_final.json").read_text())
    assert saved["metrics"]["test"] == json.loads(json.dumps(tested.metrics["test"]))
    assert (tmp_path / "b" / "tiny" / "test_predictions.csv").read_text() == \
        (tmp_path / "a" / "tiny" / "test_predictions.csv").read_text()
    assert saved["timing"]["eval_seconds"] > untested.timing.eval_seconds
    assert not (tmp_path / "b" / "tiny" / "checkpoints").exists()
    assert "Test accuracy" in (tmp_path / "b" / "tiny" / "training_log.txt").read_text()
    assert score_saved_test(str(tmp_path / "b"), "tiny").metrics == later.metrics  # tested once: read back
