"""Every linear layer as BA-LoRA's targets in a study: {lora_rank: r} is what uniform LoRA at rank r costs
on those same layers, and every budget-matched method is sized against it (tiny BERT and tiny Llama)."""

from __future__ import annotations

import pytest

from balora.study.plan import StudyOptions, plan_study
from balora.study.studyfile import parse_study
from study.test_plan import write_study

STUDY = """\
    name: all_linear
    seeds: [1]
    datasets: [{dataset}]
    defaults:
      model_name_or_path: {{model}}
      lora_target_modules: [all-linear]
    phases:
      equal:
        budgets: [{{{{lora_rank: 8}}}}]
        methods:
          lora: {{{{}}}}
          ba_lora: {{{{ba_lora_use_warmstart: true}}}}
          ba_lora_spectrum: {{{{peft_method: ba_lora, ba_lora_importance: spectrum, ba_lora_use_warmstart: true,
                              ba_lora_warmstart_basis: gradient}}}}
          lora_ga: {{{{}}}}
          eva: {{{{}}}}
          adalora: {{{{}}}}
"""

# Per rank, every linear layer but the head / lm_head, (in + out) each:
# tiny BERT, 2 layers: query, key, value, attention output 32+32; intermediate, output 32+64; the pooler 32+32.
BERT_RANK_COST = 2 * (4 * 64 + 2 * 96) + 64
# tiny Llama, 2 layers: q_proj, o_proj 32+32; k_proj, v_proj 32+16 (2 KV heads of 8); gate, up, down 32+64.
LLAMA_RANK_COST = 2 * (2 * 64 + 2 * 48 + 3 * 96)


@pytest.fixture
def tiny_llama_dir(tmp_path_factory) -> str:
    from tiny_decoders import save_tiny_decoder

    return save_tiny_decoder(tmp_path_factory.mktemp("tiny_llama"), "llama")


@pytest.mark.parametrize("model", ["bert", "llama"])
def test_lora_rank_budget_on_every_linear_layer_is_lora_at_that_rank_on_them(tmp_path, tiny_model_dir, model,
                                                                            request):
    model_dir, dataset, cost = ((tiny_model_dir, "sst2", BERT_RANK_COST) if model == "bert" else
                                (request.getfixturevalue("tiny_llama_dir"), "alpaca", LLAMA_RANK_COST))
    body = STUDY.format(dataset=dataset)
    groups = {g.label: g for g in plan_study(parse_study(write_study(tmp_path, body, model_dir)), StudyOptions()).groups}
    assert {g.budget for g in groups.values()} == {8 * cost}
    assert groups["lora"].settings["lora_r"] == 8 and groups["lora"].counts["adapter"] == 8 * cost
    for label in ("ba_lora", "ba_lora_spectrum"):  # exact spend, base rank (scaling, rank bounds) at 8
        assert groups[label].counts["adapter"] == 8 * cost and groups[label].settings["ba_lora_base_rank"] == 8
        assert groups[label].settings["lora_target_modules"] == ["all-linear"]
    assert groups["lora_ga"].counts["adapter"] == 8 * cost and groups["lora_ga"].settings["lora_r"] == 8
    assert groups["eva"].settings["lora_r"] == 8  # EVA's rank budget; it moves ranks between shapes as it runs
    assert groups["adalora"].settings["param_budget"] == 8 * cost
