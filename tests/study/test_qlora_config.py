"""The shipped QLoRA + AdaLoRA study: quantization reaches the experiments, budgets still match."""

from pathlib import Path

from balora.study.plan import StudyOptions, plan_study
from balora.study.studyfile import parse_study

STUDY = Path(__file__).resolve().parents[2] / "configs" / "qlora_adalora.yaml"


def test_qlora_study_passes_quantization_through_at_equal_budget():
    plan = plan_study(parse_study(STUDY), StudyOptions())
    by_label = {(g.dataset, g.label): g for g in plan.groups}
    assert {d for d, _ in by_label} == {"sst2", "cola"}
    assert {label for _, label in by_label} == {"lora", "adalora", "lora_nf4", "adalora_nf4", "ba_lora_nf4"}
    for (dataset, label), group in by_label.items():
        assert group.settings.get("quantization", "none") == ("nf4" if label.endswith("_nf4") else "none")
        assert group.budget == 73_728  # LoRA at rank 8 on MiniLM's query and value
        assert abs(group.counts["adapter"] - group.budget) <= 0.01 * group.budget, group.key
    assert by_label["sst2", "lora_nf4"].counts == by_label["sst2", "lora"].counts
