"""DoRA's magnitudes count as adapter parameters, within a budget too."""

import pytest

from balora.config import TrainConfig
from balora.preparation import count_configuration
from balora.errors import ConfigError
from balora.methods import build_options
from helpers import reload_with_plain_peft, run_train

# Tiny BERT: 2 layers x query, value, each 32 x 32: a rank costs 4 x 64, the magnitudes 4 x 32.


def test_dora_counts_its_magnitudes_and_reloads_with_plain_peft(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="dora", epochs=1,
                        method_settings={"lora_r": 2})
    assert results.parameters.adapter == 2 * 4 * 64 + 4 * 32 == results.method_summary["allocated"]
    reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_model_dir)


def test_dora_takes_the_largest_rank_whose_adapter_fits_the_budget(tiny_model_dir):
    config = TrainConfig(experiment_name="count", peft_method="dora", model_name_or_path=tiny_model_dir)
    fits = count_configuration(config, build_options(param_budget=3 * 256 + 128), num_labels=2)
    assert fits.parameters.adapter == 3 * 256 + 128
    below = count_configuration(config, build_options(param_budget=3 * 256 + 127), num_labels=2)
    assert below.parameters.adapter == 2 * 256 + 128
    with pytest.raises(ConfigError, match="below what DoRA at rank 1 costs"):
        count_configuration(config, build_options(param_budget=383), num_labels=2)
