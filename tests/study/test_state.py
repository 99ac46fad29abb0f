"""study.json: rebuilt from the experiment folders when damaged, never rewriting a finished
experiment's record, and a full or read-only disk reported in one line."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import textwrap

import pytest

from balora.cli import main
from balora.errors import StorageFailure, UserError
from balora.results import read_json
from balora.study.state import StudyState
from helpers import mount_tmpfs_or_skip


def fake_experiment(results, name, status, lr=0.01, seed=1, error=None, results_final=False):
    folder = results / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"learning_rate": lr, "seed": seed}))
    (folder / "status.json").write_text(json.dumps({"status": status, **({"error": error} if error else {})}))
    if results_final:
        (folder / "results_final.json").write_text(json.dumps({"status": "completed"}))


def test_a_study_json_cut_mid_string_is_rebuilt_from_the_experiment_folders(tmp_path, capsys):
    results = tmp_path / "results"
    fake_experiment(results, "sst2-p-lora-lr0.01-s1", "completed", results_final=True)
    fake_experiment(results, "sst2-p-lora-lr0.02-s1", "failed", lr=0.02, error="boom")
    fake_experiment(results, "sst2-p-lora-lr0.01-s2", "running", seed=2, results_final=True)  # killed at its commit
    fake_experiment(results, "sst2-p-dora-lr0.01-s1", "interrupted")
    damaged = '{"study_file": "s.yaml", "experiments": {"sst2-p-lora-lr0.01-s1": {"group": "sst2-p-lo'
    (results / "study.json").write_text(damaged)

    state = StudyState.load(results / "study.json", "s.yaml")
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(f"warning: {results / 'study.json'} is damaged (not valid JSON")
    assert (results / "study.json.broken").read_text() == damaged
    assert state.experiments == {
        "sst2-p-dora-lr0.01-s1": {"group": "sst2-p-dora", "learning_rate": 0.01, "seed": 1, "status": "interrupted"},
        "sst2-p-lora-lr0.01-s1": {"group": "sst2-p-lora", "learning_rate": 0.01, "seed": 1, "status": "completed"},
        "sst2-p-lora-lr0.01-s2": {"group": "sst2-p-lora", "learning_rate": 0.01, "seed": 2, "status": "completed"},
        "sst2-p-lora-lr0.02-s1": {"group": "sst2-p-lora", "learning_rate": 0.02, "seed": 1, "status": "failed",
                                  "error": "boom"},
    }
    state.record("experiments", "sst2-p-dora-lr0.01-s1", {"status": "completed"})
    assert set(read_json(results / "study.json")["experiments"]) == set(state.experiments)


def test_a_finished_experiment_record_is_never_rewritten_as_failed(tmp_path):
    results = tmp_path / "results"
    fake_experiment(results, "sst2-p-lora-lr0.01-s1", "completed", results_final=True)
    state = StudyState.load(results / "study.json", "s.yaml")
    entry = {"group": "sst2-p-lora", "learning_rate": 0.01, "seed": 1}
    state.record("experiments", "sst2-p-lora-lr0.01-s1", {**entry, "status": "completed"})
    state.record("experiments", "sst2-p-lora-lr0.01-s1", {**entry, "status": "failed", "error": "other settings"})
    assert read_json(results / "study.json")["experiments"]["sst2-p-lora-lr0.01-s1"] == {**entry, "status": "completed"}


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_study_json_that_cannot_be_written_is_one_line_and_stays_whole(tmp_path, monkeypatch, code):
    import balora.study.state

    state = StudyState.load(tmp_path / "study.json", "s.yaml")
    state.record("experiments", "a", {"status": "completed"})
    before = (tmp_path / "study.json").read_text()

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(balora.study.state, "atomic_write_json", refuse)
    with pytest.raises(StorageFailure) as caught:
        state.record("experiments", "b", {"status": "failed"})
    assert str(caught.value) == f"cannot write in {tmp_path}: {os.strerror(code).lower()} (writing study.json)"
    assert (tmp_path / "study.json").read_text() == before


STUDY = """\
    name: changed
    seeds: [1]
    defaults: {{model_name_or_path: {model}, data_dir: {data}, epochs: {epochs}, batch_size: 8}}
    phases:
      p:
        methods:
          lora: {{learning_rates: [5.0e-3]}}
"""


def test_a_changed_study_keeps_the_finished_experiments_record(tmp_path, tiny_model_dir, tiny_data_dir, capsys):
    path, results = tmp_path / "s.yaml", tmp_path / "results"
    for epochs, expected in ((1, 0), (2, 1)):  # the second run changed a setting of a finished experiment
        path.write_text(textwrap.dedent(STUDY).format(model=tiny_model_dir, data=tiny_data_dir, epochs=epochs))
        assert main(["study", str(path), "--results_dir", str(results)]) == expected
    assert "exists with other settings (epochs)" in capsys.readouterr().err
    (name, entry), = read_json(results / "study.json")["experiments"].items()
    assert entry["status"] == "completed" and "error" not in entry


def test_a_study_on_a_read_only_file_system_is_refused_before_anything_starts(tmp_path, capsys):
    folder = tmp_path / "ro"
    mount_tmpfs_or_skip(folder, "size=1m")
    try:
        (folder / "results").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        with pytest.raises(UserError, match=r"--results_dir .*/ro/results: this process may not write there"):
            StudyState.load(folder / "results" / "study.json", "s.yaml")
    finally:
        subprocess.run(["umount", str(folder)])
