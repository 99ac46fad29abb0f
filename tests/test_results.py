"""Experiment files: written atomically, readable by colleagues, statuses that say what happened."""

from __future__ import annotations

import json
import os
import stat

import pytest

from balora.errors import UserError
from balora.results import ExperimentDir, atomic_write_json
from helpers import run_train


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_atomic_writes_respect_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write_json(tmp_path / "x.json", {"a": 1})
        with open(tmp_path / "plain.txt", "w"):
            pass
    finally:
        os.umask(old)
    assert mode(tmp_path / "x.json") == mode(tmp_path / "plain.txt") == 0o666 & ~umask


def test_every_file_of_a_finished_experiment_is_readable_by_others(tmp_path, tiny_data_dir, tiny_model_dir):
    old = os.umask(0o022)
    try:
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1)
    finally:
        os.umask(old)
    for name in ("config.json", "status.json", "results_final.json", "metrics.jsonl", "test_predictions.csv"):
        assert mode(tmp_path / "tiny" / name) == 0o644, name


def test_a_failed_experiment_is_not_resumed(tmp_path):
    experiment = ExperimentDir(tmp_path, "exp")
    experiment.start("new", {})
    experiment.set_status("failed", error="non-finite training loss (nan) at step 3")
    with pytest.raises(UserError, match=r"failed \(non-finite training loss \(nan\) at step 3\); pass --overwrite"):
        experiment.check_can_start(overwrite=False, resume=True, config={})
    assert experiment.check_can_start(overwrite=True, resume=False, config={}) == "overwrite"
    assert json.loads((tmp_path / "exp" / "status.json").read_text())["status"] == "failed"


def test_resume_skips_a_checkpoint_whose_save_was_cut_short(tmp_path):
    from balora.results import CHECKPOINT_COMPLETE_FILE

    experiment = ExperimentDir(tmp_path, "exp")
    for step, files in ((4, ["trainer_state.json", CHECKPOINT_COMPLETE_FILE]), (8, ["adapter_model.safetensors"])):
        folder = experiment.checkpoints / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        for name in files:
            (folder / name).write_text("{}")
    assert experiment.latest_checkpoint() == str(experiment.checkpoints / "checkpoint-4")  # 8 was killed mid-save
    (experiment.checkpoints / "checkpoint-8" / "trainer_state.json").write_text("{}")  # HF-complete, our state not yet
    assert experiment.latest_checkpoint() == str(experiment.checkpoints / "checkpoint-4")
    (experiment.checkpoints / "checkpoint-8" / CHECKPOINT_COMPLETE_FILE).touch()
    assert experiment.latest_checkpoint() == str(experiment.checkpoints / "checkpoint-8")


def test_the_pipelines_save_callback_marks_the_checkpoint_complete_last(tmp_path):
    from types import SimpleNamespace

    from balora.results import CHECKPOINT_COMPLETE_FILE
    from balora.training.callbacks import METHOD_STATE_FILE, MethodState

    folder = tmp_path / "checkpoint-3"
    folder.mkdir()
    args, state = SimpleNamespace(output_dir=str(tmp_path)), SimpleNamespace(global_step=3, is_world_process_zero=True)
    MethodState(None).on_save(args, state, None)  # a method with no state still marks it
    assert (folder / CHECKPOINT_COMPLETE_FILE).is_file() and not (folder / METHOD_STATE_FILE).exists()

    def state_then_check():
        assert not (folder / CHECKPOINT_COMPLETE_FILE).exists()  # the marker comes after the state
        return {"rank": 2}

    (folder / CHECKPOINT_COMPLETE_FILE).unlink()
    MethodState(state_then_check).on_save(args, state, None)
    assert (folder / METHOD_STATE_FILE).is_file() and (folder / CHECKPOINT_COMPLETE_FILE).is_file()


def test_a_resume_may_change_bookkeeping_settings_only(tmp_path):
    import dataclasses

    from balora.config import TrainConfig, bookkeeping_settings

    settings = dataclasses.asdict(TrainConfig(experiment_name="x"))
    experiment = ExperimentDir(tmp_path, "x")
    experiment.start("new", settings)
    experiment.set_status("interrupted")
    changed = {**settings, "eval_batch_size": 8, "num_workers": 2, "data_dir": "elsewhere", "report_to": "tensorboard"}
    assert {"eval_batch_size", "data_dir", "report_to", "num_workers"} <= bookkeeping_settings("runtime")
    assert experiment.check_can_start(False, True, changed) == "resume"
    with pytest.raises(UserError, match="settings differ from the interrupted run: learning_rate"):
        experiment.check_can_start(False, True, {**changed, "learning_rate": 1e-3})


def test_compare_and_the_study_derive_what_they_ignore_from_the_bookkeeping_marker():
    from balora.analysis.collect import NOT_CONFIGURATION
    from balora.config import bookkeeping_settings
    from balora.study.studyfile import STUDY_OWNED_SETTINGS

    assert NOT_CONFIGURATION == bookkeeping_settings() | {"seed"}
    assert STUDY_OWNED_SETTINGS == bookkeeping_settings("run") | {"seed", "dataset"}
    assert "eval_batch_size" in NOT_CONFIGURATION and "learning_rate" not in NOT_CONFIGURATION
