"""--report_to's packages and extras, and the end of each experiment's W&B run."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from balora.config import TRACKERS
from balora.training.trackers import TRACKER_EXTRAS, TRACKER_PACKAGES, tracker_run


def test_every_tracker_names_its_package_and_an_extra_that_brings_it():
    extras = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]
    assert set(TRACKER_PACKAGES) == set(TRACKER_EXTRAS) == set(TRACKERS) - {"none"}
    for tracker, packages in TRACKER_PACKAGES.items():
        assert any(requirement.startswith(packages[0]) for requirement in extras[TRACKER_EXTRAS[tracker]]), tracker


class FakeWandb:
    def __init__(self):
        self.run, self.calls = None, []

    def finish(self, exit_code):
        self.calls.append(("finish", exit_code))
        self.run = None

    def teardown(self, exit_code):
        self.calls.append(("teardown", exit_code))


@pytest.fixture
def wandb(monkeypatch):
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    return fake


def test_an_experiment_ends_its_wandb_run_and_session(wandb):
    """Left open, the next experiment in this process would log into the same run, with the
    environment (group, job type) of the first."""
    with tracker_run("wandb"):
        wandb.run = object()  # what the Trainer's callback does
    assert wandb.calls == [("finish", 0), ("teardown", 0)]


def test_a_failed_experiment_ends_its_wandb_run_as_failed(wandb):
    with pytest.raises(KeyboardInterrupt), tracker_run("wandb"):
        wandb.run = object()
        raise KeyboardInterrupt
    assert wandb.calls == [("finish", 1), ("teardown", 1)]


def test_other_trackers_runs_never_started_and_the_callers_own_run_are_left_alone(wandb):
    with tracker_run("mlflow"):
        wandb.run = object()
    wandb.run = None
    with tracker_run("wandb"):
        pass  # the callback never started one (the run failed before training)
    wandb.run = callers = object()
    with tracker_run("wandb"):
        pass  # the callback logged into the run the caller had started
    assert wandb.calls == [] and wandb.run is callers


def test_a_wandb_run_gets_its_group_and_job_type_for_its_time_only(monkeypatch):
    from balora.training.trackers import run_labels

    monkeypatch.setenv("WANDB_JOB_TYPE", "mine")
    monkeypatch.delenv("WANDB_RUN_GROUP", raising=False)
    with run_labels("wandb", "study", "seed"):
        assert (os.environ["WANDB_RUN_GROUP"], os.environ["WANDB_JOB_TYPE"]) == ("study", "seed")
    assert "WANDB_RUN_GROUP" not in os.environ and os.environ["WANDB_JOB_TYPE"] == "mine"
    with run_labels("mlflow", "study", "seed"), run_labels("wandb", None, "seed"):  # no tracker, no study
        assert "WANDB_RUN_GROUP" not in os.environ
