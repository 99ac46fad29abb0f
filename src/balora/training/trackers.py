"""The experiment trackers the Trainer reports to (--report_to): which package each needs, a
run's group and job type, and the end of a W&B run.

Kept apart from balora.training.trainer, which imports torch and transformers: a study checks
its tracker's package before anything loads.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

# --report_to value -> (the package it needs, others that serve as well); the extra that brings it.
TRACKER_PACKAGES = {"tensorboard": ("tensorboard", "tensorboardX"), "mlflow": ("mlflow",), "wandb": ("wandb",)}
TRACKER_EXTRAS = {"tensorboard": "track", "mlflow": "mlflow", "wandb": "wandb"}


def require_tracker(report_to: str) -> None:
    """--report_to needs its package; say so before anything runs, not after the model is loaded."""
    import importlib.util

    from balora.errors import UserError

    packages = TRACKER_PACKAGES.get(report_to, ())
    if packages and not any(importlib.util.find_spec(p) for p in packages):
        raise UserError(f"--report_to {report_to}: the {packages[0]} package is not installed "
                        f"(pip install 'balora[{TRACKER_EXTRAS[report_to]}]')")


@contextmanager
def run_labels(report_to: str, group: str | None, job_type: str):
    """Around one run: its group and job type where the tracker has them (W&B, whose ``wandb.init``,
    called by the Trainer's callback, reads them from the environment), then the environment as it was."""
    if report_to != "wandb" or not group:
        yield
        return
    with environment({"WANDB_RUN_GROUP": group, "WANDB_JOB_TYPE": job_type}):
        yield


@contextmanager
def environment(variables: dict[str, str]):
    """Set these environment variables for a while; restore (or remove) them afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def tracker_run(report_to: str):
    """One experiment, one tracker run. The Trainer's W&B callback starts a run but never ends it
    (it stays open until the process exits), so the next experiment of a study run in the same
    process would log into it: end it once the experiment (test scores included) is over. And
    wandb reads its environment (WANDB_RUN_GROUP, WANDB_JOB_TYPE, ...) once per session, ignoring
    later changes: end the session too, so that the next experiment's run reads its own. A run the
    caller started before (the callback logs into it) is the caller's to end."""
    callers = _wandb_run()
    try:
        yield
    except BaseException:
        _finish_wandb(report_to, callers, exit_code=1)
        raise
    _finish_wandb(report_to, callers, exit_code=0)


def _wandb_run():
    wandb = sys.modules.get("wandb")  # imported by the Trainer's callback if it ran at all
    return None if wandb is None else wandb.run


def _finish_wandb(report_to: str, callers, exit_code: int) -> None:
    run = _wandb_run()
    if report_to == "wandb" and run is not None and run is not callers:
        wandb = sys.modules["wandb"]
        wandb.finish(exit_code=exit_code)
        wandb.teardown(exit_code=exit_code)
