"""Running a planned study: its experiments scheduled as a graph and placed by an executor.

The scheduler (balora.study.schedule) decides what may run next: a group's other seeds the moment
its learning-rate search is complete and the choice is recorded in ``study.json``. The executor
(balora.study.executors) runs each experiment through `balora train`'s own code path, in this
process (serial, the default) or in workers, a Ray cluster or SLURM jobs. Finished experiments
are read back instead of rerun, interrupted or killed ones resume from their last checkpoint, a
failure is recorded while the rest goes on, and a worker that dies is retried. Each experiment
runs under its lock, so two study processes on one results folder share the work: one skips what
the other is running, and whichever finishes a group's search last runs its remaining seeds.
A search whose best rate is at an edge of its grid grows (balora.study.grids) before a rate is
selected; with evaluate_test: selected its runs skip the test split, and the chosen one is tested
from its saved model once selected.
"""

from __future__ import annotations

import time
from pathlib import Path

from balora.study.entries import ExperimentEntry
from balora.study.executors import Executor, SerialExecutor
from balora.study.experiment import ExperimentJob, Outcome, finished_record, only_reads_back, run_experiment
from balora.study.plan import StudyPlan
from balora.study.progress import Progress
from balora.study.grids import edge_warning, grid_extension, growth_history
from balora.study.schedule import Grown, LeftToOther, Report, Scheduler, Selected, Task
from balora.study.selection import search_record, validation_score
from balora.study.state import StudyState

__all__ = ["Outcome", "StudyState", "finished_results", "run_study", "search_record", "validation_score"]


def finished_results(plan: StudyPlan, name: str):
    return finished_record(plan.results_dir, name)


def run_study(plan: StudyPlan, retry_failed: bool = False, print_line=print, executor: Executor | None = None,
              max_retries: int = 1) -> list[Outcome]:
    executor = executor or SerialExecutor()
    executor.open()  # a cluster that cannot run what is asked says so here, before anything runs
    try:
        return _Driver(plan, retry_failed, print_line, executor, max_retries).run()
    finally:
        executor.close()


class _Driver:
    """The study's loop: hand ready experiments to the executor, read back how they ended,
    record it, and let the scheduler decide what becomes ready."""

    def __init__(self, plan, retry_failed, print_line, executor, max_retries):
        self.plan, self.retry_failed, self.say, self.executor = plan, retry_failed, print_line, executor
        self.state = StudyState.load(Path(plan.results_dir) / "study.json", plan.study.source.path)
        self.groups = {group.key: group for group in plan.groups}
        self.scheduler = Scheduler(plan.groups, max_retries, grow=_grow)
        self.progress = Progress(plan.experiment_count, time.monotonic())
        self.outcomes: dict[str, Outcome] = {}  # by task: a busy one looked at again keeps its last word
        self.where: dict[str, str] = {}  # by task
        self.in_flight: dict[str, str] = {}  # experiment name -> its running task (one at a time)

    def run(self) -> list[Outcome]:
        scheduler = self.scheduler
        try:
            while not scheduler.finished:
                # A finished experiment read back here frees no slot it took: look again until
                # the executor is full or nothing more is ready.
                while ready := scheduler.ready()[:self.executor.free()]:
                    for task in ready:
                        self._submit(task)
                if not scheduler.running:
                    break  # nothing runs and nothing can start: the graph is stuck (cannot happen; never spin)
                for outcome in self.executor.wait():
                    self._finished(outcome)
        except KeyboardInterrupt:
            scheduler.cancel()
            for outcome in self.executor.stop():
                self._finished(outcome)
            for task in scheduler.running:  # what the interrupt stopped in this process (serial)
                if not task.test:
                    self._record(task.name, "interrupted", None, {})
            raise
        # A test task's outcome is not an experiment's; one that failed is reported with them.
        return [o for key, o in self.outcomes.items() if not scheduler.tasks[key].task.test or o.status != "completed"]

    def _submit(self, task: Task) -> None:
        tries = self.scheduler.start(task)
        group = self.groups[task.group]
        job = ExperimentJob.of(self.plan.results_dir, group, task.learning_rate, task.seed, self.retry_failed,
                               self.plan.study, task.search, test_split=not group.trains_without_test(task.seed),
                               test_only=task.test)
        self.in_flight[task.name] = task.key
        if only_reads_back(job):  # no worker for it: reading it back costs less than starting one
            self.where[task.key] = "here"
            outcome = run_experiment(job)
            outcome.placement = self._placement_on_record(task.name)
            self._finished(outcome)
            return
        self.where[task.key] = self.executor.submit(job, tries)
        again = f" (try {tries})" if tries > 1 else ""
        if task.test:
            self.say(f"    {task.name}: testing the chosen rate's run from its saved model{again}"
                     + ("" if self.where[task.key] == "here" else f" on {self.where[task.key]}"))
        elif self.where[task.key] == "here":  # serial: the line it always printed
            self.say(f"[{self._done() + 1}/{self.scheduler.total}] {task.name}{again} ...")
        else:
            self.say(f"started {task.name}{again} on {self.where[task.key]}")

    def _placement_on_record(self, name: str) -> dict:
        """Where and how long a finished experiment ran, as study.json has it (reading it back
        again changes neither)."""
        entry = self.state.experiments.get(name, {})
        return {key: entry[key] for key in ("host", "gpus", "threads", "seconds") if key in entry}

    def _done(self) -> int:
        return self.scheduler.count("completed", "failed", "skipped")

    def _finished(self, outcome: Outcome) -> None:
        scheduler, name = self.scheduler, outcome.name
        key = self.in_flight.pop(name)
        task = scheduler.tasks[key].task
        events = scheduler.finish(task, Report(outcome.status, validation_score(outcome.results), outcome.error))
        state = scheduler.tasks[key]
        seconds = outcome.placement.get("seconds")
        if outcome.status == "lost":
            retry = "retried, resuming from its checkpoint" if state.status == "pending" else "no tries left"
            self.say(f"    {name}: {outcome.error}; {retry}")
            if state.status == "pending":
                return
            outcome.status = "failed"
        self.outcomes[key] = outcome
        if outcome.status != "busy" and not task.test:  # the process running it keeps its entry
            self._record(name, outcome.status, outcome.error, outcome.placement)
        if outcome.ran_now and outcome.status == "completed" and seconds and not task.test:
            self.progress.trained_seconds.append(seconds)
        self.say(f"    {name}: {_describe(outcome, seconds)}")
        running = {t.key: self.where.get(t.key, "?") for t in scheduler.running}
        self.say(self.progress.line(time.monotonic(), self._done(), scheduler.count("failed", "skipped"),
                                    running, scheduler.total, max(1, len(running) + self.executor.free())))
        for event in events:
            self._decided(event)

    def _record(self, name: str, status: str, error: str | None, placement: dict) -> None:
        task_state = self.scheduler.tasks[name]
        task = task_state.task
        gpus = placement.get("gpus")
        entry = ExperimentEntry(task.group, task.learning_rate, task.seed, status, error, placement.get("host"),
                                gpus if gpus else None, None if gpus else placement.get("threads"),
                                placement.get("seconds"), task_state.tries or None)
        self.state.record("experiments", name, entry.as_dict())

    def _decided(self, event: Selected | Grown | LeftToOther) -> None:
        if isinstance(event, LeftToOther):
            self.say(f"    {event.group}: another process is still searching its learning rate; it runs the "
                     "other seeds when done")
            return
        group = self.groups[event.group]
        if isinstance(event, Grown):
            for learning_rate, why in event.added:
                self.say(f"    {event.group}: the grid grows to learning rate {learning_rate:g}: {why}")
            return
        searched = {lr: getattr(self.outcomes.get(group.experiment_name(lr, group.search_seed)), "results", None)
                    for lr in event.scores}
        planned, cap = len(group.learning_rates), group.max_grid_extensions
        warning = edge_warning(event.scores, planned, cap)
        self.state.record("groups", event.group, search_record(
            searched, event.learning_rate, growth_history(event.scores, planned, cap), warning))
        if event.learning_rate is None:
            self.say(f"    {event.group}: every learning rate failed; its other seeds are not run")
        else:
            self.say(f"    {event.group}: learning rate {event.learning_rate:g} selected on validation")
        if warning:
            self.say(f"    warning: {event.group}: {warning}")


def _grow(group, scores: dict[float, float | None]) -> list[tuple[float, str]]:
    """The scheduler's grow hook: the rates a finished search adds (none once its best is inside)."""
    return grid_extension(scores, len(group.learning_rates), group.max_grid_extensions)


def _describe(outcome: Outcome, seconds: float | None) -> str:
    if outcome.status == "busy":
        return f"left to another process: {outcome.error}"
    if outcome.status != "completed":
        return f"{outcome.status}: {outcome.error}"
    results = outcome.results
    how = f"done in {seconds or 0:.0f} s" if outcome.ran_now else "already finished"
    test = (f"test {results.headline_metric} {results.test():.4f}" if results.tested
            else "no test (a search run: only the chosen rate's is tested)")
    return (f"{how}: validation {results.headline_metric} {results.validation():.4f}, {test}"
            + (f"; {outcome.error}" if outcome.error else ""))
