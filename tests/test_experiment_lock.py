"""One writer per experiment folder: the lock, and two real `balora train` processes at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from balora.errors import UserError
from balora.experiment_lock import ExperimentBusy, ExperimentLock, lock_file

HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, b'{"pid": 4242, "host": "elsewhere", "since": "2026-01-01T00:00:00"}')
print("locked", flush=True)
time.sleep(60)
"""


def hold_lock_in_another_process(path: Path) -> subprocess.Popen:
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_lock_held_by_another_process_refuses_with_who_holds_it(tmp_path):
    holder = hold_lock_in_another_process(lock_file(tmp_path, "exp"))
    try:
        with pytest.raises(ExperimentBusy, match=r"being run by another process \(pid 4242 on elsewhere, since"):
            ExperimentLock(tmp_path, "exp").acquire()
    finally:
        holder.kill()
        holder.wait()
    with ExperimentLock(tmp_path, "exp"):  # the OS dropped the killed holder's lock
        assert json.loads(lock_file(tmp_path, "exp").read_text())["pid"] == os.getpid()
    assert not lock_file(tmp_path, "exp").exists()


def test_resume_of_a_live_run_is_refused_before_anything_loads(tmp_path, tiny_data_dir, tiny_model_dir):
    from helpers import run_train

    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "status.json").write_text('{"status": "running"}')
    holder = hold_lock_in_another_process(lock_file(tmp_path, "tiny"))
    try:
        with pytest.raises(ExperimentBusy, match="is being run by another process"):
            run_train(tmp_path, tiny_data_dir, tiny_model_dir, resume=True)
    finally:
        holder.kill()
        holder.wait()
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == ["status.json"]


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    outer, inner = ExperimentLock(tmp_path, "exp"), ExperimentLock(tmp_path, "exp")
    with outer:
        with inner:
            pass
        assert lock_file(tmp_path, "exp").exists()  # still held by the outer one
    assert not lock_file(tmp_path, "exp").exists()


def test_results_dir_that_is_a_file_or_cannot_be_created_is_one_line(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(UserError, match="a_file: exists and is not a folder"):
        ExperimentLock(tmp_path / "a_file", "exp").acquire()
    with pytest.raises(UserError, match="cannot create it"):
        ExperimentLock(tmp_path / "a_file" / "below", "exp").acquire()
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as for a user without write permission
    with pytest.raises(UserError, match="may not write there"):
        ExperimentLock(tmp_path / "readonly", "exp").acquire()


def balora_train(tmp_path, data_dir, model_dir, *extra) -> subprocess.Popen:
    command = [sys.executable, "-m", "balora", "train", "--experiment_name", "same", "--dataset", "sst2",
               "--data_dir", str(data_dir), "--model_name_or_path", model_dir, "--results_dir", str(tmp_path / "runs"),
               "--batch_size", "8", "--learning_rate", "5e-3", *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})


def test_two_train_processes_on_one_experiment_one_trains_the_other_is_refused(tmp_path, tiny_data_dir,
                                                                               tiny_model_dir):
    # Started together, both reach the lock within a second or so of each other; the winner's
    # training (several seconds) outlasts that.
    first, second = (balora_train(tmp_path, tiny_data_dir, tiny_model_dir, "--epochs", "8") for _ in range(2))
    results = [(p.wait(timeout=300), *p.communicate()) for p in (first, second)]
    assert sorted(code for code, _, _ in results) == [0, 2], results
    _, _, refused = next(r for r in results if r[0] == 2)
    assert refused.strip().splitlines()[-1].startswith("error: experiment ")
    assert "is being run by another process (pid " in refused
    folder = tmp_path / "runs" / "same"
    evals = [r for r in map(json.loads, (folder / "metrics.jsonl").read_text().splitlines()) if r["type"] == "eval"]
    assert [r["epoch"] for r in evals] == [float(e) for e in range(1, 9)]  # one run's records, once each
    assert (folder / "training_log.txt").read_text().count("Dataset: ") == 1
    _, out, err = next(r for r in results if r[0] == 0)
    assert "\r" not in out + err  # no progress bars in a log: they run into the report lines


def test_kill_9_then_rerun_is_told_to_resume_and_resume_completes(tmp_path, tiny_data_dir, tiny_model_dir):
    run = balora_train(tmp_path, tiny_data_dir, tiny_model_dir, "--epochs", "3")
    checkpoints = tmp_path / "runs" / "same" / "checkpoints"
    deadline = time.time() + 120
    while not list(checkpoints.glob("checkpoint-*/trainer_state.json")) and time.time() < deadline:
        time.sleep(0.2)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert json.loads((tmp_path / "runs" / "same" / "status.json").read_text())["status"] == "running"

    rerun = balora_train(tmp_path, tiny_data_dir, tiny_model_dir, "--epochs", "3")
    code, _, err = rerun.wait(timeout=300), *rerun.communicate()
    assert code == 2 and "its process ended without finishing (killed?); pass --resume" in err

    resumed = balora_train(tmp_path, tiny_data_dir, tiny_model_dir, "--epochs", "3", "--resume")
    code, out, err = resumed.wait(timeout=300), *resumed.communicate()
    assert code == 0, err
    assert json.loads((tmp_path / "runs" / "same" / "status.json").read_text())["status"] == "completed"


def test_a_lock_file_that_cannot_be_made_leaves_no_results_folder(tmp_path):
    """Refused before anything started: the results folder made for the lock goes again."""
    with pytest.raises(UserError, match="cannot write there"):
        ExperimentLock(tmp_path / "new", "x" * 300).acquire()
    assert not (tmp_path / "new").exists()
