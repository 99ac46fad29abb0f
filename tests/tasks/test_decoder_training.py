"""Every method fine-tunes tiny Llama and GPT-2 decoders as language models and as classifiers."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from balora.config import TrainConfig
from balora.preparation import count_configuration
from balora.methods import METHODS as REGISTERED
from balora.methods import build_options
from helpers import run_train

METHODS = {
    "full": {},
    "partial": {"freeze_layers": 1},
    "lora": {},
    "lora_all_linear": {"lora_target_modules": ["all-linear"]},
    "ba_lora": {},
    "ba_lora_spectrum_all_linear": {"lora_target_modules": ["all-linear"], "ba_lora_importance": "spectrum",
                                    "ba_lora_use_warmstart": True, "ba_lora_warmstart_basis": "gradient",
                                    "ba_lora_gradient_batch_size": 5},
    "adalora": {"adalora_init_r": 4, "adalora_target_r": 2},
    "linear_decay": {"rank_strategy": "linear_decay"},
    "attention_heavy": {"rank_strategy": "attention_heavy"},
    "empirical": {"rank_strategy": "empirical"},
    "custom": {"rank_strategy": "custom"},
    "plateau_lora": {},
    "pissa": {"pissa_niter": 2},
    "lora_ga": {"lora_ga_gradient_samples": 8},
    "eva": {"eva_samples": 8},
    "dora": {},
    # any PEFT config: the presets are this method with a config filled in (tests/methods/test_matrix.py
    # runs each of them on BERT, and vera, loha and oft on a tiny Llama)
    "peft": {"peft_config": {"peft_type": "VERA", "r": 8}},  # VeRA: PEFT adapts GPT-2's Conv1D with it
}


def method_of(label: str) -> str:
    if label in ("linear_decay", "attention_heavy", "empirical", "custom"):
        return "layerwise"
    if label.startswith("ba_lora"):
        return "ba_lora"
    return "lora" if label == "lora_all_linear" else label


def test_the_matrix_covers_every_registered_method():
    from balora.methods.zoo.presets import PRESETS_BY_NAME

    assert {method_of(label) for label in METHODS} == set(REGISTERED) - set(PRESETS_BY_NAME)


@pytest.mark.parametrize("label", list(METHODS))
def test_every_method_instruction_tunes_a_decoder(tmp_path, pairs_data_dir, tiny_chat_decoder_dir, label):
    settings = dict(METHODS[label])
    if label == "custom":
        schedule = tmp_path / "ranks.json"
        schedule.write_text(json.dumps({"strategy_name": "two", "layer_ranks": [4, 2]}))
        settings["rank_config"] = str(schedule)
    results = run_train(tmp_path, pairs_data_dir, tiny_chat_decoder_dir, dataset="alpaca", train_samples=24,
                        max_length=48, peft_method=method_of(label), method_settings=settings)
    assert results.task == "causal_lm" and results.headline_metric == "perplexity"
    validation, untuned = results.metrics["validation"], results.metrics["untuned"]["validation"]
    assert math.isfinite(validation["perplexity"]) and math.isfinite(results.metrics["test"]["perplexity"])
    assert validation["perplexity"] < untuned["perplexity"]  # 2 epochs at 5e-3 learn the 4-word answers
    assert results.parameters.head == 0 and results.parameters.trainable > 0
    saved = tmp_path / "tiny" / "model_checkpoint"
    assert (saved / "adapter_config.json").exists() != (label in ("full", "partial"))
    if label not in ("adalora", "plateau_lora"):  # these two keep / grow to other counts than they start with
        counted = count_configuration(TrainConfig(experiment_name="count", model_name_or_path=tiny_chat_decoder_dir,
                                                  peft_method=method_of(label)), build_options(**settings), None)
        if label == "eva":  # EVA moves ranks between modules of different shapes; both counts are recorded
            assert counted.parameters.adapter == results.method_summary["requested_parameters"]
            assert results.parameters.adapter == results.method_summary["allocated"]
        else:
            assert counted.parameters.adapter == results.parameters.adapter  # `balora count` agrees
            assert counted.parameters.trainable == results.parameters.trainable


def test_the_kept_checkpoint_has_the_lowest_validation_perplexity(tmp_path, pairs_data_dir, tiny_chat_decoder_dir):
    results = run_train(tmp_path, pairs_data_dir, tiny_chat_decoder_dir, dataset="alpaca", train_samples=24,
                        max_length=48, epochs=3)
    evals = [json.loads(line) for line in (tmp_path / "tiny" / "metrics.jsonl").read_text().splitlines()]
    perplexities = [e["perplexity"] for e in evals if e["type"] == "eval"]
    assert results.metrics["validation"]["perplexity"] == min(perplexities)


def test_lora_adapter_reloads_in_plain_peft_as_a_causal_lm(tmp_path, pairs_data_dir, tiny_chat_decoder_dir):
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    run_train(tmp_path, pairs_data_dir, tiny_chat_decoder_dir, dataset="alpaca", train_samples=24, max_length=48,
              method_settings={"lora_target_modules": ["all-linear"]})
    checkpoint = tmp_path / "tiny" / "model_checkpoint"
    config = json.loads((checkpoint / "adapter_config.json").read_text())
    assert config["task_type"] == "CAUSAL_LM"
    assert config["base_model_name_or_path"] == tiny_chat_decoder_dir
    assert not any("lm_head" in name for name in config["target_modules"])
    reloaded = AutoPeftModelForCausalLM.from_pretrained(checkpoint)
    base = AutoModelForCausalLM.from_pretrained(tiny_chat_decoder_dir)
    ids = torch.tensor([[3, 8, 9, 12]])
    with torch.no_grad():
        assert not torch.allclose(reloaded(input_ids=ids).logits, base(input_ids=ids).logits)


def test_summarisation_reports_rouge_and_saves_generations(tmp_path, pairs_data_dir, tiny_chat_decoder_dir,
                                                          monkeypatch):
    from balora.tasks.language import GenerationTask

    generated = {}  # description -> the generations of that pass (untuned, then the tuned model's)
    original = GenerationTask.generations

    def recording(self, model, inputs, description):
        generated[description] = original(self, model, inputs, description)
        return generated[description]

    monkeypatch.setattr(GenerationTask, "generations", recording)
    results = run_train(tmp_path, pairs_data_dir, tiny_chat_decoder_dir, dataset="samsum", max_length=128,
                        max_new_tokens=6, max_test_samples=4)
    test, untuned = results.metrics["test"], results.metrics["untuned"]["test"]
    assert results.task == "generation"
    assert test["perplexity"] > 1
    rows = [json.loads(line) for line in (tmp_path / "tiny" / "test_generations.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and set(rows[0]) == {"index", "reference", "generation"}
    assert rows[0]["reference"].startswith("the ")
    # the reported ROUGE is that of the saved generations, as fractions (not percent); the untuned
    # model's is that of its own generations on the same references (a range check could not fail:
    # an untrained tiny decoder scores 0)
    from balora.tasks.language_metrics import rouge_metrics

    references = [r["reference"] for r in rows]
    assert [r["generation"] for r in rows] == generated["Generating"]
    rescored = rouge_metrics(generated["Generating"], references)
    untuned_rescored = rouge_metrics(generated["Generating (untuned)"], references)
    for name in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        assert test[name] == pytest.approx(rescored[name])
        assert untuned[name] == pytest.approx(untuned_rescored[name])


@pytest.mark.parametrize("label", ["lora_all_linear", "partial", "ba_lora"])
def test_a_decoder_classifies_with_a_pad_token_from_eos(tmp_path, tiny_data_dir, tiny_decoder_dir, label):
    results = run_train(tmp_path, tiny_data_dir, tiny_decoder_dir, peft_method=method_of(label),
                        method_settings=METHODS[label])
    assert set(results.metrics["test"]["per_class"]) == {"negative", "positive"}
    assert results.parameters.head > 0  # the new score head


def test_decoder_classifier_reads_the_last_real_token_of_a_padded_row(tiny_decoder_dir):
    from balora.modeling import load_classifier, load_tokenizer

    tokenizer = load_tokenizer(tiny_decoder_dir)
    assert tokenizer.pad_token == tokenizer.eos_token
    model = load_classifier(tiny_decoder_dir, 2, seed=0).model.eval()
    assert model.config.pad_token_id == tokenizer.eos_token_id
    texts = ["the movie was good", "bad"]
    with torch.no_grad():
        batch = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
        alone = model(**tokenizer(texts[1:], return_tensors="pt")).logits
    torch.testing.assert_close(batch[1:], alone)


def test_decoder_classifier_lora_reloads_in_plain_peft_with_identical_predictions(tmp_path, tiny_data_dir,
                                                                                   tiny_decoder_dir):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from balora.data import get_dataset_spec, load_task_data

    run_train(tmp_path, tiny_data_dir, tiny_decoder_dir, method_settings={"lora_target_modules": ["all-linear"]})
    checkpoint = tmp_path / "tiny" / "model_checkpoint"
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    base = AutoModelForSequenceClassification.from_pretrained(tiny_decoder_dir, num_labels=2,
                                                              pad_token_id=tokenizer.pad_token_id)
    model = PeftModel.from_pretrained(base, checkpoint).eval()
    texts = load_task_data(get_dataset_spec("sst2"), str(tiny_data_dir)).splits["test"]["text"].tolist()
    with torch.no_grad():
        logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.numpy()
    saved = pd.read_csv(tmp_path / "tiny" / "test_predictions.csv")
    assert (logits.argmax(-1) == saved["prediction"].to_numpy()).all()
    np.testing.assert_allclose(logits, saved[["logit_0", "logit_1"]].to_numpy(), atol=1e-5)


def test_without_a_model_prompt_response_data_gets_the_packaged_decoder(tmp_path, pairs_data_dir,
                                                                        tiny_chat_decoder_dir, monkeypatch):
    import balora.run_inputs
    from balora.config import DEFAULT_MODEL
    from balora.packaged_models import SMOLLM2, packaged_default

    assert (packaged_default(True), packaged_default(False)) == (SMOLLM2, DEFAULT_MODEL)
    picked = []  # stand the tiny decoder in for SmolLM2, and record which default was asked for
    monkeypatch.setattr(balora.run_inputs, "packaged_default",
                        lambda text_to_text: picked.append(text_to_text) or tiny_chat_decoder_dir)
    results = run_train(tmp_path, pairs_data_dir, None, dataset="alpaca", train_samples=8, max_length=48, epochs=1)
    assert picked == [True] and results.model_name_or_path == tiny_chat_decoder_dir


def test_an_encoder_for_a_causal_lm_task_is_one_line_error(tmp_path, pairs_data_dir, tiny_model_dir):
    from balora.errors import UserError

    with pytest.raises(UserError, match="no end-of-sequence token.*needs a decoder"):
        run_train(tmp_path, pairs_data_dir, tiny_model_dir, dataset="alpaca", train_samples=8, max_length=48)
    assert not (tmp_path / "tiny").exists()  # refused before anything was written
