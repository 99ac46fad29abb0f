"""A full disk or a read-only folder while `balora train` writes its state: one line, the run marked
failed where the status can still be written, nothing half-written."""

from __future__ import annotations

import errno
import json
import os

import pytest

from balora.cli import main
from balora.results import ExperimentDir


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def read_only(*args, **kwargs):
    raise OSError(errno.EROFS, os.strerror(errno.EROFS))


def run(capsys, tmp_path, data_dir, model_dir):
    code = main(["train", "--experiment_name", "exp", "--results_dir", str(tmp_path / "r"), "--data_dir",
                 str(data_dir), "--model_name_or_path", model_dir, "--epochs", "1", "--precision", "fp32"])
    return code, capsys.readouterr().err.strip()


def test_a_full_disk_while_training_marks_the_run_failed_in_one_line(capsys, tmp_path, tiny_data_dir, tiny_model_dir,
                                                                      monkeypatch):
    monkeypatch.setattr(ExperimentDir, "append_record", no_space)  # the first metrics line
    code, err = run(capsys, tmp_path, tiny_data_dir, tiny_model_dir)
    assert code == 1 and err == f"error: cannot write in {tmp_path / 'r' / 'exp'}: no space left on device"
    status = json.loads((tmp_path / "r" / "exp" / "status.json").read_text())
    assert status["status"] == "failed" and "no space left" in status["error"]


def test_when_not_even_the_status_can_be_written_it_is_still_one_line_and_nothing_half_written(
        capsys, tmp_path, tiny_data_dir, tiny_model_dir, monkeypatch):
    import balora.results

    real_fsync = os.fsync
    monkeypatch.setattr(ExperimentDir, "append_record", no_space)

    def fsync(fd):  # every atomic write from the first metrics line on fails as the disk fills
        if (tmp_path / "r" / "exp" / "training_log.txt").exists():
            no_space()
        real_fsync(fd)

    monkeypatch.setattr(balora.results.os, "fsync", fsync)
    code, err = run(capsys, tmp_path, tiny_data_dir, tiny_model_dir)
    assert code == 1 and err.startswith("error: cannot write in ") and err.endswith("no space left on device")
    assert len(err.splitlines()) == 1
    folder = tmp_path / "r" / "exp"
    assert json.loads((folder / "status.json").read_text())["status"] == "running"  # as it was: whole
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_read_only_folder_before_anything_started_is_exit_2_and_leaves_nothing(capsys, tmp_path, tiny_data_dir,
                                                                                  tiny_model_dir, monkeypatch):
    import balora.results

    monkeypatch.setattr(balora.results, "atomic_write_text", read_only)  # config.json, the first state file
    code, err = run(capsys, tmp_path, tiny_data_dir, tiny_model_dir)
    assert code == 2 and err == f"error: cannot write in {tmp_path / 'r' / 'exp'}: read-only file system"
    assert not (tmp_path / "r").exists()


def test_a_metrics_line_that_does_not_fit_is_taken_back(tmp_path, monkeypatch):
    experiment = ExperimentDir(tmp_path, "exp")
    experiment.path.mkdir()
    experiment.append_record({"step": 1})
    real_write = os.write

    def half(fd, data):  # the disk fills in the middle of the line
        if len(data) > 10:
            return real_write(fd, data[:10])
        no_space()

    monkeypatch.setattr(os, "write", half)
    with pytest.raises(OSError, match="No space left"):
        experiment.append_record({"step": 2, "loss": 0.5})
    monkeypatch.undo()
    assert experiment.file("metrics.jsonl").read_text() == '{"step": 1}\n'


def test_a_real_disk_filling_up_at_a_checkpoint_marks_the_run_failed(capsys, tmp_path, tiny_data_dir, tiny_model_dir):
    """torch.save on a full disk says only `RuntimeError: ... unexpected pos`: the full file system
    is recognised, the cut checkpoint removed and the run marked failed with the cause."""
    import subprocess

    from helpers import mount_tmpfs_or_skip

    disk = tmp_path / "disk"
    mount_tmpfs_or_skip(disk, "size=6m")  # the full model's checkpoint (weights + optimizer) needs more
    try:
        code = main(["train", "--experiment_name", "exp", "--results_dir", str(disk / "r"), "--data_dir",
                     str(tiny_data_dir), "--model_name_or_path", tiny_model_dir, "--epochs", "1", "--precision",
                     "fp32", "--batch_size", "8", "--peft_method", "full"])
        err = capsys.readouterr().err.strip()
        assert code == 1 and err.startswith(f"error: cannot write in {disk / 'r' / 'exp'}: no space left on device")
        status = json.loads((disk / "r" / "exp" / "status.json").read_text())
        assert status["status"] == "failed" and "no space left" in status["error"]
    finally:
        subprocess.run(["umount", str(disk)])


def test_a_storage_failure_removes_what_was_cut_short_and_keeps_complete_checkpoints(tmp_path):
    from balora.results import CHECKPOINT_COMPLETE_FILE

    experiment = ExperimentDir(tmp_path, "exp")
    for step, complete in ((9, True), (18, False)):
        (experiment.checkpoints / f"checkpoint-{step}").mkdir(parents=True)
        if complete:
            (experiment.checkpoints / f"checkpoint-{step}" / CHECKPOINT_COMPLETE_FILE).touch()
    (experiment.path / "model_checkpoint.tmp").mkdir()
    experiment.drop_unfinished_checkpoints()
    assert [p.name for p in experiment.checkpoints.iterdir()] == ["checkpoint-9"]
    assert not (experiment.path / "model_checkpoint.tmp").exists()
