"""PiSSA trains on a changed base and saves a plain LoRA adapter for the original one."""

import json

import pytest

from helpers import reload_with_plain_peft, run_train


def test_pissa_saves_a_plain_lora_adapter_that_reloads_on_the_original_base(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="pissa", epochs=1,
                        method_settings={"lora_r": 4})
    assert results.parameters.adapter == 2 * 2 * 4 * (32 + 32)  # 2 layers x query, value at rank 4
    saved = json.loads((tmp_path / "tiny" / "model_checkpoint" / "adapter_config.json").read_text())
    assert saved["r"] == 8 and saved["init_lora_weights"] is True  # trained minus initial: plain LoRA
    reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_model_dir)


def test_fast_pissa_runs_the_randomised_svd(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="pissa", epochs=1,
                        method_settings={"lora_r": 2, "pissa_niter": 2})
    assert results.method_summary["init_lora_weights"] == "pissa_niter_2"
    reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_model_dir)


def test_an_interrupted_pissa_run_resumes_and_still_saves_a_plain_adapter(tmp_path, tiny_data_dir, tiny_model_dir,
                                                                          monkeypatch):
    from helpers import interrupt_then_resume

    straight = run_train(tmp_path / "straight", tiny_data_dir, tiny_model_dir, peft_method="pissa", epochs=2,
                         method_settings={"lora_r": 2})
    resumed = interrupt_then_resume(monkeypatch, 1.2, tmp_path / "resumed", tiny_data_dir, tiny_model_dir,
                                    peft_method="pissa", epochs=2, method_settings={"lora_r": 2})
    assert resumed.metrics["validation"]["loss"] == pytest.approx(straight.metrics["validation"]["loss"])
    reload_with_plain_peft(tmp_path / "resumed" / "tiny", tiny_data_dir, tiny_model_dir)
