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


def test_missing_tracker_package_is_one_clear_error_before_anything_runs(tmp_path, tiny_data_dir, tiny_model_dir,
                                                                         monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(UserError, match="--report_to mlflow: the mlflow package is not installed"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, report_to="mlflow")
    assert not (tmp_path / "tiny").exists()


def test_report_to_none_and_run_name(tmp_path):
    from balora.config import TrainConfig

    args = trainer.training_arguments(TrainConfig(experiment_name="named", report_to="none"), tmp_path, "accuracy", 64)
    assert args.report_to == [] and args.run_name == "named"
