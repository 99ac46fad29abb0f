"""Running a planned study: one experiment after another through `balora train`'s own code path.

Finished experiments are read back instead of rerun, interrupted ones resume from their last
checkpoint, and a failure is recorded in ``study.json`` while the rest of the study goes on.
Each experiment is run under its lock, so two study processes on one results folder share the
work: one skips what the other is running, and whichever finishes a group's learning-rate
search last runs its remaining seeds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from balora.config import TrainConfig
from balora.console import Console
from balora.errors import TrainingFailure, UserError
from balora.experiment_lock import ExperimentBusy, ExperimentLock
from balora.methods import build_options
from balora.record import ResultsRecord, read_results_record
from balora.results import RESUME_INSENSITIVE, ExperimentDir, read_json
from balora.study.plan import Group, StudyPlan, select_learning_rate
from balora.study.state import StudyState
from balora.study.values import split_settings


@dataclass
class Outcome:
    """What one experiment of the study came to."""

    name: str
    status: str  # completed | failed | skipped (failed earlier; rerun with --retry_failed) | busy (another process)
    results: ResultsRecord | None = None
    error: str | None = None
    ran_now: bool = False


def validation_score(results: ResultsRecord | None) -> float | None:
    """The validation headline metric, signed so that higher is better (perplexity is negated)."""
    from balora.metric_registry import LOWER_IS_BETTER

    if not results or results.status != "completed":
        return None
    value = results.validation()
    return -value if results.headline_metric in LOWER_IS_BETTER else value


def search_record(searched: dict[float, ResultsRecord | None], selected: float | None) -> dict:
    """What study.json keeps of a group's learning-rate search: each rate's validation headline
    metric as measured (a perplexity stays a perplexity), which metric and which way is better,
    and the rate chosen; a rate whose run did not finish has None."""
    from balora.metric_registry import LOWER_IS_BETTER

    finished = {lr: results for lr, results in searched.items() if validation_score(results) is not None}
    metric = next((results.headline_metric for results in finished.values()), None)
    return {"metric": metric, "higher_is_better": None if metric is None else metric not in LOWER_IS_BETTER,
            "validation_by_learning_rate": {f"{lr:g}": finished[lr].validation() if lr in finished else None
                                            for lr in searched},
            "selected_learning_rate": selected}


def finished_results(plan: StudyPlan, name: str) -> ResultsRecord | None:
    path = Path(plan.results_dir) / name / "results_final.json"
    return read_results_record(path) if path.exists() else None


def check_same_settings(name: str, saved: dict, wanted: dict) -> None:
    changed = sorted(k for k in wanted if k not in RESUME_INSENSITIVE and k in saved and saved[k] != wanted[k])
    if changed:
        raise UserError(f"experiment {name} exists with other settings ({', '.join(changed)}); "
                        "use another results_dir for a changed study")


def run_experiment(plan: StudyPlan, group: Group, learning_rate: float, seed: int, retry_failed: bool) -> Outcome:
    name = group.experiment_name(learning_rate, seed)
    lock = ExperimentLock(plan.results_dir, name)
    try:
        lock.acquire()
    except ExperimentBusy as err:
        return Outcome(name, "busy", error=str(err))
    except UserError as err:
        return Outcome(name, "failed", error=str(err), ran_now=True)
    try:
        return _run_locked(plan, group, name, learning_rate, seed, retry_failed)
    finally:
        lock.release()


def _run_locked(plan: StudyPlan, group: Group, name: str, learning_rate: float, seed: int,
                retry_failed: bool) -> Outcome:
    from balora.train import resolved_settings, train, with_resolved_defaults

    train_kwargs, method_kwargs = split_settings(group.settings)
    experiment = ExperimentDir(plan.results_dir, name)
    status = experiment.status()
    try:
        config = TrainConfig(experiment_name=name, results_dir=plan.results_dir, learning_rate=learning_rate,
                             seed=seed, resume=status in ("running", "interrupted"),
                             overwrite=status == "failed" and retry_failed, **train_kwargs)
        options = build_options(**method_kwargs)
        if status is not None and experiment.file("config.json").exists():
            check_same_settings(name, read_json(experiment.file("config.json")),
                                resolved_settings(with_resolved_defaults(config), options))
        if status == "completed":
            return Outcome(name, "completed", read_results_record(experiment.file("results_final.json")))
        if status == "failed" and not retry_failed:
            error = experiment.status_record().get("error")
            return Outcome(name, "skipped", error=f"failed earlier: {error} (rerun with --retry_failed)")
        return Outcome(name, "completed", train(config, options, Console(quiet=True)), ran_now=True)
    except (UserError, TrainingFailure) as err:
        return Outcome(name, "failed", error=str(err), ran_now=True)
    except Exception as err:  # a bug in one experiment must not cost the rest of the study
        return Outcome(name, "failed", error=f"{type(err).__name__}: {err}", ran_now=True)


def run_study(plan: StudyPlan, retry_failed: bool = False, print_line=print) -> list[Outcome]:
    state = StudyState.load(Path(plan.results_dir) / "study.json", plan.study.source.path)
    total = plan.experiment_count
    outcomes: dict[str, Outcome] = {}  # by experiment name: a busy one looked at again keeps its last word

    def run(group: Group, learning_rate: float, seed: int) -> Outcome:
        name = group.experiment_name(learning_rate, seed)
        print_line(f"[{len(outcomes) + (name not in outcomes)}/{total}] {name} ...")
        started = time.perf_counter()
        entry = {"group": group.key, "learning_rate": learning_rate, "seed": seed}
        try:
            outcome = run_experiment(plan, group, learning_rate, seed, retry_failed)
        except KeyboardInterrupt:
            state.record("experiments", name, {**entry, "status": "interrupted"})
            raise
        outcomes[name] = outcome
        if outcome.status != "busy":  # the process running it keeps its entry
            state.record("experiments", name, {**entry, "status": outcome.status,
                                               **({"error": outcome.error} if outcome.error else {})})
        print_line(f"    {_describe(outcome, time.perf_counter() - started)}")
        return outcome

    for group in plan.groups:
        first = {(lr, seed): run(group, lr, seed) for lr, seed in group.first_runs()}
        # What another process was running may have finished while this one ran the rest.
        first.update({key: run(group, *key) for key, outcome in first.items() if outcome.status == "busy"})
        if not group.selects_learning_rate:
            continue
        if any(outcome.status == "busy" for outcome in first.values()):
            print_line(f"    {group.key}: another process is still searching its learning rate; it runs the "
                       "other seeds when done")
            continue
        searched = {lr: first[(lr, group.seeds[0])].results for lr in group.learning_rates}
        selected = select_learning_rate({lr: validation_score(results) for lr, results in searched.items()})
        state.record("groups", group.key, search_record(searched, selected))
        if selected is None:
            print_line(f"    {group.key}: every learning rate failed; its other seeds are not run")
            continue
        print_line(f"    {group.key}: learning rate {selected:g} selected on validation")
        for lr, seed in group.remaining_runs(selected):
            run(group, lr, seed)
    return list(outcomes.values())


def _describe(outcome: Outcome, seconds: float) -> str:
    if outcome.status == "busy":
        return f"left to another process: {outcome.error}"
    if outcome.status != "completed":
        return f"{outcome.status}: {outcome.error}"
    results = outcome.results
    how = f"done in {seconds:.0f} s" if outcome.ran_now else "already finished"
    return (f"{how}: validation {results.headline_metric} {results.validation():.4f}, "
            f"test {results.headline_metric} {results.test():.4f}")
