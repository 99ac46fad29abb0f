"""The train pipeline end to end on a tiny random BERT: layout, reload, resume, failures."""

import json

import pytest
import torch

from balora.errors import UserError
from balora.training.callbacks import NonFiniteLoss
from helpers import interrupt_training_after, reload_with_plain_peft, run_train


def test_results_layout_and_contents(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir)
    folder = tmp_path / "tiny"
    for name in ("config.json", "status.json", "training_log.txt", "metrics.jsonl", "results_final.json",
                 "test_predictions.csv", "model_checkpoint/adapter_model.safetensors"):
        assert (folder / name).exists(), name
    assert not (folder / "checkpoints").exists()  # only kept while unfinished
    assert json.loads((folder / "status.json").read_text())["status"] == "completed"
    final = json.loads((folder / "results_final.json").read_text())
    assert final == json.loads(json.dumps(results.as_dict(), default=str))
    assert set(final["parameters"]) == {"adapter", "head", "trainable", "total", "peak_adapter"}
    assert final["parameters"]["peak_adapter"] == final["parameters"]["adapter"]  # LoRA holds what it keeps
    # LoRA r=8 on query and value of 2 layers of hidden 32: 4 matrices * 8 * (32 + 32)
    assert final["parameters"]["adapter"] == 4 * 8 * 64
    assert final["parameters"]["head"] == 32 * 2 + 2
    assert {"setup_seconds", "train_seconds", "eval_seconds", "total_seconds"} <= set(final["timing"])
    assert {"torch", "transformers", "peft"} <= set(final["versions"])
    assert set(final["metrics"]["test"]) >= {"accuracy", "f1_macro", "precision_macro", "recall_macro",
                                              "matthews_correlation", "confusion_matrix", "per_class"}
    assert json.loads((folder / "config.json").read_text())["lora_r"] == 8
    records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["type"] == "eval"] == [1.0, 2.0]
    log = (folder / "training_log.txt").read_text()
    assert "Trainable parameters: 2,114" in log and "Epoch 2/2: Loss:" in log and "Test accuracy:" in log


def test_saved_adapter_reloads_with_plain_peft_and_reproduces_test_predictions(tmp_path, tiny_data_dir,
                                                                               tiny_model_dir):
    run_train(tmp_path, tiny_data_dir, tiny_model_dir)
    reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_model_dir)


def test_finished_experiment_is_not_overwritten_without_the_flag(tmp_path, tiny_data_dir, tiny_model_dir):
    run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1)
    before = (tmp_path / "tiny" / "results_final.json").read_text()
    with pytest.raises(UserError, match="already finished; pass --overwrite"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1)
    assert (tmp_path / "tiny" / "results_final.json").read_text() == before
    run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1, seed=7, overwrite=True)
    assert json.loads((tmp_path / "tiny" / "results_final.json").read_text())["seed"] == 7


def test_interrupted_experiment_resumes_from_its_checkpoint(tmp_path, tiny_data_dir, tiny_model_dir, monkeypatch):
    restore = interrupt_training_after(monkeypatch, 1.2)
    with pytest.raises(KeyboardInterrupt):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=3)
    folder = tmp_path / "tiny"
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "interrupted" and "Ctrl-C" in status["error"]
    assert not (folder / "results_final.json").exists()
    with pytest.raises(UserError, match="was interrupted; pass --resume"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=3)
    with pytest.raises(UserError, match="settings differ .*epochs"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=4, resume=True)

    restore()
    before = json.loads((folder / "checkpoints" / "checkpoint-9" / "balora_training_seconds.json").read_text())
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=3, resume=True)
    evals = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in evals if r["type"] == "eval"] == [1.0, 2.0, 3.0]  # epoch 1 not redone
    assert results.timing.optimizer_steps == 3 * 9  # 72 examples / batch 8, per epoch
    assert "--- resuming" in (folder / "training_log.txt").read_text()
    # the first epoch's training time, spent before the interrupt, is counted too
    assert results.timing.train_seconds > before["seconds"] > 0
    # and so is the whole run's: the first process's time up to its checkpoint, then this one's
    timing = results.timing
    assert timing.total_seconds > before["total_seconds"] + (timing.train_seconds - before["seconds"])


@pytest.mark.parametrize("method", ["lora", "ba_lora", "adalora", "layerwise", "plateau_lora", "full"])
def test_non_finite_loss_is_reported_with_step_and_method(tmp_path, tiny_data_dir, tiny_model_dir, monkeypatch,
                                                          method):
    import balora.run_inputs as inputs

    real_loader = inputs.load_model

    def poisoned(*args, **kwargs):
        loaded = real_loader(*args, **kwargs)
        with torch.no_grad():
            loaded.model.classifier.weight.fill_(float("nan"))
        return loaded

    monkeypatch.setattr(inputs, "load_model", poisoned)
    where = "or gradients in the importance pass" if method == "ba_lora" else "at step 1 .*"
    with pytest.raises(NonFiniteLoss, match=rf"non-finite training loss \(nan\) {where}.*method {method}"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method=method)
    status = json.loads((tmp_path / "tiny" / "status.json").read_text())
    assert status["status"] == "failed" and ("step 1" in status["error"] or method == "ba_lora")


def test_bad_method_setting_leaves_no_folder(tmp_path, tiny_data_dir, tiny_model_dir):
    with pytest.raises(UserError, match="freeze_layers"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="partial",
                  method_settings={"freeze_layers": 5})
    assert not (tmp_path / "tiny").exists()


@pytest.mark.parametrize("method, settings", [("full", {}), ("partial", {"freeze_layers": 1})])
def test_full_and_partial_save_a_whole_model(tmp_path, tiny_data_dir, tiny_model_dir, method, settings):
    from transformers import AutoModelForSequenceClassification

    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method=method, epochs=1, learning_rate=1e-3,
                        method_settings=settings)
    counts = results.parameters
    assert counts.head == 66 and counts.adapter == counts.trainable - 66
    if method == "full":
        assert counts.trainable == counts.total
    else:
        assert counts.trainable < counts.total
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "tiny" / "model_checkpoint")
    assert reloaded.config.num_labels == 2


def test_validation_metrics_are_those_of_the_kept_epoch(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=3)
    evals = [json.loads(line) for line in (tmp_path / "tiny" / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in evals if r["type"] == "eval"]
    best = max(evals, key=lambda r: r["accuracy"])  # the first best, as the Trainer keeps it
    assert results.best_epoch == best["epoch"]
    assert results.metrics["validation"]["accuracy"] == best["accuracy"]
    assert results.metrics["validation"]["loss"] == best["loss"]


@pytest.mark.parametrize("method, settings, expected", [
    ("lora", {}, 5e-4), ("adalora", {"adalora_init_r": 4, "adalora_target_r": 2}, 5e-3)])
def test_without_a_learning_rate_each_method_trains_at_its_own_default(tmp_path, tiny_data_dir, tiny_model_dir,
                                                                      method, settings, expected):
    from balora.methods import METHODS, learning_rate_of

    assert learning_rate_of(METHODS[method]) == expected
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method=method, method_settings=settings,
                        learning_rate=None, epochs=1)
    first_steps = [json.loads(line) for line in (tmp_path / "tiny" / "metrics.jsonl").read_text().splitlines()]
    assert results.config["learning_rate"] == expected  # recorded resolved, so --resume and compare see it
    assert max(r["learning_rate"] for r in first_steps if r["type"] == "train") == pytest.approx(expected)


def test_only_the_main_process_decides_whether_an_experiment_may_start(tmp_path, monkeypatch):
    # Under torchrun the main process marks the folder running before another process looks at
    # it; a second process that judged the folder itself took that for a killed run and refused.
    from balora.config import TrainConfig
    from balora.results import ExperimentDir
    from balora.train import start_mode

    experiment = ExperimentDir(tmp_path, "tiny")
    experiment.start("new", {"seed": 42})  # what the main process has done by now
    config = TrainConfig(experiment_name="tiny", results_dir=str(tmp_path))
    with pytest.raises(UserError, match="unfinished"):
        start_mode(experiment, config, {"seed": 42})  # a second run of the same name is refused
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert start_mode(experiment, config, {"seed": 42}) == "new"
    assert start_mode(experiment, TrainConfig(experiment_name="tiny", results_dir=str(tmp_path), resume=True),
                      {"seed": 42}) == "resume"
