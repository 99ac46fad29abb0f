"""Study files: expansion into experiments, budgets matched through the real counts, and every
mistake reported with the line to fix before anything trains."""

from __future__ import annotations

import textwrap

import pytest

from balora.errors import UserError
from balora.study.plan import Group, StudyOptions, plan_study, select_learning_rate
from balora.study.studyfile import parse_study


def write_study(tmp_path, body: str, model_dir: str = "", data_dir: str = "") -> str:
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(body).format(model=model_dir, data=data_dir))
    return str(path)


STUDY = """\
    name: tiny_study
    seeds: [1, 2]
    defaults:
      model_name_or_path: {model}
      epochs: 1
    learning_rates:
      lora: [1.0e-3, 2.0e-3]
    phases:
      baselines:
        methods:
          full: {{learning_rates: [1.0e-4]}}
      budgets:
        budgets: [{{lora_rank: 2}}, 900]
        methods:
          lora: {{}}
          ba_lora: {{ba_lora_use_warmstart: true, learning_rates: [3.0e-3]}}
          adalora: {{}}
          plateau_lora: {{plateau_initial_rank: 1}}
      few_shot:
        train_samples: [4, 8]
        budgets: [{{lora_rank: 2}}]
        methods:
          ba_lora_uniform: {{peft_method: ba_lora, ba_lora_use_uniform_ranks: true}}
"""


def plan(tmp_path, model_dir, body=STUDY, **options):
    return plan_study(parse_study(write_study(tmp_path, body, model_dir)), StudyOptions(**options))


def test_expansion_names_and_budgets(tmp_path, tiny_model_dir):
    groups = {g.key: g for g in plan(tmp_path, tiny_model_dir).groups}
    # Tiny BERT: query and value are 32x32, two layers: LoRA rank 1 costs 4 * 64 = 256.
    assert list(groups) == [
        "sst2-baselines-full",
        "sst2-budgets-lora-b512", "sst2-budgets-ba_lora-b512", "sst2-budgets-adalora-b512",
        "sst2-budgets-plateau_lora-b512",
        "sst2-budgets-lora-b900", "sst2-budgets-ba_lora-b900", "sst2-budgets-adalora-b900",
        "sst2-budgets-plateau_lora-b900",
        "sst2-few_shot-ba_lora_uniform-b512-k4", "sst2-few_shot-ba_lora_uniform-b512-k8",
    ]
    assert groups["sst2-budgets-lora-b512"].settings["lora_r"] == 2
    assert groups["sst2-budgets-lora-b900"].settings["lora_r"] == 3  # the largest rank within 900
    assert groups["sst2-budgets-plateau_lora-b900"].settings["plateau_max_rank"] == 3
    assert groups["sst2-budgets-ba_lora-b900"].counts["adapter"] == 896  # exact: the largest count <= 900
    assert groups["sst2-budgets-ba_lora-b512"].counts["adapter"] == groups["sst2-budgets-lora-b512"].counts["adapter"]
    adalora = groups["sst2-budgets-adalora-b512"]
    assert adalora.learning_rates == (5e-3,)  # no grid for it in the file: AdaLoRA's own default rate
    assert adalora.settings["adalora_init_r"] == 3 and adalora.counts["peak_adapter"] > adalora.counts["adapter"]
    assert groups["sst2-few_shot-ba_lora_uniform-b512-k8"].train_samples == 8
    assert groups["sst2-budgets-ba_lora-b512"].learning_rates == (3e-3,)  # the entry's grid wins
    assert groups["sst2-budgets-lora-b512"].learning_rates == (1e-3, 2e-3)  # the study's grid for lora
    assert groups["sst2-budgets-lora-b512"].experiment_name(2e-3, 1) == "sst2-budgets-lora-b512-lr0.002-s1"


def test_runs_of_a_group_with_and_without_a_grid(tmp_path, tiny_model_dir):
    groups = {g.key: g for g in plan(tmp_path, tiny_model_dir).groups}
    lora, ba_lora = groups["sst2-budgets-lora-b512"], groups["sst2-budgets-ba_lora-b512"]
    assert lora.first_runs() == [(1e-3, 1), (2e-3, 1)] and lora.remaining_runs(2e-3) == [(2e-3, 2)]
    assert ba_lora.first_runs() == [(3e-3, 1), (3e-3, 2)] and ba_lora.remaining_runs(3e-3) == []


def test_learning_rate_selection():
    assert select_learning_rate({1e-3: 0.7, 2e-3: 0.8, 4e-3: 0.75}) == 2e-3
    assert select_learning_rate({1e-3: 0.8, 2e-3: 0.8}) == 1e-3  # ties: the earlier in the grid
    assert select_learning_rate({1e-3: None, 2e-3: 0.6}) == 2e-3  # a failed run is not a candidate
    assert select_learning_rate({1e-3: None}) is None


def test_filters_and_overrides(tmp_path, tiny_model_dir):
    groups = plan(tmp_path, tiny_model_dir, phases=["few_shot"], seeds=[7],
                  overrides={"train_samples": 2, "epochs": 3}).groups
    assert [g.key for g in groups] == ["sst2-few_shot-ba_lora_uniform-b512-k2"]
    assert groups[0].seeds == (7,) and groups[0].settings["epochs"] == 3


@pytest.mark.parametrize("change, line, message", [
    (("    name: tiny_study\n", "    name: tiny_study\n    colour: blue\n"), 2, "unknown key 'colour' in the study"),
    (("      baselines:\n", "      baselines:\n        methodz: {{}}\n"), 10, "unknown key 'methodz' in phase"),
    (("full: {{learning_rates: [1.0e-4]}}", "full: {{peft_method: fulll}}"), 11, "unknown method 'fulll'"),
    (("ba_lora_use_uniform_ranks: true}}", "ba_lora_use_uniform_rank: true}}"), 23, "unknown setting 'ba_lora_use_uniform_rank'"),
    (("      epochs: 1\n", "      epochs: 1\n      seed: 3\n"), 6, "'seed' is set by the study itself"),
    (("      epochs: 1\n", "      epochs: 0\n"), 5, "--epochs: must be a positive number"),
    (("    seeds: [1, 2]\n", "    seeds: [1, 2]\n    datasets: [sst3]\n"), 3, "unknown dataset 'sst3'"),
    (("budgets: [{{lora_rank: 2}}, 900]", "budgets: [{{lora_rank: 2}}, 100]"), 13, "budget 100 for lora: below what rank 1"),
    (("budgets: [{{lora_rank: 2}}, 900]", "budgets: [{{lora_rank: 2}}, -5]"), 13, "a budget is a positive whole number"),
    (("budgets: [{{lora_rank: 2}}]", "budgets: [{{lora_rank: 2}}]\n        settings: {{ba_lora_min_rank: 4}}"), 21,
     "below the minimum any assignment needs"),
    (("          lora: {{}}", "          lora: {{}}\n          partial: {{}}"), 16, "method 'partial' has no budget to match"),
    (("          lora: {{}}", "          lora: {{lora_r: 4}}"), 15, "lora_r is set by the phase's budgets"),
    (("full: {{learning_rates: [1.0e-4]}}", "full: {{lora_r: 4}}"), 11, "'lora_r' does not apply to method 'full'"),
    (("    learning_rates:\n      lora: [1.0e-3, 2.0e-3]", "    learning_rates:\n      lora: [1.0e-3, fast]"), 7,
     "a learning-rate grid must be numbers"),
    (("      epochs: 1\n", "      epochs: abc\n"), 5, "epochs must be a whole number (got 'abc')"),
    (("      epochs: 1\n", "      epochs: 1\n      learning_rate: fast\n"), 6,
     "learning_rate must be a number (got 'fast')"),
    (("full: {{learning_rates: [1.0e-4]}}", "full: {{learning_rates: [1.0e-4, quick]}}"), 11,
     "a learning-rate grid must be numbers (got 'quick')"),
    (("plateau_lora: {{plateau_initial_rank: 1}}", "plateau_lora: {{plateau_initial_rank: one}}"), 18,
     "plateau_initial_rank must be a whole number (got 'one')"),
    (("ba_lora: {{ba_lora_use_warmstart: true,", "ba_lora: {{ba_lora_use_warmstart: 3,"), 16,
     "ba_lora_use_warmstart must be true or false (got 3)"),
    (("    seeds: [1, 2]\n", "    seeds: [1, -2]\n"), 2, "seeds: must be a whole number from 0 to 4294967295 (got -2)"),
    (("    learning_rates:\n", "    dataset_defaults:\n      sst3: {{epochs: 2}}\n    learning_rates:\n"), 7,
     "unknown dataset 'sst3'"),
    (("    learning_rates:\n", "    dataset_defaults:\n      sst2: {{epochs: 0}}\n    learning_rates:\n"), 7,
     "--epochs: must be a positive number"),
])
def test_mistakes_name_the_line(tmp_path, tiny_model_dir, change, line, message):
    body = STUDY.replace(*change)
    assert body != STUDY
    with pytest.raises(UserError) as err:
        plan(tmp_path, tiny_model_dir, body=body)
    assert f"study.yaml line {line}: " in str(err.value) and message in str(err.value)


def test_datasets_option_picks_among_a_phases_own_datasets_and_replaces_the_studys(tmp_path, tiny_model_dir):
    body = STUDY.replace("      few_shot:\n", "      few_shot:\n        datasets: [sst2]\n")
    groups = plan(tmp_path, tiny_model_dir, body=body, datasets=["cola"]).groups
    assert {g.dataset for g in groups} == {"cola"}  # baselines and budgets run cola instead of sst2
    assert not [g for g in groups if g.phase == "few_shot"]  # a phase made for sst2 is not retargeted
    assert {g.phase for g in plan(tmp_path, tiny_model_dir, body=body, datasets=["sst2"]).groups} == {
        "baselines", "budgets", "few_shot"}


def test_dataset_defaults_apply_to_their_dataset_over_the_defaults_and_under_the_phase(tmp_path, tiny_model_dir):
    body = STUDY.replace("    seeds: [1, 2]\n", "    seeds: [1, 2]\n    datasets: [sst2, cola]\n").replace(
        "    learning_rates:\n", "    dataset_defaults:\n      cola: {{epochs: 4, max_length: 32}}\n    learning_rates:\n"
    ).replace("        train_samples: [4, 8]\n", "        train_samples: [4, 8]\n        settings: {{max_length: 16}}\n")
    groups = plan(tmp_path, tiny_model_dir, body=body).groups
    settings = {(g.dataset, g.phase): g.settings for g in groups}
    assert settings["sst2", "budgets"]["epochs"] == 1 and "max_length" not in settings["sst2", "budgets"]
    assert settings["cola", "budgets"]["epochs"] == 4 and settings["cola", "budgets"]["max_length"] == 32
    assert settings["cola", "few_shot"]["max_length"] == 16  # the phase's own setting wins


def test_study_wide_method_settings_reach_only_the_methods_that_read_them(tmp_path, tiny_model_dir):
    body = STUDY.replace("      epochs: 1\n", "      epochs: 1\n      lora_dropout: 0.0\n")
    groups = {group.label: group for group in plan(tmp_path, tiny_model_dir, body=body).groups}
    assert "lora_dropout" not in groups["full"].settings
    assert groups["lora"].settings["lora_dropout"] == 0.0


def test_unreadable_files(tmp_path):
    with pytest.raises(UserError, match="study file not found"):
        parse_study(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("name: x\nphases: [\n")
    with pytest.raises(UserError, match="line 3: not valid YAML"):
        parse_study(tmp_path / "bad.yaml")
    (tmp_path / "twice.yaml").write_text("name: x\nname: y\n")
    with pytest.raises(UserError, match="line 2: key 'name' appears twice"):
        parse_study(tmp_path / "twice.yaml")


def test_unknown_selection_names(tmp_path, tiny_model_dir):
    with pytest.raises(UserError, match="no method named 'lorra'"):
        plan(tmp_path, tiny_model_dir, methods=["lorra"])
    with pytest.raises(UserError, match="no phase named 'abl'"):
        plan(tmp_path, tiny_model_dir, phases=["abl"])


def test_group_is_plain_data():
    group = Group(key="d-p-m", phase="p", dataset="d", label="m", method="lora", budget=None, train_samples=None,
                  settings={}, learning_rates=(1e-3,), seeds=(1,), line=1)
    assert not group.selects_learning_rate and group.first_runs() == [(1e-3, 1)]
