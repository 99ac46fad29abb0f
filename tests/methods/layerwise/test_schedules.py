"""Layer-wise rank schedules on tiny 6- and 12-layer models, custom files, and budget matching."""

import json
import random

import pytest

from balora.counting import lora_parameter_count, target_module_shapes
from balora.errors import UserError
from balora.methods.layerwise.config import RankScheduleOptions
from balora.methods.layerwise.method import schedule_ranks
from balora.methods.layerwise.schedules import (
    attention_heavy_ranks,
    empirical_ranks,
    linear_decay_ranks,
    read_custom_ranks,
    rescale_to_budget,
)
from balora.modeling import ATTENTION_AND_FEED_FORWARD_MODULES, transformer_layers
from conftest import tiny_bert


def test_linear_decay_runs_from_rank_max_at_the_first_layer_to_rank_min_at_the_last():
    assert linear_decay_ranks(6, 16, 4) == [16, 14, 11, 9, 6, 4]
    ranks = linear_decay_ranks(12, 16, 4)
    assert ranks[0] == 16 and ranks[-1] == 4 and ranks == sorted(ranks, reverse=True)
    assert linear_decay_ranks(1, 16, 4) == [16]


def test_empirical_scales_early_middle_late_thirds():
    assert empirical_ranks(6, 8) == [5, 5, 10, 10, 8, 8]  # 8 x 0.6 = 4.8, 8 x 1.2 = 9.6
    assert empirical_ranks(12, 10) == [6] * 4 + [12] * 4 + [10] * 4


@pytest.mark.parametrize("layers", [6, 12])
@pytest.mark.parametrize("strategy", ["linear_decay", "attention_heavy", "empirical"])
def test_every_strategy_on_tiny_models(layers, strategy):
    model = tiny_bert(layers=layers)
    targets = ATTENTION_AND_FEED_FORWARD_MODULES["bert"] if strategy == "attention_heavy" else ["query", "value"]
    names = list(target_module_shapes(model, targets, exclude=["classifier"]))
    name, ranks = schedule_ranks(names, len(transformer_layers(model)[1]),
                                 RankScheduleOptions(rank_strategy=strategy), base_rank=8)
    assert name == strategy and set(ranks) == set(names)
    by_layer = {}
    for module, rank in ranks.items():
        by_layer.setdefault(int(module.split(".layer.")[1].split(".")[0]), set()).add(rank)
    if strategy == "linear_decay":
        assert [by_layer[i] for i in range(layers)] == [{r} for r in linear_decay_ranks(layers, 16, 4)]
    elif strategy == "empirical":
        assert [by_layer[i] for i in range(layers)] == [{r} for r in empirical_ranks(layers, 8)]
    else:
        for module, rank in ranks.items():
            is_attention = ".attention." in module
            assert rank == (16 if is_attention else 4), module
        assert all(by_layer[i] == {4, 16} for i in range(layers))


def test_attention_heavy_needs_feed_forward_targets():
    with pytest.raises(UserError, match="attention_heavy needs feed-forward modules"):
        attention_heavy_ranks(["bert.encoder.layer.0.attention.self.query"], 16, 4)


def write(tmp_path, content) -> str:
    path = tmp_path / "ranks.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_custom_file_gives_one_rank_per_layer(tmp_path):
    path = write(tmp_path, {"strategy_name": "bottom_heavy", "layer_ranks": [12, 8, 4, 0]})
    assert read_custom_ranks(path, 4) == ("bottom_heavy", [12, 8, 4, 0])


@pytest.mark.parametrize("content, message", [
    ({"strategy_name": "x", "layer_ranks": [8, 8, 8]}, "3 layer ranks for a model with 4 layers"),
    ({"strategy_name": "x"}, "needs"),
    ({"layer_ranks": [8, -1, 8, 8]}, "non-negative integers"),
    ({"layer_ranks": [8, 2.5, 8, 8]}, "non-negative integers"),
    ({"layer_ranks": [0, 0, 0, 0]}, "every layer rank is 0"),
    ("{not json", "not readable JSON"),
])
def test_custom_file_errors_are_one_clear_line(tmp_path, content, message):
    with pytest.raises(UserError, match=message) as err:
        read_custom_ranks(write(tmp_path, content), 4)
    assert "--rank_config" in str(err.value) and "\n" not in str(err.value)


def test_missing_custom_file_is_named(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        read_custom_ranks(tmp_path / "nope.json", 4)


def test_rescaled_schedules_never_exceed_the_budget_and_keep_their_shape():
    rng = random.Random(0)
    for _ in range(200):
        shapes = {f"layer.{i}.m{j}": (rng.choice([16, 32, 48]), rng.choice([16, 32, 64]))
                  for i in range(rng.randint(1, 6)) for j in range(rng.randint(1, 2))}
        ranks = {name: rng.randint(0, 16) for name in shapes}
        ranks[next(iter(shapes))] = max(1, ranks[next(iter(shapes))])
        kept = {n: s for n, s in shapes.items() if ranks[n]}
        floor = lora_parameter_count(kept, dict.fromkeys(kept, 1))
        budget = rng.randint(floor, 4 * floor)
        allocation = rescale_to_budget(shapes, ranks, budget)
        assert allocation.allocated == lora_parameter_count(shapes, allocation.ranks) <= budget
        assert all(allocation.ranks[n] == 0 for n in shapes if ranks[n] == 0)  # left-out modules stay out
        assert all(allocation.ranks[n] >= 1 for n in kept)


def test_rescaling_keeps_a_decaying_schedule_decaying():
    shapes = {f"encoder.layer.{i}.attention.self.query": (384, 384) for i in range(6)}
    ranks = dict(zip(shapes, linear_decay_ranks(6, 16, 4)))
    scaled = list(rescale_to_budget(shapes, ranks, 8 * 6 * 768).ranks.values())
    assert sum(scaled) == 48 and scaled == sorted(scaled, reverse=True) and scaled[0] > scaled[-1]
