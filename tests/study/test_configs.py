"""The shipped study files: each starts with the command that runs it and plans without error;
SST-2's protocol matches every method to the budgets of LoRA at ranks 4 / 8 / 16."""

from __future__ import annotations

from pathlib import Path

import pytest

from balora.study.plan import StudyOptions, plan_study
from balora.study.studyfile import parse_study

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_starts_with_its_command_and_plans(path):
    assert path.read_text().startswith(f"# balora study configs/{path.name}")
    study = parse_study(path)
    plan = plan_study(study, count=False)
    # Every method of every phase, on every dataset the phase names, becomes a group.
    for phase_name, phase in study.phases.items():
        planned = {(g.dataset, g.entry_label or g.label) for g in plan.groups if g.phase == phase_name}
        datasets = phase.get("datasets") or study.datasets
        assert planned == {(d, label) for d in datasets for label in phase["methods"]}, phase_name


def test_protocol_gives_each_dataset_its_own_lengths():
    plan = plan_study(parse_study(next(p for p in CONFIGS if p.name == "protocol.yaml")), count=False)
    lengths = {g.dataset: g.settings["max_length"] for g in plan.groups}
    assert lengths == {"sst2": 128, "ag_news": 128, "imdb": 256, "cola": 64}
    assert {g.settings.get("max_test_samples") for g in plan.groups if g.dataset == "imdb"} == {5000}
    assert len(plan.groups) == 4 * 35


def test_sst2_protocol_matches_budgets():
    study = parse_study(next(p for p in CONFIGS if p.name == "protocol.yaml"))
    plan = plan_study(study, StudyOptions(datasets=["sst2"]))
    assert {g.phase for g in plan.groups} == {"baselines", "budgets", "few_shot", "ablations"}
    lora = {g.budget: g.counts["adapter"] for g in plan.groups if g.method == "lora" and g.phase == "budgets"}
    assert lora == {36_864: 36_864, 73_728: 73_728, 147_456: 147_456}  # MiniLM query+value at r = 4, 8, 16
    for group in plan.groups:
        if group.budget is None:
            continue
        counts = group.counts
        if group.method == "adalora":  # rank granularity r(m+n+1): within 1% of the budget
            assert abs(counts["adapter"] - group.budget) <= 0.01 * group.budget
        elif group.method == "plateau_lora":  # starts small, may grow up to the budget
            assert counts["peak_adapter"] <= group.budget
        else:
            assert counts["adapter"] == group.budget, group.key
    assert {g.train_samples for g in plan.groups if g.phase == "few_shot"} == {16, 64, 256}


def test_ag_news_sweeps_are_the_five_sweeps_under_the_cap():
    from balora.study.plan import check_trainable_cap

    plan = plan_study(parse_study(next(p for p in CONFIGS if p.name == "ag_news_sweeps.yaml")), StudyOptions())
    swept = {}
    for group in plan.groups:
        swept.setdefault(group.phase, []).append(group.swept_text)
    assert list(swept) == ["scope", "dropout", "alpha", "rank", "learning_rate"]
    assert [s["lora_target_modules"] for s in swept["scope"]] == [
        "query", "key", "value", "query+value", "query+key+value+attention.output.dense", "all-linear"]
    assert [s["lora_alpha"] for s in swept["alpha"]] == ["11 (r × 0.5)", "22 (r × 1)", "44 (r × 2)"]
    assert [s["lora_r"] for s in swept["rank"]] == ["4", "8", "16", "22"]
    assert len(swept["dropout"]) == len(swept["learning_rate"]) == 4
    check_trainable_cap(plan)  # every configuration fits 1,000,000 trainable parameters
    value_r22 = next(g for g in plan.groups if g.phase == "dropout")
    assert value_r22.counts["trainable"] == 6 * 22 * (384 + 384) + 4 * 384 + 4  # MiniLM value r=22 + head


def test_comparators_study_matches_every_method_to_the_budget_of_lora_r8():
    plan = plan_study(parse_study(next(p for p in CONFIGS if p.name == "comparators.yaml")), StudyOptions())
    assert {(g.dataset, g.train_samples) for g in plan.groups} == {("sst2", 500), ("ag_news", 250)}
    assert {g.method for g in plan.groups} == {"lora", "ba_lora", "adalora", "eva", "pissa", "lora_ga", "dora"}
    for group in plan.groups:
        assert group.budget == 73_728 and group.seeds == (42, 43, 44) and len(group.learning_rates) >= 5
        adapter = group.counts["adapter"]
        if group.method == "adalora":  # rank granularity r(m+n+1): within 1% of the budget
            assert abs(adapter - group.budget) <= 0.01 * group.budget
        elif group.method == "dora":  # rank 7 and the magnitudes (12 x 384) fit; rank 8 would not
            assert adapter == 7 * 12 * 768 + 12 * 384
        else:
            assert adapter == group.budget


def test_ba_lora_v2_study_is_lora_r8_on_every_linear_layer_for_every_method():
    plan = plan_study(parse_study(next(p for p in CONFIGS if p.name == "ba_lora_v2.yaml")),
                      StudyOptions(datasets=["sst2", "ag_news"]))  # alpaca's SmolLM2: tests/study/test_decoder_configs.py
    minilm_r8 = 8 * (6 * (4 * 768 + 2 * 1920) + 768)  # q, k, v, o; intermediate, output; the pooler
    assert {g.method for g in plan.groups} == {"lora", "ba_lora", "adalora", "eva", "lora_ga"}
    assert {(g.dataset, g.label) for g in plan.groups if g.method == "ba_lora"} == {
        (d, label) for d in ("sst2", "ag_news") for label in ("ba_lora_sensitivity", "ba_lora_spectrum")}
    for group in plan.groups:
        assert group.budget == minilm_r8 and group.seeds == (42, 43, 44) and len(group.learning_rates) >= 3
        assert group.settings["lora_target_modules"] == ["all-linear"]
        adapter = group.counts["adapter"]
        if group.method == "adalora":  # rank granularity r(m+n+1): within 1% of the budget
            assert abs(adapter - group.budget) <= 0.01 * group.budget
        else:  # EVA counts at its uniform start here; it moves ranks between the two shapes as it runs
            assert adapter == group.budget, group.key


def test_the_peft_zoo_dry_run_meets_lora_r8s_budget_on_sst2(capsys):
    from balora.cli import main

    path = next(p for p in CONFIGS if p.name == "peft_zoo.yaml")
    # SST-2 only: the Alpaca half counts SmolLM2, which a fresh machine first converts from GGUF
    assert main(["study", str(path), "--dry_run", "--datasets", "sst2"]) == 0
    rows = {line.split()[2]: line.split()[4:] for line in capsys.readouterr().out.splitlines()
            if line.startswith("sst2 ")}
    assert set(rows) == {"lora", "olora", "loha", "oft", "boft", "miss", "randlora", "shira", "qdora"}
    for method, (budget, adapter, _) in rows.items():
        assert budget == "73,728" and 0.8 * 73_728 <= int(adapter.replace(",", "")) <= 73_728, method
