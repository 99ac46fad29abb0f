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


REAL_STUDY = """\
    name: narrow
    seeds: [1, 2]
    max_grid_extensions: 1
    defaults: {{model_name_or_path: {model}, data_dir: {data}, epochs: 1, batch_size: 8}}
    phases:
      budgets:
        budgets: [{{lora_rank: 2}}]
        methods:
          lora: {{learning_rates: [5.0e-3, 1.0e-2]}}
"""


def test_a_real_study_with_a_narrow_grid_grows_records_it_and_compares(tmp_path, tiny_model_dir, tiny_data_dir):
    """Two rates: whichever wins (or both tie) sits at an edge, so the grid grows by its one allowed rate."""
    import textwrap

    from balora.analysis.collect import groups_from_study
    from balora.analysis.table import comparison_table, markdown_table
    from balora.record import read_results_record
    from balora.study import plan_from_file
    from balora.study.plan import StudyOptions

    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(REAL_STUDY).format(model=tiny_model_dir, data=tiny_data_dir))
    plan = plan_from_file(str(path), StudyOptions(results_dir=str(tmp_path / "results")))
    lines = []
    outcomes = run_study(plan, print_line=lines.append)
    assert [o.status for o in outcomes] == ["completed"] * 4
    record = read_json(tmp_path / "results" / "study.json")["groups"]["sst2-budgets-lora-b512"]
    (added, why), = record["grown"].items()
    assert float(added) in (2.5e-3, 2e-2) and len(record["grid"]) == 3 and float(added) in record["grid"]
    assert f"    sst2-budgets-lora-b512: the grid grows to learning rate {added}: {why}" in lines
    chosen = record["selected_learning_rate"]
    tested = {}
    for rate in record["grid"]:
        for seed in (1, 2):
            final = tmp_path / "results" / f"sst2-budgets-lora-b512-lr{rate:g}-s{seed}" / "results_final.json"
            if final.exists():
                tested[(rate, seed)] = read_results_record(final).tested
    assert tested == {**{(rate, 1): rate == chosen for rate in record["grid"]}, (chosen, 2): True}

    groups, missing = groups_from_study(plan)
    assert missing == [] and [len(g.runs) for g in groups] == [2]
    table = comparison_table(groups)
    assert table["learning_rate"].tolist() == [chosen]
    marked = "| lora † |" in markdown_table(table)
    assert marked == (record["edge_warning"] is not None)


@pytest.mark.parametrize("line, message", [
    ("grow_grids: sometimes", "grow_grids is true or false (got 'sometimes')"),
    ("max_grid_extensions: -1", "max_grid_extensions is a whole number, 0 or more (got -1)"),
    ("evaluate_test: none", "evaluate_test is selected or all (got 'none')"),
])
def test_a_bad_grid_setting_names_its_line(tmp_path, tiny_model_dir, line, message):
    from balora.errors import UserError
    from study.test_plan import STUDY, plan

    with pytest.raises(UserError) as err:
        plan(tmp_path, tiny_model_dir, body=STUDY.replace("    seeds: [1, 2]\n", f"    seeds: [1, 2]\n    {line}\n"))
    assert str(err.value).endswith(f"study.yaml line 3: {message}")


def test_the_plan_carries_the_grid_settings_and_the_dry_run_says_grids_may_grow(tmp_path, tiny_model_dir, capsys):
    from balora.cli import main
    from study.test_plan import STUDY, plan, write_study

    lora = {g.key: g for g in plan(tmp_path, tiny_model_dir).groups}["sst2-budgets-lora-b512"]
    assert (lora.max_grid_extensions, lora.evaluate_test) == (3, "selected")
    off = STUDY.replace("    seeds: [1, 2]\n", "    seeds: [1, 2]\n    grow_grids: false\n    evaluate_test: all\n")
    lora = {g.key: g for g in plan(tmp_path, tiny_model_dir, body=off).groups}["sst2-budgets-lora-b512"]
    assert (lora.max_grid_extensions, lora.evaluate_test) == (0, "all")

    path = write_study(tmp_path, STUDY, tiny_model_dir)
    assert main(["study", path, "--phases", "budgets", "--methods", "lora", "--dry_run"]) == 0
    out = capsys.readouterr().out
    assert ("Learning-rate grids may grow: a search whose best validation score is at an edge of its grid runs the "
            "next rate beyond it (the grid's spacing), up to 3 more per grid") in out
    assert "so up to 6 more experiments than counted here" in out  # two budgets, one grid each
    assert "Test split: search runs skip it" in out
    assert main(["study", write_study(tmp_path, off, tiny_model_dir), "--phases", "budgets", "--methods", "lora",
                 "--dry_run"]) == 0
    out = capsys.readouterr().out
    assert "may grow" not in out and "Test split" not in out
