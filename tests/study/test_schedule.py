"""The study's task graph, scheduled without training anything: a fake executor stands in for the
workers and reports scripted outcomes (order, selection, failed searches, retries, tasks that fail
for good, cancellation)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from balora.record import ResultsRecord
from balora.results import read_json
from balora.study.experiment import Outcome
from balora.study.plan import Group, StudyPlan
from balora.study.runner import run_study
from balora.study.schedule import LeftToOther, Report, Scheduler, Selected


def group(key: str, learning_rates=(1e-3,), seeds=(1, 2)) -> Group:
    return Group(key=key, phase="p", dataset="sst2", label=key, method="lora", budget=None, train_samples=None,
                 settings={}, learning_rates=tuple(learning_rates), seeds=tuple(seeds), line=1)


def record(name: str, accuracy: float) -> ResultsRecord:
    return ResultsRecord(experiment_name=name, method="lora", dataset="sst2", seed=1, headline_metric="accuracy",
                         metrics={"validation": {"accuracy": accuracy}, "test": {"accuracy": accuracy}},
                         parameters=None, config={})


class FakeExecutor:
    """``script``: experiment name -> what each try ends as: an accuracy (completed), "failed",
    "lost" (the worker died) or "busy"; unscripted experiments complete at 0.5. Runs end in the
    order they started."""

    def __init__(self, slots: int = 1, script: dict | None = None, interrupt_after: int | None = None):
        self.slots, self.script = slots, script or {}
        self.running: list[tuple[str, int]] = []
        self.started: list[str] = []
        self.interrupt_after = interrupt_after

    def open(self):
        pass

    def free(self):
        return self.slots - len(self.running)

    def submit(self, job, try_number):
        self.running.append((job.name, try_number))
        self.started.append(job.name)
        return f"fake {len(self.running) - 1}"

    def wait(self):
        if self.interrupt_after is not None and len(self.started) > self.interrupt_after:
            raise KeyboardInterrupt
        name, try_number = self.running.pop(0)
        tries = self.script.get(name, [0.5])
        result = tries[min(try_number, len(tries)) - 1]
        placement = {"host": "h", "gpus": [], "threads": 1, "seconds": 2.0}
        if isinstance(result, float):
            return [Outcome(name, "completed", record(name, result), ran_now=True, placement=placement)]
        return [Outcome(name, result, error=f"{result} (scripted)", ran_now=True, placement=placement)]

    def stop(self):
        stopped = [Outcome(name, "interrupted", error="interrupted", ran_now=True) for name, _ in self.running]
        self.running.clear()
        return stopped

    def close(self):
        pass


def plan_of(tmp_path, *groups) -> StudyPlan:
    study_file = SimpleNamespace(name="fake", source=SimpleNamespace(path="fake.yaml"), eval_limit=None,
                                 eval_include_path=None)
    return StudyPlan(study_file, str(tmp_path / "results"), list(groups))


def study(tmp_path):
    return plan_of(tmp_path, group("a", learning_rates=(1e-3, 2e-3), seeds=(1, 2, 3)), group("b", seeds=(1, 2)))


def test_serial_order_is_each_group_search_then_its_seeds(tmp_path):
    executor = FakeExecutor(script={"a-lr0.001-s1": [0.6], "a-lr0.002-s1": [0.7]})
    outcomes = run_study(study(tmp_path), print_line=lambda line: None, executor=executor)
    assert executor.started == ["a-lr0.001-s1", "a-lr0.002-s1", "a-lr0.002-s2", "a-lr0.002-s3",
                                "b-lr0.001-s1", "b-lr0.001-s2"]
    assert [o.status for o in outcomes] == ["completed"] * 6
    state = read_json(tmp_path / "results" / "study.json")
    assert state["groups"]["a"]["selected_learning_rate"] == 2e-3
    assert state["experiments"]["a-lr0.002-s3"] == {"group": "a", "learning_rate": 2e-3, "seed": 3,
                                                    "status": "completed", "host": "h", "threads": 1,
                                                    "seconds": 2.0, "tries": 1}


def test_with_more_workers_other_groups_run_while_a_search_is_open(tmp_path):
    executor = FakeExecutor(slots=3)
    run_study(study(tmp_path), print_line=lambda line: None, executor=executor)
    # The third worker does not wait for group a's selection: b's first seed starts at once.
    assert executor.started[:3] == ["a-lr0.001-s1", "a-lr0.002-s1", "b-lr0.001-s1"]
    assert sorted(executor.started) == sorted(["a-lr0.001-s1", "a-lr0.002-s1", "a-lr0.001-s2", "a-lr0.001-s3",
                                               "b-lr0.001-s1", "b-lr0.001-s2"])


def test_a_failed_search_run_is_no_candidate_and_a_search_that_all_failed_runs_no_seeds():
    scheduler = Scheduler([group("a", learning_rates=(1e-3, 2e-3), seeds=(1, 2))])
    first, second = scheduler.ready()
    scheduler.start(first), scheduler.start(second)
    assert scheduler.finish(first, Report("failed", error="nan")) == []  # the search is still open
    assert scheduler.finish(second, Report("completed", score=0.4)) == [Selected("a", 2e-3, {1e-3: None, 2e-3: 0.4})]
    assert [t.name for t in scheduler.ready()] == ["a-lr0.002-s2"]

    scheduler = Scheduler([group("a", learning_rates=(1e-3, 2e-3), seeds=(1, 2))])
    for task in scheduler.ready():
        scheduler.start(task)
        events = scheduler.finish(task, Report("failed"))
    assert events == [Selected("a", None, {1e-3: None, 2e-3: None})]
    assert scheduler.ready() == [] and scheduler.finished


def test_a_lost_worker_is_retried_and_a_task_lost_every_time_fails_for_good(tmp_path):
    script = {"b-lr0.001-s1": ["lost", 0.5], "b-lr0.001-s2": ["lost", "lost", 0.5]}
    executor = FakeExecutor(script=script)
    outcomes = run_study(plan_of(tmp_path, group("b")), print_line=lambda line: None, executor=executor,
                         max_retries=1)
    assert executor.started == ["b-lr0.001-s1", "b-lr0.001-s1", "b-lr0.001-s2", "b-lr0.001-s2"]
    assert {o.name: o.status for o in outcomes} == {"b-lr0.001-s1": "completed", "b-lr0.001-s2": "failed"}
    experiments = read_json(tmp_path / "results" / "study.json")["experiments"]
    assert experiments["b-lr0.001-s1"]["tries"] == 2 and experiments["b-lr0.001-s1"]["status"] == "completed"
    assert experiments["b-lr0.001-s2"]["tries"] == 2 and "worker" not in experiments["b-lr0.001-s2"]["error"]
    assert experiments["b-lr0.001-s2"]["error"] == "lost (scripted)"


def test_a_search_run_that_fails_for_good_leaves_the_choice_to_the_rest(tmp_path):
    executor = FakeExecutor(script={"a-lr0.001-s1": ["lost", "lost"], "a-lr0.002-s1": [0.3]})
    run_study(plan_of(tmp_path, group("a", learning_rates=(1e-3, 2e-3))), print_line=lambda line: None,
              executor=executor, max_retries=1)
    state = read_json(tmp_path / "results" / "study.json")
    assert state["groups"]["a"]["selected_learning_rate"] == 2e-3
    assert state["experiments"]["a-lr0.001-s1"]["status"] == "failed"
    assert executor.started[-1] == "a-lr0.002-s2"


def test_cancellation_stops_scheduling_and_records_what_ran_as_interrupted(tmp_path):
    executor = FakeExecutor(slots=2, interrupt_after=2)
    with pytest.raises(KeyboardInterrupt):
        run_study(study(tmp_path), print_line=lambda line: None, executor=executor)
    assert executor.started == ["a-lr0.001-s1", "a-lr0.002-s1", "b-lr0.001-s1"]  # nothing after the interrupt
    experiments = read_json(tmp_path / "results" / "study.json")["experiments"]
    assert {name: e["status"] for name, e in experiments.items()} == {
        "a-lr0.001-s1": "completed", "a-lr0.002-s1": "interrupted", "b-lr0.001-s1": "interrupted"}
    assert "a" not in read_json(tmp_path / "results" / "study.json")["groups"]

    scheduler = Scheduler([group("a", learning_rates=(1e-3, 2e-3))])
    first = scheduler.ready()[0]
    scheduler.start(first)
    assert scheduler.cancel() == [first]
    assert scheduler.finish(first, Report("completed", score=0.9)) == []  # no selection once cancelled
    assert scheduler.ready() == [] and scheduler.finished


def test_busy_is_looked_at_again_once_the_rest_of_its_phase_is_done():
    scheduler = Scheduler([group("a", learning_rates=(1e-3, 2e-3)), group("b", seeds=(1,))])
    first, second, other = scheduler.ready()
    scheduler.start(first)
    scheduler.finish(first, Report("busy"))
    assert scheduler.ready() == [second, other]  # not before the rest of a's search
    scheduler.start(second)
    scheduler.finish(second, Report("completed", score=0.5))
    assert scheduler.ready() == [first, other]
    scheduler.start(first)
    assert scheduler.finish(first, Report("busy")) == [LeftToOther("a")]


def test_a_search_can_grow_before_anything_is_selected():
    """Issue 28's growing grids: asked when a search completes, the hook adds rates to it."""
    def grow(spec, scores):
        best = max((s, lr) for lr, s in scores.items())[1]
        return [(best * 2, "at the top")] if best == max(scores) and best < 8e-3 else []

    scheduler = Scheduler([group("a", learning_rates=(1e-3, 2e-3), seeds=(1, 2))], grow=grow)
    events = []
    while not scheduler.finished:
        task = scheduler.ready()[0]
        scheduler.start(task)
        score = 0.9 - abs(task.learning_rate - 4e-3) * 10  # peaks at 4e-3, beyond the grid
        events += scheduler.finish(task, Report("completed", score=score))
    assert [t for t in scheduler.tasks] == ["a-lr0.001-s1", "a-lr0.002-s1", "a-lr0.004-s1", "a-lr0.008-s1",
                                            "a-lr0.004-s2"]
    assert [e.learning_rate for e in events if isinstance(e, Selected)] == [4e-3]
    assert [e.added for e in events if not isinstance(e, Selected)] == [[(4e-3, "at the top")], [(8e-3, "at the top")]]
    assert scheduler.total == 5
    with pytest.raises(ValueError):
        scheduler.extend_search("a", 1.6e-2)
