"""A study as one group in the user's tracker.

TensorBoard: one HParams table over the study's runs (learning rate, seed, method, budget against
the validation and test headline metrics), written to ``<results_dir>/tensorboard_hparams`` when
the study ends; each experiment's own curves stay in its folder.

MLflow: the study is a parent run and each experiment a child run (the Trainer's MLflow callback
tags it ``mlflow.parentRunId`` from MLFLOW_TAGS, which workers inherit); the study's tables
(study.json, and one row per experiment) are logged to the parent when the study ends. The
parent's id is kept beside the results, so a rerun of the study adds to the same parent.

W&B: the study is a group (named after the study) and each experiment a run in it, of job type
``search`` (the learning-rate search: every rate at the first seed) or ``seed`` (the other seeds
at the chosen rate; every run of a configuration with one rate). The Trainer's W&B callback
calls ``wandb.init``, which reads the group and job type from WANDB_RUN_GROUP and WANDB_JOB_TYPE:
they travel with each experiment's job and are set around its run, wherever it runs
(balora.study.experiment, balora.training.trackers.run_labels).
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from balora.results import atomic_write_json, read_json
from balora.training.trackers import environment, require_tracker


def trackers_of(plan) -> set[str]:
    return {group.settings.get("report_to") or "none" for group in plan.groups} - {"none"}


def require_trackers(plan) -> None:
    """Every tracker the study's experiments report to has its package, before any of them runs."""
    for tracker in sorted(trackers_of(plan)):
        require_tracker(tracker)


@contextmanager
def study_tracker(plan):
    trackers = trackers_of(plan)
    try:
        if "mlflow" in trackers:
            with mlflow_parent_run(plan):
                yield
        else:
            yield
    finally:
        if "tensorboard" in trackers:
            hparams_table(plan)


def hparams_table(plan) -> Path:
    """One TensorBoard HParams run per finished experiment of the study."""
    from torch.utils.tensorboard import SummaryWriter

    from balora.study.experiment import finished_record

    folder = Path(plan.results_dir) / "tensorboard_hparams"
    for group in plan.groups:
        for learning_rate in group.learning_rates:
            for seed in group.seeds:
                name = group.experiment_name(learning_rate, seed)
                record = finished_record(plan.results_dir, name)
                if record is None or record.status != "completed":
                    continue
                metric = record.headline_metric
                with SummaryWriter(str(folder / name)) as writer:
                    writer.add_hparams({"group": group.key, "method": group.method, "budget": group.budget or 0,
                                        "learning_rate": learning_rate, "seed": seed},
                                       {f"validation/{metric}": record.validation(),
                                        **({f"test/{metric}": record.test()} if record.tested else {})},
                                       run_name=".")
    return folder


@contextmanager
def mlflow_parent_run(plan):
    import mlflow

    marker = Path(plan.results_dir) / "mlflow_parent_run.json"
    experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME") or plan.study.name
    mlflow.set_experiment(experiment)
    client = mlflow.MlflowClient()
    saved = read_json(marker) if marker.exists() else {}
    run_id = saved.get("run_id") if saved.get("tracking_uri") == mlflow.get_tracking_uri() else None
    if run_id is None:
        run = client.create_run(mlflow.get_experiment_by_name(experiment).experiment_id, run_name=plan.study.name,
                                tags={"balora.study": plan.study.name})
        run_id = run.info.run_id
        atomic_write_json(marker, {"run_id": run_id, "tracking_uri": mlflow.get_tracking_uri()})
    tags = {**json.loads(os.environ.get("MLFLOW_TAGS") or "{}"), "mlflow.parentRunId": run_id}
    try:
        with environment({"MLFLOW_TAGS": json.dumps(tags), "MLFLOW_EXPERIMENT_NAME": experiment}):
            yield run_id
    finally:
        _log_tables(client, run_id, Path(plan.results_dir) / "study.json")


def _log_tables(client, run_id: str, study_json: Path) -> None:
    """study.json, and its experiments as a table, on the parent run."""
    if not study_json.exists():
        return
    state = read_json(study_json)
    client.log_dict(run_id, state, "study.json")
    rows = [{"experiment": name, **entry} for name, entry in state.get("experiments", {}).items()]
    columns = sorted({key for row in rows for key in row}, key=lambda key: (key != "experiment", key))
    client.log_table(run_id, {column: [row.get(column) for row in rows] for column in columns}, "experiments.json")
    client.set_terminated(run_id)
