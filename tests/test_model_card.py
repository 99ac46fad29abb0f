"""Every saved model folder carries a Hub model card that huggingface_hub reads back."""

import shlex

from huggingface_hub import ModelCard

from balora.model_card import hub_name, train_command
from helpers import run_train


def test_a_saved_adapter_carries_a_hub_model_card(tmp_path, tiny_data_dir, tiny_model_dir):
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1, method_settings={"lora_r": 4})
    card = ModelCard.load(tmp_path / "tiny" / "model_checkpoint" / "README.md")
    assert card.data.base_model == tiny_model_dir and card.data.library_name == "peft"
    assert {"balora", "lora", "classification", "peft"} <= set(card.data.tags)
    assert card.data.datasets == ["nyu-mll/glue"]
    (result,) = card.data.eval_results
    assert result.metric_type == "accuracy" and result.metric_value == results.metrics["test"]["accuracy"]
    assert "| r | 4 |" in card.text and f"{results.parameters.trainable:,}" in card.text
    command = card.text.split("```\n")[1].splitlines()[0]
    words = shlex.split(command)
    assert words[:2] == ["balora", "train"] and "--lora_r" in words and words[words.index("--lora_r") + 1] == "4"
    assert "--peft_method" not in words  # lora is the default: only settings that differ from it are written


def test_the_command_names_only_settings_that_differ_from_their_defaults():
    settings = {"experiment_name": "x", "dataset": "alpaca", "epochs": 3, "train_on_prompt": True,
                "lora_target_modules": ["q_proj", "v_proj"], "max_test_samples": None, "resume": False}
    assert train_command(settings, "lora") == ("balora train --experiment_name x --dataset alpaca --train_on_prompt "
                                               "--lora_target_modules q_proj v_proj")


def test_packaged_models_are_named_by_their_hub_ids():
    assert hub_name("SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert hub_name("/some/folder") == "/some/folder"
