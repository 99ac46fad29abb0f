"""On a GPU (marked cuda: skipped without one; scripts/gpu_check.sh runs them on a GPU machine):
training at each GPU precision on the tiny model, and a study packed on one GPU."""

from __future__ import annotations

import pytest

from balora.results import read_json
from balora.study import plan_from_file
from balora.study.executors.local import LocalExecutor
from balora.study.plan import StudyOptions
from balora.study.runner import run_study
from helpers import run_train

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("precision", ["fp16", "bf16", "fp32"])
def test_training_on_the_gpu_at_each_precision(tmp_path, tiny_data_dir, tiny_model_dir, precision):
    import torch

    torch.cuda.reset_peak_memory_stats()
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, precision=precision, epochs=1)
    assert results.status == "completed"
    record = read_json(tmp_path / "tiny" / "results_final.json")
    assert record["config"]["precision"] == precision
    assert torch.cuda.max_memory_allocated() > 0  # the model was on the GPU


def test_a_study_packs_two_experiments_on_one_gpu(tmp_path, tiny_model_dir, tiny_data_dir):
    from study.test_executors import trained_once, write_study

    path = write_study(tmp_path, tiny_model_dir, tiny_data_dir, grow=False)  # the two rates, at once
    plan = plan_from_file(str(path), StudyOptions(results_dir=str(tmp_path / "results"), seeds=[1]))
    executor = LocalExecutor(plan.results_dir, 2, 0.5, gpus=["0"])
    outcomes = run_study(plan, print_line=lambda line: None, executor=executor)
    assert [o.status for o in outcomes] == ["completed", "completed"]
    experiments = read_json(tmp_path / "results" / "study.json")["experiments"]
    assert [entry["gpus"] for entry in experiments.values()] == [["0"], ["0"]]
    assert all(trained_once(tmp_path / "results" / name) for name in experiments)
