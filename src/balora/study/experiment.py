"""One experiment of a study, wherever it runs: in the driver's process, a worker process on
this machine, a Ray task or a SLURM job. It is described by an `ExperimentJob` (plain values, so
it travels as JSON or a pickle) and run through `balora train`'s own code path, under the
experiment's lock: a finished experiment is read back, an interrupted or killed one resumes from
its last checkpoint, a failure is reported while the rest of the study goes on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from balora.config import TrainConfig
from balora.console import Console
from balora.errors import TrainingFailure, UserError
from balora.experiment_lock import ExperimentBusy, ExperimentLock
from balora.methods import build_options
from balora.record import ResultsRecord, read_results_record
from balora.results import RESUME_INSENSITIVE, ExperimentDir, read_json
from balora.study.values import split_settings


@dataclass(frozen=True)
class ExperimentJob:
    results_dir: str
    name: str
    settings: dict[str, Any]  # flat `balora train` settings, without learning_rate and seed
    learning_rate: float
    seed: int
    retry_failed: bool = False
    study: str | None = None  # the study's name: its group in a tracker
    search: bool = False  # a run of the group's learning-rate search (else: a seed at the chosen rate)
    test_split: bool = True  # score the test split after training (a search run skips it: evaluate_test)
    test_only: bool = False  # the experiment is finished: score the test split of its saved model
    eval_tasks: tuple[str, ...] = ()  # lm-eval tasks once finished and tested (balora.study.evaluation)
    eval_limit: int | None = None
    eval_include_path: str | None = None

    @classmethod
    def of(cls, results_dir: str, group, learning_rate: float, seed: int, retry_failed: bool,
           study=None, search: bool = False, test_split: bool = True, test_only: bool = False) -> ExperimentJob:
        """``study``: the StudyFile (its name and eval settings), or None."""
        evals = (tuple(group.eval_tasks), study.eval_limit, study.eval_include_path) if study else ()
        return cls(results_dir, group.experiment_name(learning_rate, seed), dict(group.settings), learning_rate,
                   seed, retry_failed, study.name if study else None, search, test_split, test_only, *evals)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Outcome:
    """What one experiment of the study came to."""

    name: str
    status: str  # completed | failed | skipped (failed earlier; rerun with --retry_failed) | busy (another process)
    results: ResultsRecord | None = None
    error: str | None = None
    ran_now: bool = False
    placement: dict[str, Any] = field(default_factory=dict)  # host, gpus or threads, seconds, as the worker saw it


def finished_record(results_dir: str, name: str) -> ResultsRecord | None:
    path = Path(results_dir) / name / "results_final.json"
    return read_results_record(path) if path.exists() else None


def only_reads_back(job: ExperimentJob) -> bool:
    """Whether running ``job`` would only read a finished experiment back: nothing to train, test
    or evaluate. The driver does that itself, since a worker would spend a process start (importing
    torch: 5 to 15 s here) on each finished experiment of a study that is run again."""
    if job.eval_tasks or ExperimentDir(job.results_dir, job.name).status() != "completed":
        return False
    return not job.test_only or getattr(finished_record(job.results_dir, job.name), "tested", False)


def check_same_settings(name: str, saved: dict, wanted: dict) -> None:
    changed = sorted(k for k in wanted if k not in RESUME_INSENSITIVE and k in saved and saved[k] != wanted[k])
    if changed:
        raise UserError(f"experiment {name} exists with other settings ({', '.join(changed)}); "
                        "use another results_dir for a changed study")


def _evaluated(job: ExperimentJob, outcome: Outcome) -> Outcome:
    """The completed experiment after its eval_tasks; an eval that fails is told in ``error`` (the
    experiment stays completed: its training is sound, and the next study run retries the eval).
    Like the test split, the tasks score only runs that are reported: a search run left untested
    (evaluate_test: selected) is not evaluated either."""
    if job.eval_tasks and outcome.results is not None and outcome.results.tested:
        from balora.study.evaluation import run_experiment_evals

        outcome.error = run_experiment_evals(Path(job.results_dir) / job.name, job.eval_tasks, job.eval_limit,
                                             job.eval_include_path)
    return outcome


def run_experiment(job: ExperimentJob) -> Outcome:
    """Run (or read back, or resume) one experiment under its lock; under torchrun only the main
    process takes the lock (`balora train`'s code path does the same)."""
    from balora.processes import is_main_process

    if not is_main_process():
        return _run_locked(job)
    lock = ExperimentLock(job.results_dir, job.name)
    try:
        lock.acquire()
    except ExperimentBusy as err:
        return Outcome(job.name, "busy", error=str(err))
    except UserError as err:
        return Outcome(job.name, "failed", error=str(err), ran_now=True)
    try:
        return _run_locked(job)
    finally:
        lock.release()


def _run_locked(job: ExperimentJob) -> Outcome:
    from balora.run_inputs import resolved_settings, with_resolved_defaults
    from balora.train import train
    from balora.training.trackers import run_labels

    name = job.name
    train_kwargs, method_kwargs = split_settings(job.settings)
    experiment = ExperimentDir(job.results_dir, name)
    status = experiment.status()
    try:
        config = TrainConfig(experiment_name=name, results_dir=job.results_dir, learning_rate=job.learning_rate,
                             seed=job.seed, resume=status in ("running", "interrupted"),
                             overwrite=status == "failed" and job.retry_failed, **train_kwargs)
        options = build_options(**method_kwargs)
        if status is not None and experiment.file("config.json").exists():
            check_same_settings(name, read_json(experiment.file("config.json")),
                                resolved_settings(with_resolved_defaults(config), options))
        if status == "completed" and job.test_only:
            tested_before = read_results_record(experiment.file("results_final.json")).tested
            if tested_before or experiment.model_checkpoint.exists():
                from balora.deferred_test import test_saved_experiment

                return _evaluated(job, Outcome(name, "completed", test_saved_experiment(job.results_dir, name),
                                               ran_now=not tested_before))
            # Its record was kept without its model (a study's records carried to another machine):
            # the run is trained again, with its seed and settings, and tests itself.
            config, status = dataclasses.replace(config, resume=False, overwrite=True), "model lost"
        # A test_only job with nothing to test: the run did not finish (cannot happen: its search completed)
        if job.test_only and status != "model lost":
            return Outcome(name, "failed", error=f"{name} has not finished ({status}); nothing to test", ran_now=True)
        if status == "completed":
            return _evaluated(job, Outcome(name, "completed",
                                           read_results_record(experiment.file("results_final.json"))))
        if status == "failed" and not job.retry_failed:
            error = experiment.status_record().get("error")
            return Outcome(name, "skipped", error=f"failed earlier: {error} (rerun with --retry_failed)")
        untested = {} if job.test_split or job.test_only else {"test_split": False}
        with run_labels(config.report_to, job.study, "search" if job.search else "seed"):
            record = train(config, options, Console(quiet=True), **untested)
        return _evaluated(job, Outcome(name, "completed", record, ran_now=True))
    except (UserError, TrainingFailure) as err:
        return Outcome(name, "failed", error=str(err), ran_now=True)
    except Exception as err:  # a bug in one experiment must not cost the rest of the study
        return Outcome(name, "failed", error=f"{type(err).__name__}: {err}", ran_now=True)
