"""A study as a task graph, scheduled without any I/O: which experiment may run next.

Each experiment is a task. A group without a learning-rate grid has all its seeds ready at once;
a group with a grid first runs its *search* (every rate at its search seed) and its other seeds
become ready the moment the search is complete and a rate is selected. The scheduler owns the
order, the selection, retries and cancellation; an executor only places the tasks it is handed
and reports back how each ended. The driver (balora.study.runner) does the I/O.

The search of a group is an open list: ``extend_search`` (or the ``grow`` hook, asked when a
search completes) adds rates before anything is selected, so a grid that grows while the study
runs (issue 28) is new tasks in the same graph. A group whose search runs skip the test split
(evaluate_test: selected) gets one more task once its rate is selected: testing the chosen rate's
search run from its saved model. A test task is not an experiment: counts and totals leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from balora.study.selection import select_learning_rate

# How a task can end, as an executor reports it:
#   completed / failed / skipped (failed in an earlier run of the study; not retried unless asked)
#   busy: another process holds the experiment's lock (another driver on the same results folder)
#   lost: the worker died without a word (killed, preempted, out of memory): retried
FINAL = ("completed", "failed", "skipped", "busy", "cancelled")


class GroupLike(Protocol):
    key: str
    learning_rates: tuple[float, ...]
    seeds: tuple[int, ...]
    search_seed: int  # the seed every rate of a grid runs at

    @property
    def remaining_seeds(self) -> tuple[int, ...]: ...

    @property
    def selects_learning_rate(self) -> bool: ...

    @property
    def tests_chosen_search_run(self) -> bool: ...

    def experiment_name(self, learning_rate: float, seed: int) -> str: ...


@dataclass(frozen=True)
class Task:
    name: str
    group: str  # the group's key
    learning_rate: float
    seed: int
    search: bool  # part of a learning-rate search (its score decides the group's other seeds)
    order: tuple[int, int]  # (group, task within it): serial runs go in this order, as they always did
    test: bool = False  # only score the test split of the experiment's saved model (it trained without)

    @property
    def key(self) -> str:
        """The task's name in the graph: the experiment's, and its test's beside it."""
        return f"{self.name}+test" if self.test else self.name


@dataclass(frozen=True)
class Report:
    """How one try of a task ended; ``score``: its validation score, higher is better (search runs)."""

    status: str
    score: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Selected:
    group: str
    learning_rate: float | None  # None: no rate of the search finished, its other seeds are not run
    scores: dict[float, float | None]


@dataclass(frozen=True)
class Grown:
    """A group's search grew: each rate added, with why (balora.study.grids)."""

    group: str
    added: list[tuple[float, str]]


@dataclass(frozen=True)
class LeftToOther:
    """A search run of the group is being run by another process: that one selects the rate."""

    group: str


@dataclass
class TaskState:
    task: Task
    status: str = "pending"  # pending | running | one of FINAL
    tries: int = 0
    busy_looks: int = 0
    deferred: bool = False  # busy once: looked at again when the rest of its phase is done
    report: Report | None = None


@dataclass
class _GroupState:
    spec: GroupLike
    index: int
    search: list[str] = field(default_factory=list)  # task names, in grid order
    selected: float | None = None
    decided: bool = False  # selected (or every rate failed, or left to another process)
    scores: dict[float, float | None] = field(default_factory=dict)


class Scheduler:
    """``ready()`` -> ``start(task)`` -> ``finish(task, report)`` until ``finished``."""

    def __init__(self, groups: list[GroupLike], max_retries: int = 1,
                 grow: Callable[[GroupLike, dict[float, float | None]], list[tuple[float, str]]] | None = None):
        self.max_retries = max_retries
        self.grow = grow
        self.tasks: dict[str, TaskState] = {}
        self.groups: dict[str, _GroupState] = {}
        self.cancelled = False
        for index, spec in enumerate(groups):
            group = self.groups[spec.key] = _GroupState(spec, index)
            if spec.selects_learning_rate:
                for learning_rate in spec.learning_rates:
                    self.extend_search(spec.key, learning_rate)
            else:
                for seed in spec.seeds:
                    self._add(group, spec.learning_rates[0], seed, search=False)

    # --- the graph
    def _add(self, group: _GroupState, learning_rate: float, seed: int, search: bool, test: bool = False) -> Task:
        name = group.spec.experiment_name(learning_rate, seed)
        order = (group.index, sum(t.task.group == group.spec.key for t in self.tasks.values()))
        task = Task(name, group.spec.key, learning_rate, seed, search, order, test)
        self.tasks[task.key] = TaskState(task, status="cancelled" if self.cancelled else "pending")
        return task

    def extend_search(self, group_key: str, learning_rate: float) -> Task:
        """Add a rate to a group's search; refused once the group's rate is decided."""
        group = self.groups[group_key]
        if group.decided:
            raise ValueError(f"{group_key}: the learning rate is already selected")
        task = self._add(group, learning_rate, group.spec.search_seed, search=True)
        group.search.append(task.name)
        return task

    @property
    def total(self) -> int:
        """Experiments the study runs as far as is known now (a selection adds none: it was counted)."""
        selecting = [g for g in self.groups.values() if g.spec.selects_learning_rate]
        return (sum(1 for t in self.tasks.values() if not t.task.search and not t.task.test)
                + sum(len(g.search) + (0 if g.decided else len(g.spec.remaining_seeds)) for g in selecting))

    # --- scheduling
    def ready(self) -> list[Task]:
        """Tasks that may start now, the most urgent first."""
        ready = []
        for state in self.tasks.values():
            if state.status != "pending":
                continue
            if state.deferred and self._phase_open(state.task, besides=state.task.key):
                continue
            ready.append(state.task)
        return sorted(ready, key=lambda task: task.order)

    def _phase_open(self, task: Task, besides: str) -> bool:
        """Whether another task of the same phase of the group (its search, or its other runs)
        is still pending or running."""
        return any(t.task.group == task.group and t.task.search == task.search and t.task.key != besides
                   and t.status in ("pending", "running") and not t.deferred for t in self.tasks.values())

    def start(self, task: Task) -> int:
        """Mark a task running; returns which try this is (1, 2, ...)."""
        state = self.tasks[task.key]
        if state.status != "pending":
            raise ValueError(f"{task.name} is {state.status}, not pending")
        state.status, state.tries = "running", state.tries + 1
        return state.tries

    def finish(self, task: Task, report: Report) -> list[Selected | Grown | LeftToOther]:
        """Record how a try ended; returns the decisions it led to (a group's selected rate)."""
        state = self.tasks[task.key]
        state.report = report
        if report.status == "lost" and state.tries <= self.max_retries and not self.cancelled:
            state.status = "pending"  # the next try resumes from the experiment's last checkpoint
        elif report.status == "lost":
            state.status = "cancelled" if self.cancelled else "failed"
        elif report.status == "busy" and state.busy_looks == 0 and not self.cancelled:
            state.busy_looks, state.deferred, state.status = 1, True, "pending"
            state.tries -= 1  # not a try of ours
        else:
            state.status = report.status
        return self._decide(self.groups[task.group]) if task.search else []

    def _decide(self, group: _GroupState) -> list[Selected | Grown | LeftToOther]:
        searches = [self.tasks[name] for name in group.search]
        if group.decided or self.cancelled or any(s.status in ("pending", "running") for s in searches):
            return []
        if any(s.status == "busy" for s in searches):
            group.decided = True
            return [LeftToOther(group.spec.key)]
        scores = {s.task.learning_rate: s.report.score if s.status == "completed" and s.report else None
                  for s in searches}
        more = [(lr, why) for lr, why in (self.grow(group.spec, scores) if self.grow else []) if lr not in scores]
        if more and not self.cancelled:
            for learning_rate, _ in more:
                self.extend_search(group.spec.key, learning_rate)
            return [Grown(group.spec.key, more)]
        group.decided, group.scores = True, scores
        group.selected = select_learning_rate(scores)
        if group.selected is not None:
            if group.spec.tests_chosen_search_run:
                self._add(group, group.selected, group.spec.search_seed, search=False, test=True)
            for seed in group.spec.remaining_seeds:
                self._add(group, group.selected, seed, search=False)
        return [Selected(group.spec.key, group.selected, scores)]

    def cancel(self) -> list[Task]:
        """Stop scheduling: pending tasks are cancelled; returns those still running (the executor
        stops them; their reports still come in)."""
        self.cancelled = True
        for state in self.tasks.values():
            if state.status == "pending":
                state.status = "cancelled"
        return [s.task for s in self.tasks.values() if s.status == "running"]

    @property
    def running(self) -> list[Task]:
        return [s.task for s in self.tasks.values() if s.status == "running"]

    @property
    def finished(self) -> bool:
        return not any(s.status in ("pending", "running") for s in self.tasks.values())

    def count(self, *statuses: str) -> int:
        """Experiments (test tasks left out) in any of ``statuses``."""
        return sum(s.status in statuses and not s.task.test for s in self.tasks.values())
