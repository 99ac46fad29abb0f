"""Quantized bases: flag validation, clear errors, size accounting and a real tiny nf4 training run."""

from __future__ import annotations

import pytest

from balora.cli import main
from balora.errors import ConfigError, UserError
from balora.quantization import QuantizationOptions

from helpers import reload_with_plain_peft, run_train


@pytest.mark.parametrize("settings, field", [
    ({"quantization": "nf5"}, "quantization"),
    ({"quantization": "nf4", "bnb_4bit_compute_dtype": "int4"}, "bnb_4bit_compute_dtype"),
    ({"quantization": "int8", "bnb_4bit_use_double_quant": True}, "bnb_4bit_use_double_quant"),
    ({"quantization": "int8", "bnb_4bit_compute_dtype": "bfloat16"}, "bnb_4bit_compute_dtype"),
    ({"prepare_kbit_training": True}, "prepare_kbit_training"),
])
def test_bad_quantization_settings_name_their_flag(settings, field):
    with pytest.raises(ConfigError) as err:
        QuantizationOptions(**settings)
    assert err.value.field == field


def test_full_fine_tuning_on_a_quantized_base_is_one_clear_error(capsys, tmp_path):
    code = main(["train", "--experiment_name", "x", "--peft_method", "full", "--quantization", "nf4",
                 "--results_dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --quantization does not apply to --peft_method full") and "\n" not in err
    assert not any(tmp_path.iterdir())


def test_missing_bitsandbytes_is_one_clear_line(monkeypatch):
    import balora.quantization as quantization

    def missing():
        raise ImportError("No module named 'bitsandbytes'")

    monkeypatch.setattr(quantization, "_import_bitsandbytes", missing)
    with pytest.raises(UserError, match=r"--quantization nf4 needs bitsandbytes>=0\.47 .*No module named"):
        quantization.loading_kwargs(QuantizationOptions(quantization="nf4"), "cpu")


def test_no_quantization_loads_as_before():
    assert QuantizationOptions().quantized is False
    from balora.quantization import loading_kwargs

    assert loading_kwargs(QuantizationOptions(), "cpu") == {}


@pytest.mark.parametrize("quantization", ["nf4", "int8"])
def test_quantized_base_is_smaller_counts_the_same_weights_and_keeps_the_head(tiny_quantizable_model_dir, quantization):
    bnb = pytest.importorskip("bitsandbytes", reason="pip install 'balora[quant]'")
    from torch import nn

    from balora.counting import count_parameters
    from balora.memory.accounting import model_bytes
    from balora.modeling import load_classifier

    full = load_classifier(tiny_quantizable_model_dir, 2, seed=0)
    quantized = load_classifier(tiny_quantizable_model_dir, 2, seed=0,
                                quantization=QuantizationOptions(quantization=quantization))
    linears = {n: m for n, m in full.model.named_modules() if isinstance(m, nn.Linear) and not n.startswith("classifier")}
    weights = sum(m.weight.numel() for m in linears.values())
    # every base linear weight: 4 bytes -> 1/2 byte (nf4) or 1 byte (int8), plus its scales
    per_weight = {"nf4": 0.5, "int8": 1.0}[quantization]
    saved = model_bytes(full.model) - model_bytes(quantized.model)
    scales = {"nf4": weights / 64 * 4 + len(linears) * 16 * 4, "int8": sum(m.out_features for m in linears.values()) * 4}
    assert saved == pytest.approx(weights * (4 - per_weight) - scales[quantization], rel=0.01)
    assert count_parameters(quantized.model, []).total == count_parameters(full.model, []).total
    layer = {"nf4": bnb.nn.Linear4bit, "int8": bnb.nn.Linear8bitLt}[quantization]
    assert isinstance(quantized.model.bert.encoder.layer[0].attention.self.query, layer)
    assert type(quantized.model.classifier) is nn.Linear  # the trained head stays in full precision
    assert quantized.model.bert.embeddings.word_embeddings.weight.dtype.is_floating_point
    # what BA-LoRA's sensitivity reads: W de-quantised, close to the original (int8 moves its scales
    # from the weight to the layer at the first forward, so both places are read)
    import torch

    from balora.quantization import full_precision_weight

    original = full.model.bert.encoder.layer[0].attention.self.query.weight
    query = quantized.model.bert.encoder.layer[0].attention.self.query
    for _ in range(2):
        error = (full_precision_weight(query) - original).norm() / original.norm()
        assert error < {"nf4": 0.15, "int8": 0.02}[quantization]
        quantized.model(input_ids=torch.tensor([[101, 2000, 102]]))


def test_a_tiny_nf4_run_trains_records_its_memory_and_reloads_on_a_plain_4bit_base(
        tmp_path, tiny_data_dir, tiny_quantizable_model_dir):
    pytest.importorskip("bitsandbytes", reason="pip install 'balora[quant]'")
    import torch
    from transformers import BitsAndBytesConfig

    results = run_train(tmp_path, tiny_data_dir, tiny_quantizable_model_dir, epochs=2,
                        method_settings={"quantization": "nf4", "lora_r": 4})
    full = run_train(tmp_path, tiny_data_dir, tiny_quantizable_model_dir, epochs=1, experiment_name="fp32",
                     method_settings={"lora_r": 4})
    memory = results.memory
    assert memory.quantization == "nf4" and memory.base_model_bytes < full.memory.base_model_bytes
    checkpoint = tmp_path / "tiny" / "model_checkpoint"
    assert memory.adapter_bytes == (checkpoint / "adapter_model.safetensors").stat().st_size
    assert memory.adapter_bytes == full.memory.adapter_bytes  # same adapter, same size
    assert memory.trainable_parameters == results.parameters.trainable
    assert memory.peak_measure == "cpu_anonymous_resident_peak_above_start"
    # training held at least the trainable weights' gradients and two AdamW moments (fp32) above
    # the start; ">= 0" could not fail, since the measure is clamped at 0
    assert memory.peak_training_bytes >= 3 * 4 * memory.trainable_parameters > 0
    # The saved adapter needs nothing of balora: plain transformers + bitsandbytes + PEFT. The same
    # predictions; logits to 1e-3, since plain bitsandbytes runs eval through its own CPU kernel.
    plain_4bit = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32,
                                    llm_int8_skip_modules=["classifier"])
    reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_quantizable_model_dir,
                           quantization_config=plain_4bit, atol=1e-3)


def test_ba_lora_on_an_int8_base_with_kbit_preparation_measures_importance_on_the_quantized_layers(
        tmp_path, tiny_data_dir, tiny_quantizable_model_dir):
    pytest.importorskip("bitsandbytes", reason="pip install 'balora[quant]'")
    import json

    results = run_train(tmp_path, tiny_data_dir, tiny_quantizable_model_dir, epochs=1, peft_method="ba_lora",
                        method_settings={"quantization": "int8", "prepare_kbit_training": True,
                                         "ba_lora_gradient_samples": 16, "ba_lora_use_warmstart": True})
    assert results.memory.quantization == "int8" and results.memory.prepare_kbit_training
    scores = json.loads((tmp_path / "tiny" / "importance.json").read_text())["scores"]
    # sensitivity reads the de-quantised W: finite, positive, and not all the same
    assert all(0 < score < float("inf") for score in scores.values()) and len(set(scores.values())) > 1


def test_count_prints_the_quantized_base_and_the_adapter_size(capsys, tiny_quantizable_model_dir):
    pytest.importorskip("bitsandbytes", reason="pip install 'balora[quant]'")
    sizes = {}
    for quantization in ("none", "nf4"):
        assert main(["count", "--model_name_or_path", tiny_quantizable_model_dir, "--quantization", quantization]) == 0
        lines = {line.split(":")[0]: line for line in capsys.readouterr().out.splitlines()}
        assert f"({quantization})" in lines["Base model as loaded"]
        sizes[quantization] = float(lines["Base model as loaded"].split()[4])
        assert lines["Adapter as saved"].split()[3] == f"{(4096 + 130) * 4 / 2**20:.2f}"  # adapter + head, fp32
    assert sizes["nf4"] < sizes["none"]


# Every LoRA-family method PEFT runs on 4-bit layers, with settings that keep its own phase short.
NF4_DECODER_METHODS = {
    "lora": {"lora_r": 2},
    "dora": {"lora_r": 2},
    "eva": {"lora_r": 2, "eva_samples": 8},
    "olora": {"peft_config": {"r": 2}},
    "qdora": {"peft_config": {"r": 2}},
    "ba_lora": {"ba_lora_gradient_samples": 8},
    "adalora": {},
    "layerwise": {},
    "plateau_lora": {},
}


@pytest.fixture(scope="module")
def nf4_decoder(tmp_path_factory):
    """A tiny Llama of hidden size 64 and 16 sums to train it on."""
    import json

    from tasks.conftest import CHAT_TEMPLATE
    from tasks.test_answer_match import arithmetic_rows
    from tiny_decoders import save_tiny_decoder
    from transformers import AutoTokenizer

    root = tmp_path_factory.mktemp("nf4_llama")
    model = save_tiny_decoder(root / "llama", "llama", hidden=64)
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(model)
    data = root / "sums.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in arithmetic_rows(24)))
    return model, data


@pytest.mark.parametrize("method", NF4_DECODER_METHODS)
def test_each_lora_family_method_trains_and_saves_on_an_nf4_decoder(tmp_path, nf4_decoder, method):
    pytest.importorskip("bitsandbytes", reason="pip install 'balora[quant]'")
    model, data = nf4_decoder
    results = run_train(tmp_path, tmp_path, model, peft_method=method, dataset="jsonl", train_file=str(data),
                        prompt_column="question", response_column="answer", max_length=32, epochs=1, batch_size=8,
                        untuned_baseline=False,
                        method_settings={"quantization": "nf4", **NF4_DECODER_METHODS[method]})
    assert results.memory.quantization == "nf4" and results.timing.optimizer_steps >= 1
    checkpoint = tmp_path / "tiny" / "model_checkpoint"
    assert (checkpoint / "adapter_model.safetensors").stat().st_size == results.memory.adapter_bytes > 0


@pytest.mark.parametrize("method, why", [("pissa", "PEFT computes PiSSA's SVD on full-precision weights only"),
                                         ("lora_ga", "PEFT estimates LoRA-GA's gradients on full-precision weights")])
def test_methods_peft_refuses_on_a_4bit_base_are_one_line_before_anything_loads(tmp_path, capsys, method, why):
    code = main(["train", "--experiment_name", "x", "--peft_method", method, "--quantization", "nf4",
                 "--results_dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"--quantization does not apply to --peft_method {method}: {why}" in err
    assert not any(tmp_path.iterdir())
