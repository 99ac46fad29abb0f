"""Learning-rate grids that grow until the choice is inside them (issue 28): the pure growth rule,
then whole studies driven through the runner by a fake executor whose validation curve peaks
where each test puts it (right of the grid, left of it, beyond the cap)."""

from __future__ import annotations

import math

import pytest

from balora.results import read_json
from balora.study.grids import edge_sides, edge_warning, grid_extension, growth_history, next_rate, replay
from balora.study.runner import run_study
from study.test_schedule import FakeExecutor, group, plan_of

CANDIDATES = [1e-3 * 2.0 ** k for k in range(-5, 8)]  # every rate a doubling grid around 1e-3 can reach


def test_the_next_rate_keeps_the_grid_spacing_on_either_side():
    assert next_rate([1e-3, 2e-3, 4e-3], "top") == 8e-3
    assert next_rate([1e-3, 2e-3, 4e-3], "bottom") == 5e-4
    assert next_rate([1e-4, 1e-3], "top") == 1e-2  # a decade grid goes on by decades
    assert next_rate([1e-3, 3e-3], "bottom") == 0.000333333  # as its name shows it: lr0.000333333


def test_an_edge_that_holds_or_ties_the_best_grows_and_an_interior_best_stops():
    assert edge_sides({1e-3: 0.6, 2e-3: 0.7}) == ["top"]
    assert edge_sides({1e-3: 0.7, 2e-3: 0.6}) == ["bottom"]
    assert edge_sides({1e-3: 0.6, 2e-3: 0.8, 4e-3: 0.7}) == []
    assert edge_sides({1e-3: 0.6, 2e-3: 0.8, 4e-3: 0.8}) == ["top"]  # a tie at the edge: not known inside
    assert edge_sides({1e-3: 0.6, 2e-3: 0.8, 4e-3: None}) == []  # a failed edge run: no growing past it
    assert grid_extension({1e-3: 0.6, 2e-3: 0.8, 4e-3: 0.8}, 3, 3) == [
        (8e-3, "the top of the grid (lr 0.004) tied the best validation score")]
    assert grid_extension({1e-3: 0.6, 2e-3: 0.7}, 2, 3) == [
        (4e-3, "the top of the grid (lr 0.002) held the best validation score")]
    flat = {1e-3: 0.5, 2e-3: 0.5}
    assert [lr for lr, _ in grid_extension(flat, 2, 3)] == [5e-4, 4e-3]  # the chosen rate's side first
    assert [lr for lr, _ in grid_extension(flat, 2, 1)] == [5e-4]
    assert grid_extension({1e-3: 0.6, 2e-3: 0.7, 4e-3: 0.8}, 2, 1) == []  # one added: the cap of 1 reached
    assert grid_extension({1e-3: 0.6, 2e-3: 0.7}, 2, 0) == []  # grow_grids: false


def test_the_history_and_the_replay_tell_the_story_the_search_ran():
    curve = {5e-4: 0.5, 1e-3: 0.6, 2e-3: 0.7, 4e-3: 0.8, 8e-3: 0.75}
    scores = replay((1e-3, 2e-3), curve.get, 3)
    assert list(scores) == [1e-3, 2e-3, 4e-3, 8e-3]
    assert growth_history(scores, 2, 3) == {4e-3: "the top of the grid (lr 0.002) held the best validation score",
                                            8e-3: "the top of the grid (lr 0.004) held the best validation score"}
    assert edge_warning(scores, 2, 3) is None
    assert "grow_grids is off" in edge_warning({1e-3: 0.6, 2e-3: 0.7}, 2, 0)


def peaked(peak: float, slots: int = 1) -> FakeExecutor:
    """Validation accuracy that falls with the distance (in doublings) from ``peak``."""
    script = {f"a-lr{lr:g}-s{seed}": [round(0.9 - 0.05 * abs(math.log2(lr / peak)), 6)]
              for lr in CANDIDATES for seed in (1, 2, 3)}
    return FakeExecutor(slots=slots, script=script)


def grown_study(tmp_path, peak: float, cap: int = 3, slots: int = 1):
    executor, lines = peaked(peak, slots), []
    spec = group("a", learning_rates=(1e-3, 2e-3), seeds=(1, 2, 3))
    object.__setattr__(spec, "max_grid_extensions", cap)
    run_study(plan_of(tmp_path, spec), print_line=lines.append, executor=executor)
    return executor.started, read_json(tmp_path / "results" / "study.json")["groups"]["a"], lines


@pytest.mark.parametrize("slots", [1, 3])
def test_a_peak_right_of_the_grid_grows_it_until_the_best_is_inside(tmp_path, slots):
    started, record, lines = grown_study(tmp_path, peak=8e-3, slots=slots)
    assert started[:5] == ["a-lr0.001-s1", "a-lr0.002-s1", "a-lr0.004-s1", "a-lr0.008-s1", "a-lr0.016-s1"]
    assert sorted(started[5:]) == ["a-lr0.008-s2", "a-lr0.008-s3"]
    assert record["selected_learning_rate"] == 8e-3 and record["grid"] == [1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2]
    assert list(record["grown"]) == ["0.004", "0.008", "0.016"] and record["edge_warning"] is None
    assert "    a: the grid grows to learning rate 0.004: the top of the grid (lr 0.002) held the best " \
           "validation score" in lines
    assert not any("warning" in line for line in lines)


def test_a_peak_left_of_the_grid_grows_it_downwards(tmp_path):
    started, record, _ = grown_study(tmp_path, peak=2.5e-4)
    assert started == ["a-lr0.001-s1", "a-lr0.002-s1", "a-lr0.0005-s1", "a-lr0.00025-s1", "a-lr0.000125-s1",
                       "a-lr0.00025-s2", "a-lr0.00025-s3"]
    assert record["selected_learning_rate"] == 2.5e-4 and record["edge_warning"] is None


def test_growth_stops_at_the_cap_with_a_warning(tmp_path):
    started, record, lines = grown_study(tmp_path, peak=6.4e-2, cap=3)
    assert started == ["a-lr0.001-s1", "a-lr0.002-s1", "a-lr0.004-s1", "a-lr0.008-s1", "a-lr0.016-s1",
                       "a-lr0.016-s2", "a-lr0.016-s3"]
    assert record["selected_learning_rate"] == 1.6e-2
    warning = ("learning rate 0.016 chosen with the best validation score at the top of its grid (0.001 to 0.016; "
               "3 rates added, max_grid_extensions is 3): the best rate may lie beyond it")
    assert record["edge_warning"] == warning and f"    warning: a: {warning}" in lines


def test_a_grid_that_may_not_grow_warns_of_an_edge_choice(tmp_path):
    started, record, lines = grown_study(tmp_path, peak=8e-3, cap=0)
    assert started == ["a-lr0.001-s1", "a-lr0.002-s1", "a-lr0.002-s2", "a-lr0.002-s3"]
    assert record["grown"] == {} and "grow_grids is off" in record["edge_warning"]


def test_a_rerun_reads_back_the_grown_grid_and_trains_nothing_again(tmp_path):
    first, _, _ = grown_study(tmp_path, peak=8e-3)
    executor = peaked(8e-3)
    spec = group("a", learning_rates=(1e-3, 2e-3), seeds=(1, 2, 3))
    object.__setattr__(spec, "max_grid_extensions", 3)
    run_study(plan_of(tmp_path, spec), print_line=lambda line: None, executor=executor)
    assert executor.started == first  # the fake reads nothing back: the same tasks in the same order
