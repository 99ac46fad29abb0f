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


def test_eva_on_every_linear_layer_takes_the_pooler_one_row_per_example(tmp_path, tiny_data_dir, tiny_model_dir):
    # BERT's pooler sees only the first token: a (batch, hidden) input, which PEFT's token selection
    # flattened to one dimension ("not enough values to unpack" in the ba_lora_v2 study). Batches of 2
    # are fewer rows than its 4 components (rho 2 x r 2): EVA's own batches must be larger, or its
    # SVD never starts and PEFT cycles forever.
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="eva", epochs=1, batch_size=2,
                        method_settings={"lora_r": 2, "eva_samples": 32, "lora_target_modules": ["all-linear"]})
    ranks = results.method_summary["rank_pattern"]
    assert any("pooler" in name for name in ranks) and sum(ranks.values()) == results.method_summary["rank_budget"]
