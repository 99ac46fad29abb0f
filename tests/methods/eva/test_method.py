"""EVA redistributes a rank budget from activation SVDs and saves a plain LoRA adapter."""

from helpers import reload_with_plain_peft, run_train


def test_eva_spends_its_rank_budget_and_reloads_with_plain_peft(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="eva", epochs=1,
                        method_settings={"lora_r": 2, "eva_rho": 2.0, "eva_samples": 32})
    summary = results.method_summary
    ranks = summary["rank_pattern"]
    assert sum(ranks.values()) == summary["rank_budget"] == 2 * 4  # 2 layers x query, value at rank 2 on average
    assert max(ranks.values()) <= 4  # rho 2
    # every target is 32 x 32 here, so the rank budget is the parameter budget exactly
    assert results.parameters.adapter == summary["allocated"] == summary["requested_parameters"] == 8 * 64
    reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_model_dir)
