"""Where a study's experiments go on one machine: cores split between workers, GPU shares packed,
and the one-line refusals of what a machine cannot give."""

from __future__ import annotations

import pytest

from balora.cli import main
from balora.errors import UserError
from balora.study.placement import local_slots


def test_cpu_cores_are_split_between_the_workers():
    slots = local_slots(2, [0, 1, 2, 3], [], None)
    assert [s.cores for s in slots] == [(0, 1), (2, 3)]
    assert [s.threads for s in slots] == [2, 2]
    assert slots[0].environment() == {"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    assert [s.threads for s in local_slots(None, [0, 1], [], 0)] == [2]  # one worker by default on a CPU


def test_gpu_fractions_pack_several_experiments_on_each_gpu_spreading_first():
    slots = local_slots(None, list(range(16)), ["0", "1"], 0.25)
    assert [s.gpus for s in slots] == [("0",), ("1",)] * 4
    assert [s.threads for s in slots] == [2] * 8
    assert [s.gpus for s in local_slots(2, list(range(16)), ["0", "1"], 0.25)] == [("0",), ("1",)]


def test_whole_gpus_per_experiment_run_under_torchrun():
    slots = local_slots(None, list(range(8)), ["0", "1", "2", "3", "4"], 2)
    assert [(s.gpus, s.processes) for s in slots] == [(("0", "1"), 2), (("2", "3"), 2)]
    assert slots[0].environment()["CUDA_VISIBLE_DEVICES"] == "0,1" and slots[0].threads == 2
    assert [s.gpus for s in local_slots(None, [0], ["0", "1"], None)] == [("0",), ("1",)]  # default: 1 each


@pytest.mark.parametrize("workers, gpus, share, message", [
    (None, [], 1, "this machine has no GPU"),
    (None, ["0"], 0.3, "must divide one GPU evenly"),
    (None, ["0"], 1.5, "a whole number of GPUs"),
    (None, ["0"], 2, "this machine has 1 GPU(s)"),
    (5, ["0"], 0.25, "--workers 5: the GPUs hold 4 experiments at a time"),
])
def test_what_a_machine_cannot_give_is_refused(workers, gpus, share, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        local_slots(workers, [0, 1], gpus, share)


@pytest.mark.parametrize("flags, message", [
    (["--executor", "dask"], "--executor: must be one of serial, local, ray, slurm (got 'dask')"),
    (["--executor", "local", "--workers", "0"], "--workers: must be at least 1 (got 0)"),
    (["--max_retries", "-1"], "--max_retries: must be 0 or more (got -1)"),
    (["--workers", "2"], "--workers and --gpus_per_experiment place experiments on workers"),
])
def test_bad_study_flags_are_one_line(tmp_path, capsys, flags, message):
    code = main(["study", str(tmp_path / "missing.yaml"), *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err
