"""plateau_lora through the whole pipeline on the tiny model."""

import json

from helpers import interrupt_then_resume, reload_with_plain_peft, run_train

# Checking every 2 steps with patience 1 on a task the tiny model barely moves on: it grows.
GROWING = {"plateau_patience": 1, "plateau_initial_rank": 2, "plateau_max_rank": 6}


def test_rank_grows_on_plateau_is_recorded_and_reloads_with_plain_peft(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="plateau_lora", epochs=3, eval_steps=2,
                        method_settings=GROWING)
    growths = [json.loads(line) for line in (tmp_path / "tiny" / "rank_growth.jsonl").read_text().splitlines()]
    assert [(g["old_rank"], g["new_rank"]) for g in growths] == [(2, 4), (4, 6)]
    assert all(g["step"] % 2 == 0 and g["adapter_parameters"] == g["new_rank"] * 4 * 64 for g in growths)
    assert results.method_summary["growths"] == growths
    final_rank = results.method_summary["final_rank"]
    assert results.parameters.adapter == final_rank * 4 * 64
    assert results.parameters.peak_adapter == 6 * 4 * 64
    model = reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_model_dir)
    assert {layer.r["default"] for layer in model.modules() if hasattr(layer, "lora_A") and
            isinstance(getattr(layer, "r", None), dict)} == {final_rank}


def test_without_a_plateau_the_rank_stays(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="plateau_lora", epochs=1, eval_steps=1000)
    assert results.method_summary["growths"] == []
    assert results.parameters.adapter == results.parameters.peak_adapter == 2 * 4 * 64


def test_interrupted_run_resumes_at_the_rank_it_had_reached(tmp_path, tiny_data_dir, tiny_model_dir, monkeypatch):
    straight = run_train(tmp_path / "straight", tiny_data_dir, tiny_model_dir, peft_method="plateau_lora",
                         epochs=3, eval_steps=2, method_settings=GROWING)
    resumed = interrupt_then_resume(monkeypatch, 1.5, tmp_path / "resumed", tiny_data_dir, tiny_model_dir,
                                    peft_method="plateau_lora", epochs=3, eval_steps=2,
                                    method_settings=GROWING)
    assert resumed.method_summary["growths"] == straight.method_summary["growths"]
    assert resumed.parameters == straight.parameters
