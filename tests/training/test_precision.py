"""--precision: what auto means on this machine, what is refused, and what the run records."""

from __future__ import annotations

import json

import pytest

from balora.config import TrainConfig
from balora.errors import ConfigError, UserError
from balora.training import precision
from helpers import run_train


def test_auto_is_bf16_only_where_the_hardware_does_bf16(monkeypatch):
    monkeypatch.setattr(precision.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision.torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    assert precision.resolve_precision("auto") == "bf16"
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2"})
    assert precision.resolve_precision("auto") == "fp32"
    assert precision.resolve_precision("bf16") == "bf16"  # asked for explicitly: emulated, but allowed


def test_fp16_without_a_gpu_is_one_clear_error(tmp_path, tiny_data_dir, tiny_model_dir, monkeypatch):
    monkeypatch.setattr(precision.torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="--precision fp16: needs a CUDA GPU"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, precision="fp16")
    assert not (tmp_path / "tiny").exists()


def test_unknown_precision_names_the_field():
    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(experiment_name="x", precision="int8")


def test_bf16_run_records_the_requested_and_the_resolved_precision(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1, precision="bf16")
    assert results.runtime.precision == "bf16" and results.runtime.torch_threads >= 1
    assert json.loads((tmp_path / "tiny" / "config.json").read_text())["precision"] == "bf16"


def test_threads_follow_the_cores_given_to_the_process(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    monkeypatch.setattr(precision.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    before = precision.torch.get_num_threads()
    try:
        assert precision.match_threads_to_cores() == 1
    finally:
        precision.torch.set_num_threads(before)


def test_a_bf16_run_saves_an_adapter_that_plain_peft_reproduces_under_bf16_autocast(tmp_path, tiny_data_dir,
                                                                                      tiny_model_dir):
    """bf16 is autocast, so the saved adapter is fp32; reloaded with plain PEFT under the same autocast it gives
    the saved logits up to bf16 rounding (the pipeline's batches are padded differently from one big batch)."""
    import numpy as np
    import pandas as pd
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1, precision="bf16")
    checkpoint = tmp_path / "tiny" / "model_checkpoint"
    model = PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(tiny_model_dir),
                                      checkpoint).eval()
    assert all(p.dtype == torch.float32 for p in model.parameters())
    saved = pd.read_csv(tmp_path / "tiny" / "test_predictions.csv")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    from balora.data import get_dataset_spec, load_task_data

    # the test split is carved from train: rebuild it the way the pipeline did
    texts = load_task_data(get_dataset_spec("sst2"), str(tiny_data_dir)).splits["test"]["text"].tolist()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.float().numpy()
    expected = saved[["logit_0", "logit_1"]].to_numpy()
    np.testing.assert_allclose(logits, expected, atol=3e-2)
    clear = np.abs(expected[:, 0] - expected[:, 1]) > 0.06
    assert (logits.argmax(-1)[clear] == saved["prediction"].to_numpy()[clear]).all()
