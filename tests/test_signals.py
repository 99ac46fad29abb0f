"""Ctrl-C and SIGTERM in every phase of `balora train`: exit 130, a status that says so (nothing
left when the experiment had not started), even when a library swallows the KeyboardInterrupt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import balora.train
from balora.cli import main

SOURCE = str(Path(balora.train.__file__).parents[1])

# As datasets' fingerprint hashing does: a bare except around the moment the signal lands.
SWALLOW = """
def swallowing(original):
    def call(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
        except:
            pass
        return original(*args, **kwargs)
    return call
"""

LOADING = SWALLOW + """
from balora.cli import quiet_libraries
quiet_libraries()  # before balora.train imports PEFT, as `balora` itself does
import balora.train
from balora.cli import main
balora.train.load_inputs = swallowing(balora.train.load_inputs)
sys.exit(main(sys.argv[1:]))
"""

SLOW_STEPS = """
from balora.training import callbacks
from balora.cli import main
original = callbacks.LossWatch._check
def slow(self, module, inputs, output):
    time.sleep(0.15)
    return original(self, module, inputs, output)
callbacks.LossWatch._check = slow
sys.exit(main(sys.argv[1:]))
"""


def train_args(results, data_dir, model_dir, epochs=1):
    return ["train", "--experiment_name", "exp", "--results_dir", str(results), "--data_dir", str(data_dir),
            "--model_name_or_path", model_dir, "--epochs", str(epochs), "--precision", "fp32", "--batch_size", "8"]


def balora_process(script, args, **kwargs):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SOURCE, os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", "import os, signal, sys, time\n" + script, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_ctrl_c_while_loading_that_a_library_swallowed_still_stops_and_leaves_nothing(tmp_path, tiny_data_dir,
                                                                                      tiny_model_dir):
    results = tmp_path / "r"
    process = balora_process(LOADING, train_args(results, tiny_data_dir, tiny_model_dir))
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert err.strip() == "interrupted before the experiment started: nothing was written"
    assert not results.exists()


def swallowed_sigint(original):
    def call(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
        except BaseException:
            pass
        return original(*args, **kwargs)
    return call


@pytest.mark.parametrize("phase, target", [
    ("importance pass", (balora.train, "count_parameters")),  # just after the method prepared the model
    ("evaluation", (balora.train, "best_evaluation")),
    ("saving", (balora.train, "name_base_model")),
])
def test_ctrl_c_swallowed_in_a_later_phase_marks_the_run_interrupted(capsys, tmp_path, tiny_data_dir, tiny_model_dir,
                                                                     monkeypatch, phase, target):
    module, name = target
    monkeypatch.setattr(module, name, swallowed_sigint(getattr(module, name)))
    code = main(train_args(tmp_path, tiny_data_dir, tiny_model_dir))
    err = capsys.readouterr().err.strip()
    assert code == 130 and err == (f"interrupted: {tmp_path / 'exp'} is marked interrupted; rerun with --resume "
                                   "to continue")
    assert json.loads((tmp_path / "exp" / "status.json").read_text())["status"] == "interrupted"
    assert not (tmp_path / "exp" / "results_final.json").exists()


def test_sigterm_while_training_checkpoints_marks_interrupted_and_resume_completes(capsys, tmp_path, tiny_data_dir,
                                                                                   tiny_model_dir):
    args = train_args(tmp_path, tiny_data_dir, tiny_model_dir, epochs=3)
    process = balora_process(SLOW_STEPS, args)
    first_epoch = tmp_path / "exp" / "checkpoints" / "checkpoint-9" / "balora_checkpoint_complete"
    deadline = time.monotonic() + 300
    while not first_epoch.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("interrupted: ")
    folder = tmp_path / "exp"
    assert json.loads((folder / "status.json").read_text())["status"] == "interrupted"
    # it saved where it stopped, past the first epoch's checkpoint, and evaluated no part of an epoch
    steps = sorted(int(p.name.split("-")[1]) for p in (folder / "checkpoints").glob("checkpoint-*"))
    assert steps[-1] > 9 and (folder / "checkpoints" / f"checkpoint-{steps[-1]}" / "balora_checkpoint_complete").exists()
    evals = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in evals if r["type"] == "eval"] == [1.0]

    assert main([*args, "--resume"]) == 0
    results = json.loads((folder / "results_final.json").read_text())
    assert results["timing"]["optimizer_steps"] == 27  # 72 examples / batch 8, 3 epochs
    records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["type"] == "eval"] == [1.0, 2.0, 3.0]
    assert len({(r["type"], r["step"]) for r in records}) == len(records)  # no step recorded twice
