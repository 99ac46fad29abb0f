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
    assert results["runtime"]["precision"] == "bf16" and results["runtime"]["torch_threads"] >= 1
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
