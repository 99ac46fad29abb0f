"""`balora count` agrees with what training reports, for every method."""

import re

import pytest

from balora.cli import main
from balora.config import TrainConfig
from balora.preparation import count_configuration
from balora.methods import METHODS, build_options
from balora.methods.zoo.presets import PRESETS_BY_NAME
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
# `peft` and its presets (peft with a config filled in): tests/methods/zoo/test_method.py trains and
# counts peft at a budget, tests/methods/test_matrix.py counts each preset.
COUNTED = sorted(name for name in METHODS if name not in PRESETS_BY_NAME and name != "peft")


def test_settings_name_registered_methods():
    assert set(SETTINGS) <= set(METHODS)


@pytest.mark.parametrize("method", COUNTED)
def test_count_agrees_with_the_trained_model(tmp_path, tiny_data_dir, tiny_model_dir, method):
    config = TrainConfig(experiment_name="count", peft_method=method, model_name_or_path=tiny_model_dir)
    settings = SETTINGS.get(method, {})
    counted = count_configuration(config, build_options(**settings), num_labels=2)
    trained = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method=method, epochs=1,
                        method_settings=settings)
    if method == "plateau_lora":  # counted: where it starts and the most it may grow to
        assert counted.parameters.adapter == trained.parameters.adapter
        assert counted.parameters.peak_adapter == trained.method_summary["max_adapter_parameters"]
    else:
        assert counted.parameters.as_dict() == trained.parameters.as_dict()
    if method in ("lora", "layerwise", "adalora"):
        assert counted.rank_pattern == trained.method_summary["rank_pattern"]


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
    assert counted.parameters.adapter == 2 * (4 * 64 + 2 * 96) + 64
    assert counted.parameters.head == 66


# --- a train command line, its ranges, and ranks a matrix cannot hold (issues 25 item 7, 32 items 8 and 10)

def test_count_takes_a_train_command_line_and_notes_what_it_ignores(tiny_model_dir, capsys):
    assert main(["count", "--experiment_name", "quick", "--dataset", "sst2", "--data_dir", "../shared/data",
                 "--model_name_or_path", tiny_model_dir, "--peft_method", "lora", "--lora_r", "8",
                 "--train_samples", "1000", "--epochs", "2", "--learning_rate", "2e-3", "--overwrite"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("note: --experiment_name, --data_dir, --train_samples, --epochs, --learning_rate, "
                          "--overwrite: training and data flags, accepted and ignored")
    assert "Adapter parameters:          2,048" in out


def test_rank_lines_name_the_module_of_each_rank(tiny_model_dir, capsys):
    assert main(["count", "--model_name_or_path", tiny_model_dir, "--lora_r", "4"]) == 0
    assert "  Layer 0: ranks [attention.self.query 4, attention.self.value 4]" in capsys.readouterr().out


@pytest.mark.parametrize("words, message", [
    (["--num_labels", "-3"], "--num_labels: must be a whole number >= 1 (got -3)"),
    (["--num_labels", "0"], "--num_labels: must be a whole number >= 1 (got 0)"),
    (["--max_trainable_parameters", "0"], "--max_trainable_parameters: must be a positive number (got 0)"),
    (["--max_trainable_parameters", "-5"], "--max_trainable_parameters: must be a positive number (got -5)"),
    (["--epochs", "0"], "--epochs: must be a positive number (got 0)"),
])
def test_out_of_range_numbers_are_one_line_and_nothing_else(tiny_model_dir, capfd, words, message):
    assert main(["count", "--model_name_or_path", tiny_model_dir, *words]) == 2
    captured = capfd.readouterr()
    assert captured.err == f"error: {message}\n" and captured.out == ""


def test_a_csv_counts_with_num_labels_and_no_columns(tiny_model_dir, capsys):
    assert main(["count", "--model_name_or_path", tiny_model_dir, "--dataset", "csv", "--num_labels", "3"]) == 0
    assert "(3 classes)" in capsys.readouterr().out


# each method that takes a rank, and a rank above the tiny BERT's matrices (32 x 32, 32 x 64)
RANKS_ABOVE = {"lora": {"lora_r": 33}, "pissa": {"lora_r": 33}, "dora": {"lora_r": 33}, "lora_ga": {"lora_r": 33},
               "eva": {"lora_r": 33}, "adalora": {"adalora_init_r": 33},
               "layerwise": {"rank_max": 33}, "plateau_lora": {"plateau_max_rank": 33}}


def test_every_method_with_a_rank_flag_is_checked():
    assert set(RANKS_ABOVE) == {m.name for m in METHODS.values() if m.rank_flags}


@pytest.mark.parametrize("method", sorted(RANKS_ABOVE))
def test_a_rank_above_the_smaller_side_of_a_target_matrix_is_refused(tiny_model_dir, method):
    from balora.errors import ConfigError

    (flag, rank), = RANKS_ABOVE[method].items()
    config = TrainConfig(experiment_name="count", peft_method=method, model_name_or_path=tiny_model_dir)
    with pytest.raises(ConfigError, match=f"^--{flag}: rank 33 is above 32, the smaller dimension .* use at most 32$"):
        count_configuration(config, build_options(**RANKS_ABOVE[method]), num_labels=2)
    count_configuration(config, build_options(**{flag: 32}), num_labels=2)  # the limit itself is fine


def test_count_refuses_lora_r_above_the_model_in_one_line(tiny_model_dir, capsys):
    assert main(["count", "--model_name_or_path", tiny_model_dir, "--lora_r", "100000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --lora_r: rank 100,000 is above 32") and "at most 32" in err


def test_train_refuses_a_rank_above_the_model_and_leaves_nothing(tmp_path, tiny_data_dir, tiny_model_dir):
    from balora.errors import ConfigError

    with pytest.raises(ConfigError, match="--lora_r: rank 64 is above 32"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1, method_settings={"lora_r": 64})
    assert not (tmp_path / "tiny").exists()


def test_a_refused_rank_leaves_an_overwritten_experiment_as_it_was(tmp_path, tiny_data_dir, tiny_model_dir):
    from balora.errors import ConfigError

    run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1, max_test_samples=8)
    before = (tmp_path / "tiny" / "results_final.json").read_text()
    with pytest.raises(ConfigError, match="--lora_r: rank 64 is above 32"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1, overwrite=True, method_settings={"lora_r": 64})
    assert (tmp_path / "tiny" / "results_final.json").read_text() == before


def test_count_shows_spectrum_ranks_per_module_on_every_linear_layer(tiny_model_dir, capsys):
    # Counting reads no data: the pattern is at equal importance, the total exact (uniform r=8 on all 13 matrices).
    assert main(["count", "--model_name_or_path", tiny_model_dir, "--peft_method", "ba_lora",
                 "--ba_lora_importance", "spectrum", "--lora_target_modules", "all-linear"]) == 0
    out = capsys.readouterr().out
    layers = re.findall(r"Layer (\d): ranks \[(.*)\]", out)
    assert [layer for layer, _ in layers] == ["0", "1"]
    for _, ranks in layers:  # six named modules a layer, each at rank 8
        entries = ranks.split(", ")
        assert len(entries) == 6 and all(entry.endswith(" 8") and " " in entry for entry in entries), ranks
    assert f"Adapter parameters:   {8 * 960:>12,}" in out
