"""--eval_steps: evaluation, records and the kept checkpoint every N optimizer steps, resumable."""

from __future__ import annotations

import json

from helpers import interrupt_then_resume, run_train

# The tiny data: 72 training examples, batch 8 -> 9 optimizer steps per epoch, 18 in two epochs.


def evaluations(folder) -> list[dict]:
    records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return [r for r in records if r["type"] == "eval"]


def test_evaluates_every_n_steps_and_after_the_last(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=2, eval_steps=4)
    evals = evaluations(tmp_path / "tiny")
    assert [r["step"] for r in evals] == [4, 8, 12, 16, 18]  # 18 is not a multiple of 4 but ends the run
    assert all(r["split"] == "validation" and "accuracy" in r and r["train_loss"] is not None for r in evals)
    assert evals[0]["epoch"] < 0.5  # fractional epochs, not one point per epoch
    log = (tmp_path / "tiny" / "training_log.txt").read_text()
    assert "Step 4/18 (epoch 0.44): Loss:" in log and "Step 18/18 (epoch 2.00)" in log
    assert "Epoch 1/2" not in log


def test_the_best_step_is_kept_and_reported(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=2, eval_steps=3, learning_rate=1e-2)
    evals = evaluations(tmp_path / "tiny")
    best = max(evals, key=lambda r: r["accuracy"])  # the first best, as the Trainer keeps it
    assert results.best_step == best["step"] and results.best_epoch == best["epoch"]
    assert results.metrics["validation"]["accuracy"] == best["accuracy"]
    assert results.metrics["validation"]["loss"] == best["loss"]


def test_interrupted_between_evaluations_resumes_from_the_latest_step_checkpoint(tmp_path, tiny_data_dir,
                                                                                 tiny_model_dir, monkeypatch):
    straight = run_train(tmp_path / "straight", tiny_data_dir, tiny_model_dir, epochs=2, eval_steps=4)
    # Stopped in step 10, after the evaluation and checkpoint of step 8: steps 9-10 are redone.
    resumed = interrupt_then_resume(monkeypatch, 1.0, tmp_path / "resumed", tiny_data_dir, tiny_model_dir,
                                    epochs=2, eval_steps=4)
    evals = evaluations(tmp_path / "resumed" / "tiny")
    assert [r["step"] for r in evals] == [4, 8, 12, 16, 18]  # 4 and 8 not redone, none missing
    assert "--- resuming" in (tmp_path / "resumed" / "tiny" / "training_log.txt").read_text()
    assert resumed.timing.optimizer_steps == 18
    assert [r["accuracy"] for r in evals] == [r["accuracy"] for r in evaluations(tmp_path / "straight" / "tiny")]
    assert resumed.best_step == straight.best_step
