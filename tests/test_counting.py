import pytest

from balora.counting import count_parameters, lora_parameter_count, module_matches, target_module_shapes
from conftest import tiny_bert


def test_lora_count_is_rank_times_in_plus_out():
    shapes = {"a": (32, 32), "b": (32, 64)}
    assert lora_parameter_count(shapes, {"a": 4, "b": 2}) == 4 * 64 + 2 * 96
    assert lora_parameter_count(shapes, {"a": 4}) == 4 * 64


def test_module_matching_follows_peft_suffix_rule():
    assert module_matches("bert.encoder.layer.0.attention.self.query", ["query"])
    assert not module_matches("bert.encoder.layer.0.attention.self.query_extra", ["query"])


def test_target_shapes_skip_the_head():
    model = tiny_bert()
    shapes = target_module_shapes(model, ["query", "value", "dense"], exclude=["classifier"])
    assert all(not name.startswith("classifier") for name in shapes)
    assert shapes["bert.encoder.layer.0.intermediate.dense"] == (32, 64)
    assert len(shapes) == 2 * (2 + 3) + 1  # q, v, 3 dense per layer, pooler.dense


@pytest.mark.parametrize("rank", [1, 4])
def test_count_of_a_peft_model_splits_adapter_and_head(rank):
    from peft import LoraConfig, get_peft_model

    model = tiny_bert()
    total_before = sum(p.numel() for p in model.parameters())
    peft_model = get_peft_model(model, LoraConfig(r=rank, target_modules=["query", "value"],
                                                  modules_to_save=["classifier"]))
    counts = count_parameters(peft_model, ["classifier"])
    assert counts.adapter == rank * 64 * 4
    assert counts.head == 66
    assert counts.total == total_before + counts.adapter
    assert counts.trainable == counts.adapter + counts.head


def test_count_of_full_fine_tuning():
    model = tiny_bert()
    counts = count_parameters(model, ["classifier"])
    assert counts.trainable == counts.total and counts.head == 66
