"""LoRA-GA starts from gradient directions and saves a plain LoRA adapter for the original base."""

import json

from helpers import reload_with_plain_peft, run_train


def test_lora_ga_saves_a_plain_lora_adapter_that_reloads_on_the_original_base(tmp_path, tiny_data_dir,
                                                                                tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="lora_ga", epochs=1,
                        method_settings={"lora_r": 4, "lora_ga_gradient_samples": 16})
    assert results.parameters.adapter == 2 * 2 * 4 * (32 + 32)
    summary = results.method_summary
    assert summary["gradient_samples"] == 16 and summary["saved_rank"] == 8
    assert "gradient_seconds" in results.timing.phases
    saved = json.loads((tmp_path / "tiny" / "model_checkpoint" / "adapter_config.json").read_text())
    assert saved["r"] == 8 and saved["init_lora_weights"] is True
    reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_model_dir)
