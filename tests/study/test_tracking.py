"""A study in the user's tracker: with --report_to mlflow, one parent run for the study and a
child run per experiment, in a local MLflow store; with tensorboard, one HParams table."""

from __future__ import annotations

import json

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
    path = write_study(tmp_path, tiny_model_dir, tiny_data_dir)
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
