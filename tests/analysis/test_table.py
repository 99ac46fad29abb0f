"""The comparison table's numbers come from the runs' results_final.json, pooled over seeds."""

from __future__ import annotations

import statistics

import pandas as pd
import pytest
from scipy.stats import ttest_rel

from balora.analysis.collect import groups_from_names
from balora.analysis.table import comparison_table, markdown_table, paired_difference
from analysis.fake_runs import fake_run

LORA = {42: 0.80, 43: 0.82, 44: 0.78}
BA_LORA = {42: 0.81, 43: 0.84, 44: 0.78}


@pytest.fixture
def runs(tmp_path):
    names = []
    for seed in LORA:
        names.append(fake_run(tmp_path, f"lora_s{seed}", "lora", seed, LORA[seed], seconds=100 + seed,
                              lora_r=8).name)
        names.append(fake_run(tmp_path, f"ba_s{seed}", "ba_lora", seed, BA_LORA[seed], seconds=110,
                              param_budget=73728).name)
    names.append(fake_run(tmp_path, "ada_s42", "adalora", 42, 0.6, adapter=73824, param_budget=73728).name)
    names.append(fake_run(tmp_path, "lora16_s42", "lora", 42, 0.9, adapter=147456, lora_r=16).name)
    return tmp_path, names


def test_rows_are_means_over_seeds_with_a_paired_difference_to_lora(runs):
    results_dir, names = runs
    table = comparison_table(groups_from_names(results_dir, names)).set_index("method")
    assert list(table.index) == ["lora (lora_r=8)", "ba_lora", "adalora", "lora (lora_r=16)"]
    ba = table.loc["ba_lora"]
    assert ba["n"] == 3 and ba["seeds"] == "42 43 44"
    assert ba["test_accuracy_mean"] == pytest.approx(statistics.mean(BA_LORA.values()))
    assert ba["test_accuracy_std"] == pytest.approx(statistics.stdev(BA_LORA.values()))
    assert ba["test_matthews_correlation_mean"] == pytest.approx(statistics.mean(2 * a - 1 for a in BA_LORA.values()))
    assert ba["wall_seconds_mean"] == pytest.approx(110)
    assert ba["lora_reference"] == "lora (lora_r=8)"
    assert ba["delta_vs_lora"] == pytest.approx(statistics.mean(BA_LORA[s] - LORA[s] for s in LORA))
    assert ba["delta_p_value"] == pytest.approx(ttest_rel(list(BA_LORA.values()), list(LORA.values())).pvalue)
    # AdaLoRA's 73,824 is within 5% of LoRA r=8's 73,728, not of r=16's; one seed pairs with one.
    ada = table.loc["adalora"]
    assert ada["lora_reference"] == "lora (lora_r=8)" and ada["delta_pairs"] == 1
    assert ada["delta_vs_lora"] == pytest.approx(0.6 - LORA[42]) and pd.isna(ada["delta_p_value"])
    assert pd.isna(table.loc["lora (lora_r=16)"]["lora_reference"])  # LoRA is the reference itself


def test_no_reference_on_other_data(tmp_path):
    names = [fake_run(tmp_path, "lora", "lora", 42, 0.8, lora_r=8).name,
             fake_run(tmp_path, "ba_k16", "ba_lora", 42, 0.7, param_budget=73728, train_samples=16).name,
             fake_run(tmp_path, "ba_imdb", "ba_lora", 42, 0.7, dataset="imdb", param_budget=73728).name]
    table = comparison_table(groups_from_names(tmp_path, names))
    assert table["lora_reference"].isna().all()


def test_paired_difference_edge_cases():
    assert paired_difference({1: 0.5}, {2: 0.4}) == (None, None, 0)
    mean, p_value, n = paired_difference({1: 0.5, 2: 0.6}, {1: 0.4, 2: 0.5})
    assert mean == pytest.approx(0.1) and p_value is None and n == 2  # no spread: no t-test


def test_markdown_shows_mean_std_and_difference(runs):
    results_dir, names = runs
    text = markdown_table(comparison_table(groups_from_names(results_dir, names)))
    assert "| ba_lora | sst2 | full | 73,728 | 81.0 ± 3.0 | 80.0 ± 3.0 | 0.620 ± 0.060 | 3 | 110 | +1.0 (p=0.23, n=3) |" in text


def test_missing_results_is_one_clear_error(tmp_path):
    from balora.errors import UserError

    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "status.json").write_text('{"status": "running"}')
    with pytest.raises(UserError, match="has no results \\(running\\)"):
        groups_from_names(tmp_path, ["half"])


@pytest.mark.parametrize("content", ['{"status": "completed", "metr', "not json at all", ""])
def test_unreadable_results_file_is_one_line_naming_it(tmp_path, content):
    from balora.errors import UserError

    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results_final.json").write_text(content)
    with pytest.raises(UserError, match=rf"cannot read {tmp_path}/broken/results_final.json: not valid JSON"):
        groups_from_names(tmp_path, ["broken"])


def test_a_rate_chosen_at_the_edge_of_its_grid_is_marked_and_explained(runs):
    results_dir, names = runs
    groups = groups_from_names(results_dir, names)
    text = markdown_table(comparison_table(groups))
    assert "†" not in text
    groups[1].edge_warning = "learning rate 0.008 chosen ... at the top of its grid"
    table = comparison_table(groups)
    assert table["learning_rate_at_edge"].tolist()[1] == groups[1].edge_warning
    text = markdown_table(table)
    assert "| ba_lora † | sst2 |" in text and "| lora (lora_r=8) | sst2 |" in text
    assert "† The learning rate was chosen at an edge of its grid" in text


def test_a_search_run_without_a_test_score_is_refused_by_name(tmp_path):
    import json

    from balora.errors import UserError

    path = fake_run(tmp_path, "search", "lora", 42, 0.8)
    final = json.loads((path / "results_final.json").read_text())
    final["metrics"]["test"] = {}
    (path / "results_final.json").write_text(json.dumps(final))
    with pytest.raises(UserError, match="experiment search has no test score"):
        groups_from_names(tmp_path, ["search"])
