"""Helpers for tests that run the real pipeline on the tiny model."""

from __future__ import annotations

from balora.config import TrainConfig
from balora.console import Console
from balora.methods import build_options
from balora.train import train


def run_train(results_dir, data_dir, model_dir, *, method_settings=None, **settings) -> dict:
    defaults = dict(experiment_name="tiny", dataset="sst2", data_dir=str(data_dir), model_name_or_path=model_dir,
                    results_dir=str(results_dir), epochs=2, batch_size=8, learning_rate=5e-3, peft_method="lora",
                    # fp32, not the default auto (bf16 on CPUs that have it): tests compare saved logits with a
                    # plain fp32 reload to 1e-5; tests/training/test_precision.py checks bf16 runs
                    precision="fp32")
    config = TrainConfig(**{**defaults, **settings})
    return train(config, build_options(**(method_settings or {})), Console(quiet=True))


def reload_with_plain_peft(experiment_dir, data_dir, model_dir, max_test_samples=None, quantization_config=None,
                           atol=1e-5):
    """Rebuild the adapter with nothing but transformers + peft (+ bitsandbytes for a ``quantization_config``
    base); assert it reproduces the saved predictions."""
    import numpy as np
    import pandas as pd
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from balora.data import get_dataset_spec, load_task_data

    from balora.modeling import resolve_model_path  # only to find the packaged model's folder

    checkpoint = experiment_dir / "model_checkpoint"
    quantized = {"quantization_config": quantization_config} if quantization_config else {}
    base = AutoModelForSequenceClassification.from_pretrained(resolve_model_path(model_dir), num_labels=2, **quantized)
    model = PeftModel.from_pretrained(base, checkpoint).eval()
    # the test split here is carved from train: rebuild it the way the pipeline did
    texts = load_task_data(get_dataset_spec("sst2"), str(data_dir),
                           max_test_samples=max_test_samples).splits["test"]["text"].tolist()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    with torch.no_grad():
        logits = model(**tokenizer(texts, padding=True, truncation=True, max_length=128,
                                   return_tensors="pt")).logits.numpy()
    saved = pd.read_csv(experiment_dir / "test_predictions.csv")
    assert (logits.argmax(-1) == saved["prediction"].to_numpy()).all()
    np.testing.assert_allclose(logits, saved[["logit_0", "logit_1"]].to_numpy(), atol=atol)
    return model


def interrupt_training_after(monkeypatch, epoch: float):
    """Make training raise KeyboardInterrupt once past ``epoch``; returns a function that undoes it."""
    from balora.training import callbacks

    original = callbacks.LossWatch._check

    def interrupt(self, module, inputs, output):
        if self.state.epoch is not None and self.state.epoch > epoch:
            raise KeyboardInterrupt
        return original(self, module, inputs, output)

    monkeypatch.setattr(callbacks.LossWatch, "_check", interrupt)
    return lambda: monkeypatch.setattr(callbacks.LossWatch, "_check", original)


def watch_train_calls(monkeypatch, interrupt=None, epoch: float = 0.0) -> list[tuple[str, bool]]:
    """Wrap `balora.train.train` to record its calls, as (experiment name, resume?); the call that
    ``interrupt(config, call_number)`` picks, if any, is stopped as Ctrl-C would once past ``epoch``."""
    import balora.train

    calls, original = [], balora.train.train

    def train(config, options, console=None, **kwargs):
        calls.append((config.experiment_name, config.resume))
        if interrupt is None or not interrupt(config, len(calls)):
            return original(config, options, console, **kwargs)
        undo = interrupt_training_after(monkeypatch, epoch)
        try:
            return original(config, options, console, **kwargs)
        finally:
            undo()

    monkeypatch.setattr(balora.train, "train", train)
    return calls


def interrupt_then_resume(monkeypatch, epoch: float, results_dir, data_dir, model_dir, **settings) -> dict:
    """Run until training passes ``epoch``, stop it as Ctrl-C would, then finish it with --resume."""
    undo = interrupt_training_after(monkeypatch, epoch)
    try:
        run_train(results_dir, data_dir, model_dir, **settings)
    except KeyboardInterrupt:
        pass
    undo()
    return run_train(results_dir, data_dir, model_dir, resume=True, **settings)


def mount_tmpfs_or_skip(folder, options: str) -> None:
    """A real small or read-only file system for fault tests: a tmpfs, where root may mount one."""
    import os
    import shutil
    import subprocess

    import pytest

    folder.mkdir(exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
