"""A study in the user's tracker: with --report_to mlflow, one parent run for the study and a
child run per experiment, in a local MLflow store; with tensorboard, one HParams table."""

from __future__ import annotations

import json
import os

import pytest

from balora.cli import main
from study.test_executors import write_study


def test_a_study_is_one_mlflow_parent_run_with_a_child_per_experiment(tmp_path, monkeypatch, tiny_model_dir,
                                                                      tiny_data_dir):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.chdir(tmp_path)  # a sqlite store keeps artifacts in ./mlruns
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_TAGS", raising=False)
    path = write_study(tmp_path, tiny_model_dir, tiny_data_dir, grow=False)
    code = main(["study", str(path), "--results_dir", str(tmp_path / "results"), "--seeds", "1",
                 "--report_to", "mlflow"])
    assert code == 0
    runs = mlflow.search_runs(experiment_names=["tiny_workers"], output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and parents[0].info.run_name == "tiny_workers"
    assert len(children) == 2
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert all("eval_accuracy" in r.data.metrics for r in children)
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(parents[0].info.run_id)}
    assert {"study.json", "experiments.json"} <= artifacts
    assert parents[0].info.status == "FINISHED"


def test_a_tensorboard_study_gets_one_hparams_table_over_its_runs(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    from balora.study.tracking import hparams_table
    from study.test_schedule import group, plan_of, record

    plan = plan_of(tmp_path, group("a", learning_rates=(1e-3, 2e-3), seeds=(1,)))
    for name, accuracy in (("a-lr0.001-s1", 0.6), ("a-lr0.002-s1", 0.7)):
        (tmp_path / "results" / name).mkdir(parents=True)
        (tmp_path / "results" / name / "results_final.json").write_text(
            json.dumps(record(name, accuracy).as_dict()))
    folder = hparams_table(plan)
    runs = EventMultiplexer().AddRunsFromDirectory(str(folder))
    runs.Reload()
    assert sorted(runs.Runs()) == ["a-lr0.001-s1", "a-lr0.002-s1"]
    content = runs.PluginRunToTagToContent("hparams")
    assert set(content) == {"a-lr0.001-s1", "a-lr0.002-s1"}
    assert runs.Scalars("a-lr0.002-s1", "validation/accuracy")[0].value == pytest.approx(0.7)


def wandb_records(path):
    """The protobuf records of an offline run's .wandb file: wandb writes them in LevelDB's log
    format (32 KiB blocks; each piece a 7-byte header: checksum, length, kind) after a 7-byte
    file header. wandb itself has no Python reader of its own files."""
    from wandb.proto import wandb_internal_pb2

    data, position, pending = path.read_bytes(), 7, b""
    assert data[:4] == b":W&B"
    while position + 7 <= len(data):
        if 32768 - position % 32768 < 7:  # a block's tail too short for a header is padding
            position += 32768 - position % 32768
            continue
        length, kind = int.from_bytes(data[position + 4:position + 6], "little"), data[position + 6]
        pending += data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a whole record, or the last piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def offline_runs(wandb_dir) -> dict[str, dict]:
    """Run name -> its group and job type, as the offline run files under WANDB_DIR record them."""
    runs = {}
    for path in sorted((wandb_dir / "wandb").glob("offline-run-*/run-*.wandb")):
        run = next(r.run for r in wandb_records(path) if r.WhichOneof("record_type") == "run")
        runs[run.display_name] = {"group": run.run_group, "job_type": run.job_type}
    return runs


def test_a_wandb_study_is_one_group_with_search_and_seed_runs(tmp_path, monkeypatch, tiny_model_dir, tiny_data_dir):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    for name in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):  # nothing in ~
        monkeypatch.setenv(name, str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    for name in ("WANDB_RUN_GROUP", "WANDB_JOB_TYPE", "WANDB_NAME", "WANDB_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    path = write_study(tmp_path, tiny_model_dir, tiny_data_dir, grow=False)  # 2 rates at seed 1, then seed 2
    code = main(["study", str(path), "--results_dir", str(tmp_path / "results"), "--report_to", "wandb"])
    assert code == 0
    selected = json.loads((tmp_path / "results" / "study.json").read_text())["groups"]["sst2-p-lora"][
        "selected_learning_rate"]
    runs = offline_runs(tmp_path)
    assert runs == {"sst2-p-lora-lr0.005-s1": {"group": "tiny_workers", "job_type": "search"},
                    "sst2-p-lora-lr0.02-s1": {"group": "tiny_workers", "job_type": "search"},
                    f"sst2-p-lora-lr{selected:g}-s2": {"group": "tiny_workers", "job_type": "seed"}}
    assert "WANDB_RUN_GROUP" not in os.environ and "WANDB_JOB_TYPE" not in os.environ  # left as it was


def test_a_study_without_its_tracker_package_is_one_line_before_it_plans(tmp_path, monkeypatch, capsys):
    import importlib.util

    import balora.study

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real_find_spec(name, *a))
    monkeypatch.setattr(balora.study, "plan_from_file", lambda *a, **k: pytest.fail("planned (loads models)"))
    code = main(["study", str(tmp_path / "study.yaml"), "--report_to", "wandb"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.splitlines() == [
        "error: --report_to wandb: the wandb package is not installed (pip install 'balora[wandb]')"]
