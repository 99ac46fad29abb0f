"""Helpers for tests that run the real pipeline on the tiny model."""

from __future__ import annotations

from balora.config import TrainConfig
from balora.console import Console
from balora.methods import build_options
from balora.train import train


def run_train(results_dir, data_dir, model_dir, *, method_settings=None, **settings) -> dict:
    defaults = dict(experiment_name="tiny", dataset="sst2", data_dir=str(data_dir), model_name_or_path=model_dir,
                    results_dir=str(results_dir), epochs=2, batch_size=8, learning_rate=5e-3, peft_method="lora")
    config = TrainConfig(**{**defaults, **settings})
    return train(config, build_options(**(method_settings or {})), Console(quiet=True))
