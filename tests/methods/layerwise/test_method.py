"""layerwise through the whole pipeline on the tiny model."""

import json

import pytest

from balora.errors import UserError
from helpers import reload_with_plain_peft, run_train


def test_budget_matched_schedule_trains_and_reloads_with_plain_peft(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="layerwise",
                        method_settings={"rank_strategy": "linear_decay", "param_budget": 1100})
    summary = results.method_summary
    assert summary["scheduled_parameters"] == 2 * (16 + 4) * 64  # 2 layers x (query, value), 64 per rank
    assert results.parameters.adapter == summary["allocated"] == 1088  # 17 ranks of 64, the most <= 1100
    first, last = (summary["rank_pattern"][f"bert.encoder.layer.{i}.attention.self.query"] for i in (0, 1))
    assert first > last
    model = reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_model_dir)
    modules = dict(model.base_model.model.named_modules())
    assert {name: modules[name].r["default"] for name in summary["rank_pattern"]} == summary["rank_pattern"]


def test_custom_schedule_with_a_wrong_layer_count_fails_before_any_folder(tmp_path, tiny_data_dir, tiny_model_dir):
    rank_file = tmp_path / "ranks.json"
    rank_file.write_text(json.dumps({"strategy_name": "mine", "layer_ranks": [8, 4, 2]}))
    with pytest.raises(UserError, match="3 layer ranks for a model with 2 layers"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="layerwise",
                  method_settings={"rank_strategy": "custom", "rank_config": str(rank_file)})
    assert not (tmp_path / "tiny").exists()


def test_attention_heavy_defaults_to_attention_and_feed_forward_modules(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="layerwise", epochs=1,
                        method_settings={"rank_strategy": "attention_heavy"})
    pattern = results.method_summary["rank_pattern"]
    assert len(pattern) == 12  # per layer: query, key, value, attention output, intermediate, output
    assert {rank for name, rank in pattern.items() if ".attention." in name} == {16}
    assert {rank for name, rank in pattern.items() if ".attention." not in name} == {4}
