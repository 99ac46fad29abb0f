"""A study in the user's tracker: with --report_to mlflow, one parent run for the study and a
child run per experiment, in a local MLflow store."""

from __future__ import annotations

import pytest

from balora.cli import main
from study.test_executors import write_study


def test_a_study_is_one_mlflow_parent_run_with_a_child_per_experiment(tmp_path, monkeypatch, tiny_model_dir,
                                                                      tiny_data_dir):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
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
