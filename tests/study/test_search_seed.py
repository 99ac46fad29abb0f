"""search_seed: a learning-rate grid searched at one seed, the comparison run at `seeds`, so more
seeds cost one run each, not one search each."""

from __future__ import annotations

import pytest

from balora.errors import UserError
from study.test_plan import STUDY, plan

FIVE_SEEDS = STUDY.replace("    seeds: [1, 2]\n", "    seeds: [1, 2, 3, 4, 5]\n    search_seed: 9\n"
                          "    grow_grids: false\n")  # its grids as written (tests/study/test_grids.py grows them)


def _groups(tmp_path, model_dir, body, **options):
    planned = plan(tmp_path, model_dir, body=body, **options)
    return planned, {g.key: g for g in planned.groups}


def test_the_grid_runs_at_the_search_seed_and_every_seed_at_the_choice(tmp_path, tiny_model_dir):
    planned, groups = _groups(tmp_path, tiny_model_dir, FIVE_SEEDS)
    lora, ba_lora = groups["sst2-budgets-lora-b512"], groups["sst2-budgets-ba_lora-b512"]
    assert lora.first_runs() == [(1e-3, 9), (2e-3, 9)]
    assert lora.remaining_runs(2e-3) == [(2e-3, s) for s in (1, 2, 3, 4, 5)]
    assert ba_lora.first_runs() == [(3e-3, s) for s in (1, 2, 3, 4, 5)]  # one rate: nothing to search
    assert ba_lora.remaining_runs(3e-3) == []
    with_grid = [g for g in planned.groups if g.selects_learning_rate]
    assert planned.experiment_count == sum(2 + 5 for _ in with_grid) + 5 * (len(planned.groups) - len(with_grid))


def test_by_default_the_search_seed_is_the_first_seed_and_its_run_is_reused(tmp_path, tiny_model_dir):
    lora = _groups(tmp_path, tiny_model_dir, STUDY)[1]["sst2-budgets-lora-b512"]
    assert lora.search_seed == 1 and lora.remaining_runs(2e-3) == [(2e-3, 2)]
    inside = STUDY.replace("    seeds: [1, 2]\n", "    seeds: [1, 2, 3]\n    search_seed: 2\n")
    lora = _groups(tmp_path, tiny_model_dir, inside)[1]["sst2-budgets-lora-b512"]
    assert lora.first_runs() == [(1e-3, 2), (2e-3, 2)] and lora.remaining_runs(1e-3) == [(1e-3, 1), (1e-3, 3)]


def test_a_phase_search_seed_wins_and_command_line_seeds_search_at_their_first(tmp_path, tiny_model_dir):
    body = FIVE_SEEDS.replace("        budgets: [{{lora_rank: 2}}, 900]\n",
                              "        budgets: [{{lora_rank: 2}}, 900]\n        search_seed: 11\n")
    groups = _groups(tmp_path, tiny_model_dir, body)[1]
    assert groups["sst2-budgets-lora-b512"].search_seed == 11 and groups["sst2-few_shot-ba_lora_uniform-b512-k4"].search_seed == 9
    lora = _groups(tmp_path, tiny_model_dir, body, seeds=[42, 43])[1]["sst2-budgets-lora-b512"]
    assert lora.first_runs() == [(1e-3, 42), (2e-3, 42)] and lora.remaining_runs(1e-3) == [(1e-3, 43)]


@pytest.mark.parametrize("value, line, message", [
    ("[3, 4]", 3, "search_seed is one whole number (got [3, 4])"),
    ("-1", 3, "search_seed: must be a whole number from 0 to 4294967295 (got -1)"),
])
def test_a_bad_search_seed_names_its_line(tmp_path, tiny_model_dir, value, line, message):
    with pytest.raises(UserError) as err:
        plan(tmp_path, tiny_model_dir, body=FIVE_SEEDS.replace("search_seed: 9", f"search_seed: {value}"))
    assert f"study.yaml line {line}: " in str(err.value) and message in str(err.value)


def test_the_runner_searches_at_the_search_seed(tmp_path, tiny_model_dir):
    from balora.study.runner import run_study
    from study.test_schedule import FakeExecutor

    planned = plan(tmp_path, tiny_model_dir, body=FIVE_SEEDS, methods=["lora"], phases=["budgets"],
                   results_dir=str(tmp_path / "results"))
    lora = next(g for g in planned.groups if g.key == "sst2-budgets-lora-b512")
    executor = FakeExecutor(script={lora.experiment_name(2e-3, 9): [0.9], lora.experiment_name(1e-3, 9): [0.7]})
    run_study(planned, print_line=lambda line: None, executor=executor)
    assert [n for n in executor.started if n.startswith("sst2-budgets-lora-b512-")] == [
        lora.experiment_name(1e-3, 9), lora.experiment_name(2e-3, 9),
        *(lora.experiment_name(2e-3, s) for s in (1, 2, 3, 4, 5))]
    assert len(executor.started) == planned.experiment_count


def test_compare_reads_the_search_at_the_search_seed_and_compares_the_seeds(tmp_path, tiny_model_dir):
    from analysis.fake_runs import fake_run
    from balora.analysis.collect import groups_from_study

    planned = plan(tmp_path, tiny_model_dir, body=FIVE_SEEDS, methods=["lora"], phases=["budgets"],
                   results_dir=str(tmp_path / "results"))
    lora = next(g for g in planned.groups if g.key == "sst2-budgets-lora-b512")
    results = tmp_path / "results"
    for lr, accuracy in ((1e-3, 0.9), (2e-3, 0.7)):  # the first rate wins at the search seed
        fake_run(results, lora.experiment_name(lr, 9), seed=9, accuracy=accuracy)
    for seed in (1, 2, 3, 4, 5):
        fake_run(results, lora.experiment_name(1e-3, seed), seed=seed, accuracy=0.8)
    group = next(g for g in groups_from_study(planned)[0] if g.label == "lora" and g.budget == 512)
    assert sorted(run.seed for run in group.runs) == [1, 2, 3, 4, 5]  # the search run is not one of them


def test_dry_run_shows_the_search_seed_and_the_seeds_after_it(tmp_path, tiny_model_dir, capsys):
    from balora.cli import main
    from study.test_plan import write_study

    path = write_study(tmp_path, FIVE_SEEDS, tiny_model_dir)
    assert main(["study", path, "--phases", "budgets", "--methods", "lora", "--dry_run"]) == 0
    out = capsys.readouterr().out
    assert "2 configurations, 14 experiments" in out
    assert "sst2-budgets-lora-b512-lr0.001-s9" in out and "sst2-budgets-lora-b512-lr<selected>-s{1,2,3,4,5}" in out
