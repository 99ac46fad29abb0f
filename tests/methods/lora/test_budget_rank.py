"""LoRA, PiSSA and LoRA-GA take --param_budget through their rank: exactly, or refused with the nearest ranks."""

import pytest

from balora.cli import main
from balora.errors import ConfigError
from balora.methods.lora.budget_rank import exact_rank

SHAPES = {"q": (32, 32), "v": (32, 32)}  # rank 1 costs 2 * 64 = 128


def test_a_budget_that_is_a_whole_number_of_ranks_gives_that_rank():
    assert exact_rank(SHAPES, 128 * 5) == 5


@pytest.mark.parametrize("budget, message", [
    (700, "700 is not what a uniform rank costs on these targets (128 per rank; rank 5: 640, rank 6: 768)"),
    (100, "(128 per rank; rank 1: 128)"),
])
def test_any_other_budget_is_refused_with_the_nearest_ranks(budget, message):
    with pytest.raises(ConfigError, match="param_budget") as err:
        exact_rank(SHAPES, budget)
    assert message in str(err.value)


@pytest.mark.parametrize("method", ["lora", "pissa", "lora_ga"])
def test_count_spends_the_budget_through_the_rank(capsys, tiny_model_dir, method):
    # the tiny BERT: query and value, 32 x 32, two layers: 256 per rank
    assert main(["count", "--model_name_or_path", tiny_model_dir, "--peft_method", method,
                 "--param_budget", "768"]) == 0
    assert "768" in capsys.readouterr().out
    assert main(["count", "--model_name_or_path", tiny_model_dir, "--peft_method", method,
                 "--param_budget", "700"]) == 2
    assert "rank 2: 512, rank 3: 768" in capsys.readouterr().err
