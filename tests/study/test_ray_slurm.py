"""The Ray and SLURM (submitit) executors on the tiny model, where those optional packages are
installed: Ray with two GPUs declared on a CPU machine gives each task its own GPU, a cluster
without GPUs refuses a GPU study before anything runs, and submitit's local executor runs a study."""

from __future__ import annotations

import pytest

from balora.cli import main
from balora.results import read_json
from balora.study import plan_from_file
from balora.study.plan import StudyOptions
from balora.study.runner import run_study
from study.test_executors import trained_once, write_study


def two_experiments(tmp_path, tiny_model_dir, tiny_data_dir, name: str, grow: bool = False):
    """The tiny study's learning-rate search at one seed: two experiments that may run at once (and,
    with ``grow``, the rates its grid grows by, one after another)."""
    path = write_study(tmp_path, tiny_model_dir, tiny_data_dir, grow=grow)
    return plan_from_file(str(path), StudyOptions(results_dir=str(tmp_path / name), seeds=[1]))


def test_ray_tasks_each_see_their_own_gpu(tmp_path, tiny_model_dir, tiny_data_dir):
    pytest.importorskip("ray")
    from balora.study.executors.ray_cluster import RayExecutor

    plan = two_experiments(tmp_path, tiny_model_dir, tiny_data_dir, "ray")
    # Two GPUs declared on this CPU machine: Ray hands each task one through CUDA_VISIBLE_DEVICES
    # (torch finds no CUDA and trains on the CPU).
    executor = RayExecutor(plan.results_dir, 2, 1, init_options={"num_cpus": 2, "num_gpus": 2})
    outcomes = run_study(plan, print_line=lambda line: None, executor=executor)
    assert [o.status for o in outcomes] == ["completed", "completed"]
    experiments = read_json(tmp_path / "ray" / "study.json")["experiments"]
    assert sorted(entry["gpus"] for entry in experiments.values()) == [["0"], ["1"]]  # both ran at once
    assert all(trained_once(tmp_path / "ray" / name) for name in experiments)


def test_ray_refuses_a_gpu_study_on_a_cluster_without_gpus(tmp_path, tiny_model_dir, tiny_data_dir, capsys):
    pytest.importorskip("ray")
    path = write_study(tmp_path, tiny_model_dir, tiny_data_dir)
    code = main(["study", str(path), "--results_dir", str(tmp_path / "results"), "--executor", "ray",
                 "--gpus_per_experiment", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err == ("error: --executor ray: each experiment asks for 1 GPU(s) and the Ray cluster has 0; "
                   "nothing was run (--gpus_per_experiment 0 trains on CPUs)")
    assert not (tmp_path / "results").exists()


def test_submitit_local_executor_runs_a_two_experiment_study(tmp_path, tiny_model_dir, tiny_data_dir):
    pytest.importorskip("submitit")
    from balora.study.executors.slurm import SlurmExecutor

    plan = two_experiments(tmp_path, tiny_model_dir, tiny_data_dir, "slurm", grow=True)
    executor = SlurmExecutor(plan.results_dir, 2, 0, cluster="local")
    outcomes = run_study(plan, print_line=lambda line: None, executor=executor)
    state = read_json(tmp_path / "slurm" / "study.json")
    search = state["groups"]["sst2-p-lora"]
    # The grid grew while the jobs ran (a two-rate grid's best is at an edge), and the chosen rate's
    # run (seed 1 is the only seed) was tested by a job of its own, from its saved model.
    assert search["grown"] and [o.status for o in outcomes] == ["completed"] * len(search["grid"])
    assert search["selected_learning_rate"] in search["grid"]
    chosen = tmp_path / "slurm" / f"sst2-p-lora-lr{search['selected_learning_rate']:g}-s1" / "results_final.json"
    assert read_json(chosen)["metrics"]["test"]
    assert list((tmp_path / "slurm" / ".study_workers" / "slurm").iterdir())  # the jobs' logs, beside the results
