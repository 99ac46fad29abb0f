"""evaluate_test: selected (the default): the search runs train without the test split, and once a
rate is chosen its run at the search seed is tested from its saved model; the other seeds test
themselves. compare reads only the chosen rate's runs."""

from __future__ import annotations

import dataclasses

from balora.study.runner import run_study
from study.test_schedule import FakeExecutor, group, plan_of


class JobRecorder(FakeExecutor):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.jobs = []

    def submit(self, job, try_number):
        self.jobs.append((job.name, job.test_split, job.test_only))
        super().submit(job, try_number)
        return "here"  # as the serial executor: the driver prints its [k/n] lines


def selecting(evaluate_test: str, seeds=(1, 2, 3), search_seed=None):
    spec = group("a", learning_rates=(1e-3, 2e-3), seeds=seeds)
    return dataclasses.replace(spec, evaluate_test=evaluate_test, search_seed=search_seed)


def test_search_runs_skip_the_test_and_the_chosen_one_is_tested_after_the_selection(tmp_path):
    executor, lines = JobRecorder(script={"a-lr0.002-s1": [0.7], "a-lr0.001-s1": [0.6]}), []
    outcomes = run_study(plan_of(tmp_path, selecting("selected")), print_line=lines.append, executor=executor)
    assert executor.jobs == [("a-lr0.001-s1", False, False), ("a-lr0.002-s1", False, False),
                             ("a-lr0.002-s1", False, True),  # tested from its saved model, not trained again
                             ("a-lr0.002-s2", True, False), ("a-lr0.002-s3", True, False)]
    assert [o.name for o in outcomes] == ["a-lr0.001-s1", "a-lr0.002-s1", "a-lr0.002-s2", "a-lr0.002-s3"]
    assert "    a-lr0.002-s1: testing the chosen rate's run from its saved model" in lines
    assert [line.split()[0] for line in lines if line.startswith("[")] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]


def test_all_tests_every_run_as_before(tmp_path):
    executor = JobRecorder()
    run_study(plan_of(tmp_path, selecting("all")), print_line=lambda line: None, executor=executor)
    assert all(test_split and not test_only for _, test_split, test_only in executor.jobs)
    assert len(executor.jobs) == 4


def test_a_search_seed_outside_the_compared_seeds_is_never_tested(tmp_path):
    executor = JobRecorder()
    run_study(plan_of(tmp_path, selecting("selected", seeds=(1, 2), search_seed=9)), print_line=lambda line: None,
              executor=executor)
    assert executor.jobs == [("a-lr0.001-s9", False, False), ("a-lr0.002-s9", False, False),
                             ("a-lr0.001-s1", True, False), ("a-lr0.001-s2", True, False)]


def test_one_rate_has_no_search_and_every_run_tests_itself(tmp_path):
    executor = JobRecorder()
    spec = dataclasses.replace(group("b", seeds=(1, 2)), evaluate_test="selected")
    run_study(plan_of(tmp_path, spec), print_line=lambda line: None, executor=executor)
    assert executor.jobs == [("b-lr0.001-s1", True, False), ("b-lr0.001-s2", True, False)]
