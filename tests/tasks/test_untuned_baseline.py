"""The untuned model's scores beside a decoder's: on validation and test, and switched off by
--no-untuned_baseline."""

import math

import balora.train
from balora.cli import main
from helpers import run_train


def test_a_causal_lm_run_scores_the_untuned_model_on_test_too(tmp_path, pairs_data_dir, tiny_chat_decoder_dir):
    results = run_train(tmp_path, pairs_data_dir, tiny_chat_decoder_dir, dataset="alpaca", train_samples=24,
                        max_length=48, epochs=1)
    untuned = results.metrics["untuned"]
    assert math.isfinite(untuned["test"]["perplexity"]) and math.isfinite(untuned["validation"]["perplexity"])
    off = run_train(tmp_path / "off", pairs_data_dir, tiny_chat_decoder_dir, dataset="alpaca", train_samples=24,
                    max_length=48, epochs=1, untuned_baseline=False)
    assert "untuned" not in off.metrics


def test_no_untuned_baseline_turns_the_switch_off(monkeypatch):
    seen = []
    monkeypatch.setattr(balora.train, "train", lambda config, options, console=None: seen.append(config))
    assert main(["train", "--experiment_name", "x", "--no-untuned_baseline"]) == 0
    assert main(["train", "--experiment_name", "y"]) == 0
    assert [config.untuned_baseline for config in seen] == [False, True]
