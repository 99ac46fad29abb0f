"""`balora count` agrees with what training reports, for every method."""

import pytest

from balora.cli import main
from balora.config import TrainConfig
from balora.count import count_configuration
from balora.methods import METHODS, build_options
from helpers import run_train

# Settings that keep the tiny runs small; every other method counts at its defaults.
SETTINGS = {
    "partial": {"freeze_layers": 1}, "lora": {"lora_r": 4},
    "ba_lora": {"param_budget": 1100, "ba_lora_gradient_samples": 16},
    "adalora": {"adalora_init_r": 6, "adalora_target_r": 2},
    "layerwise": {"rank_strategy": "linear_decay", "param_budget": 1100},
    "plateau_lora": {"plateau_max_rank": 6}, "lora_ga": {"lora_ga_gradient_samples": 16},
    "eva": {"eva_samples": 32},
}


def test_settings_name_registered_methods():
    assert set(SETTINGS) <= set(METHODS)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_count_agrees_with_the_trained_model(tmp_path, tiny_data_dir, tiny_model_dir, method):
    config = TrainConfig(experiment_name="count", peft_method=method, model_name_or_path=tiny_model_dir)
    settings = SETTINGS.get(method, {})
    counted = count_configuration(config, build_options(**settings), num_labels=2)
    trained = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method=method, epochs=1,
                        method_settings=settings)
    if method == "plateau_lora":  # counted: where it starts and the most it may grow to
        assert counted["parameters"]["adapter"] == trained["parameters"]["adapter"]
        assert counted["parameters"]["peak_adapter"] == trained["method_summary"]["max_adapter_parameters"]
    else:
        assert counted["parameters"] == trained["parameters"]
    if method in ("lora", "layerwise", "adalora"):
        assert counted["rank_pattern"] == trained["method_summary"]["rank_pattern"]


def test_count_command_prints_counts_and_ranks(tiny_model_dir, capsys):
    assert main(["count", "--model_name_or_path", tiny_model_dir, "--peft_method", "ba_lora",
                 "--param_budget", "1100"]) == 0
    out = capsys.readouterr().out
    assert "Layer 0: ranks [" in out and "Adapter parameters:" in out and "1,088" in out


def test_count_refuses_an_impossible_budget_with_one_line(tiny_model_dir, capsys):
    assert main(["count", "--model_name_or_path", tiny_model_dir, "--peft_method", "ba_lora",
                 "--param_budget", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "below the minimum any assignment needs" in err


def test_count_shows_the_trainable_cap_and_refuses_above_it(tiny_model_dir, capsys):
    # LoRA r=8 on query and value of the tiny BERT: 2,048 adapter + 66 head = 2,114 trainable.
    assert main(["count", "--model_name_or_path", tiny_model_dir, "--max_trainable_parameters", "2114"]) == 0
    out = capsys.readouterr().out
    assert "2,114 trainable (adapter 2,048 + head 66), within the cap of 2,114" in out
    assert main(["count", "--model_name_or_path", tiny_model_dir, "--max_trainable_parameters", "2113"]) == 2
    captured = capsys.readouterr()
    assert "ABOVE the cap of 2,113" in captured.out
    assert captured.err.count("\n") == 1 and "2,114 trainable (adapter 2,048 + head 66), ABOVE the cap" in captured.err


def test_all_linear_targets_every_linear_layer_but_the_head(tiny_model_dir):
    config = TrainConfig(experiment_name="count", model_name_or_path=tiny_model_dir)
    counted = count_configuration(config, build_options(lora_target_modules=["all-linear"], lora_r=1), num_labels=2)
    # Per layer: query, key, value, attention output (32x32: 64 each), intermediate and output (32<->64: 96
    # each); plus the pooler (32x32). The classifier is the head, trained whole and not adapted.
    assert counted["parameters"]["adapter"] == 2 * (4 * 64 + 2 * 96) + 64
    assert counted["parameters"]["head"] == 66


def test_count_shows_spectrum_ranks_per_module_on_every_linear_layer(tiny_model_dir, capsys):
    # Counting reads no data: the pattern is at equal importance, the total exact (uniform r=8 on all 13 matrices).
    assert main(["count", "--model_name_or_path", tiny_model_dir, "--peft_method", "ba_lora",
                 "--ba_lora_importance", "spectrum", "--lora_target_modules", "all-linear"]) == 0
    out = capsys.readouterr().out
    assert "Layer 0: ranks [8, 8, 8, 8, 8, 8]" in out and "Layer 1: ranks [8, 8, 8, 8, 8, 8]" in out
    assert f"Adapter parameters:   {8 * 960:>12,}" in out
