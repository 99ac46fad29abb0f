"""--report_to reaches the Trainer, and what it writes outlives the run's checkpoints."""

from __future__ import annotations

import importlib.util

import pytest

from balora.errors import UserError
from balora.training import trainer
from helpers import run_train


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="tensorboard not installed (balora[track])")
def test_report_to_tensorboard_keeps_event_files_in_the_experiment(tmp_path, tiny_data_dir, tiny_model_dir):
    run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1, report_to="tensorboard")
    events = list((tmp_path / "tiny" / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    assert not (tmp_path / "tiny" / "checkpoints").exists()  # the Trainer's default place for them is gone


@pytest.mark.parametrize("tracker", ["mlflow", "wandb"])
def test_missing_tracker_package_is_one_clear_error_before_anything_runs(tmp_path, tiny_data_dir, tiny_model_dir,
                                                                         monkeypatch, tracker):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(UserError, match=rf"--report_to {tracker}: the {tracker} package is not installed "
                                        rf"\(pip install 'balora\[{tracker}\]'\)$"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, report_to=tracker)
    assert not (tmp_path / "tiny").exists()


def test_report_to_none_and_run_name(tmp_path):
    from balora.config import TrainConfig

    args = trainer.training_arguments(TrainConfig(experiment_name="named", report_to="none"), tmp_path, "accuracy", 64)
    assert args.report_to == [] and args.run_name == "named"


@pytest.mark.parametrize("max_grad_norm, advice", [
    (1.0, "try a lower --learning_rate or a larger --warmup_ratio"),
    (0.0, "try --max_grad_norm 1.0 (clipping is off)"),
])
def test_non_finite_loss_advice_fits_the_settings(max_grad_norm, advice):
    """The advice never suggests what the run already does (clipping at 1.0 is the default)."""
    from types import SimpleNamespace

    import torch

    from balora.training.callbacks import LossWatch, NonFiniteLoss

    watch = LossWatch("lora")
    watch.on_train_begin(SimpleNamespace(max_grad_norm=max_grad_norm), SimpleNamespace(global_step=4, epoch=0.5), None)
    module = SimpleNamespace(training=True)
    with pytest.raises(NonFiniteLoss) as err:
        watch._check(module, None, SimpleNamespace(loss=torch.tensor(float("nan"))))
    assert advice in str(err.value) and "at step 5 (epoch 0.50) with method lora" in str(err.value)
    if max_grad_norm:
        assert "--max_grad_norm" not in str(err.value)


def test_no_progress_bars_when_the_output_is_not_a_terminal(tmp_path, monkeypatch):
    import sys

    from balora.config import TrainConfig

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    args = trainer.training_arguments(TrainConfig(experiment_name="x"), tmp_path, "accuracy", 64)
    assert args.disable_tqdm
