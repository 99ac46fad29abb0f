"""results_final.json is the commit point: a run killed after writing it is complete, and a resume
redoes nothing; a resume never records a step twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import balora.train
from balora.cli import main
from balora.results import CHECKPOINT_COMPLETE_FILE, ExperimentDir

KILL_AT_COMMIT = """
import os, sys
from balora.results import ExperimentDir
from balora.cli import main

original = ExperimentDir.set_status
def set_status(self, status, **extra):
    if status == "completed":  # results_final.json is written: die before the status says so
        os._exit(9)
    return original(self, status, **extra)
ExperimentDir.set_status = set_status
sys.exit(main(sys.argv[1:]))
"""


def test_a_kill_between_the_results_and_the_status_loses_nothing_and_redoes_nothing(tmp_path, tiny_data_dir,
                                                                                    tiny_model_dir, monkeypatch,
                                                                                    capsys):
    args = ["train", "--experiment_name", "exp", "--results_dir", str(tmp_path), "--data_dir", str(tiny_data_dir),
            "--model_name_or_path", tiny_model_dir, "--epochs", "1", "--precision", "fp32"]
    source = str(Path(balora.train.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    killed = subprocess.run([sys.executable, "-c", KILL_AT_COMMIT, *args], capture_output=True, text=True, env=env)
    assert killed.returncode == 9, killed.stderr
    folder = ExperimentDir(tmp_path, "exp")
    assert json.loads(folder.file("status.json").read_text())["status"] == "running"
    metrics = folder.file("metrics.jsonl").read_text()
    written = json.loads(folder.file("results_final.json").read_text())

    def must_not_train(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(balora.train, "load_inputs", must_not_train)
    assert folder.status() == "completed"
    assert main([*args, "--resume"]) == 0
    assert "nothing to redo" in capsys.readouterr().out
    assert json.loads(folder.file("status.json").read_text())["status"] == "completed"
    assert folder.file("metrics.jsonl").read_text() == metrics
    assert json.loads(folder.file("results_final.json").read_text()) == written
    assert not folder.checkpoints.exists()
    assert main(args) == 2  # finished: a plain rerun is refused as for any finished experiment


def test_a_resume_forgets_the_records_of_the_steps_it_redoes(tmp_path):
    folder = ExperimentDir(tmp_path, "exp")
    checkpoint = folder.checkpoints / "checkpoint-4"
    checkpoint.mkdir(parents=True)
    (checkpoint / CHECKPOINT_COMPLETE_FILE).touch()
    lines = [{"type": "train", "step": 2}, {"type": "eval", "step": 4}, {"type": "train", "step": 6},
             {"type": "eval", "step": 8}, {"note": "no step"}]
    folder.file("metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    folder.file("rank_growth.jsonl").write_text(json.dumps({"step": 6}) + "\n")
    folder.start("resume", {})
    kept = [json.loads(line) for line in folder.file("metrics.jsonl").read_text().splitlines()]
    assert kept == [lines[0], lines[1], lines[4]]
    assert folder.file("rank_growth.jsonl").read_text() == ""
