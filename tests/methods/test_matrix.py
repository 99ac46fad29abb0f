"""Every method on tiny random BERT, Llama and GPT-2 classifiers, at the method level: prepare, one
training step, save through the method's hook, reload with nothing but transformers + PEFT to the
same logits, and `balora count`'s dry-run count equal to the count of the trained model."""

from __future__ import annotations

import copy

import pytest
import torch

from balora.config import TrainConfig
from balora.counting import count_parameters
from balora.methods import METHODS, MethodContext, build_options
from tiny_decoders import tiny_decoder_config

# Small settings where a method's defaults would make the tiny runs slow; the rest run at defaults.
FAST = {
    "partial": {"freeze_layers": 1}, "lora": {"lora_r": 2}, "dora": {"lora_r": 2}, "pissa": {"lora_r": 2},
    "lora_ga": {"lora_r": 2, "lora_ga_gradient_samples": 8}, "eva": {"lora_r": 2, "eva_samples": 16},
    "ba_lora": {"ba_lora_base_rank": 2, "ba_lora_gradient_samples": 8, "ba_lora_use_warmstart": True},
    "adalora": {"adalora_init_r": 3, "adalora_target_r": 2},
    "layerwise": {"rank_strategy": "linear_decay", "rank_max": 4, "rank_min": 2, "lora_r": 2},
    "plateau_lora": {"plateau_initial_rank": 2, "plateau_max_rank": 4},
}
VOCAB, LENGTH, EXAMPLES = 300, 8, 16


def tiny_classifier(arch: str):
    from transformers import AutoModelForSequenceClassification

    from conftest import tiny_bert

    torch.manual_seed(0)
    if arch == "bert":
        return tiny_bert(), ["classifier"]
    config = tiny_decoder_config(arch, VOCAB)
    config.num_labels = 2
    model = AutoModelForSequenceClassification.from_config(config)
    model.config.pad_token_id = model.config.eos_token_id
    return model, ["score"]


def tiny_dataset():
    from datasets import Dataset

    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(1, VOCAB, (EXAMPLES, LENGTH), generator=generator)  # 0 is EOS = pad
    return Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": torch.ones_like(ids).tolist(),
                              "labels": [i % 2 for i in range(EXAMPLES)]})


def collate(rows: list[dict]) -> dict:
    return {key: torch.tensor([row[key] for row in rows]) for key in rows[0]}


def context(method: str, head: list[str], dataset, dry_run: bool, **extra) -> MethodContext:
    config = TrainConfig(experiment_name="matrix", peft_method=method, batch_size=4, epochs=1)
    options = build_options(**{**FAST.get(method, {}), **extra})
    return MethodContext(config=config, options={cls: options[cls] for cls in METHODS[method].option_classes},
                         head_modules=head, train_dataset=None if dry_run else dataset, collator=collate,
                         say=lambda line: None, validation_dataset=dataset, dry_run=dry_run)


def one_training_step(model, batch) -> None:
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model(**batch).loss.backward()
    optimizer.step()


def reloaded(saved, base, method: str):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    if method in ("full", "partial"):
        return AutoModelForSequenceClassification.from_pretrained(saved)
    return PeftModel.from_pretrained(base, saved)


def train_save_reload(arch: str, method: str, tmp_path, **extra):
    base, head = tiny_classifier(arch)
    untouched = copy.deepcopy(base)  # PiSSA and LoRA-GA change the base they train on
    dataset = tiny_dataset()
    prepared = METHODS[method].prepare(base, context(method, head, dataset, dry_run=False, **extra))
    batch = collate([dataset[i] for i in range(4)])
    one_training_step(prepared.model, batch)
    prepared.save_model(prepared.model, str(tmp_path / "saved"))
    model = reloaded(str(tmp_path / "saved"), untouched, method).eval()
    prepared.model.eval()
    inputs = {key: value for key, value in batch.items() if key != "labels"}  # as a user predicts
    with torch.no_grad():
        torch.testing.assert_close(model(**inputs).logits, prepared.model(**inputs).logits, atol=1e-5, rtol=1e-4)
    return prepared, head


@pytest.mark.parametrize("arch", ["bert", "llama", "gpt2"])
@pytest.mark.parametrize("method", sorted(METHODS))
def test_method_trains_saves_reloads_and_counts(tmp_path, arch, method):
    prepared, head = train_save_reload(arch, method, tmp_path)
    start = count_parameters(prepared.model, head)
    trained = prepared.counts_after_training(prepared.model) if prepared.counts_after_training else start

    base, head = tiny_classifier(arch)
    planned = METHODS[method].prepare(base, context(method, head, None, dry_run=True))
    counted = count_parameters(planned.model, head)
    counted = planned.planned_counts(counted) if planned.planned_counts else counted
    if method == "plateau_lora":  # counted: where it starts; its peak is the most it may grow to
        assert counted.adapter == trained.adapter
        assert counted.peak_adapter == prepared.summary["max_adapter_parameters"]
    elif method == "eva":  # EVA moves ranks between modules of different shapes: both numbers are kept
        assert counted.adapter == prepared.summary["requested_parameters"]
        assert trained.adapter == prepared.summary["allocated"]
        assert sum(prepared.summary["rank_pattern"].values()) == prepared.summary["rank_budget"]
    elif method == "adalora":  # one step prunes nothing: the kept count is what the run would report at its end
        assert counted.peak_adapter == trained.peak_adapter and counted.head == trained.head
    else:
        assert counted == trained


RSLORA_METHODS = sorted(name for name, m in METHODS.items()
                        if any("use_rslora" in cls.__dataclass_fields__ for cls in m.option_classes))


@pytest.mark.parametrize("method", RSLORA_METHODS)
def test_use_rslora_scales_by_the_square_root_of_the_rank_and_survives_the_save(tmp_path, method):
    prepared, _ = train_save_reload("bert", method, tmp_path, use_rslora=True)
    layers = [m for m in prepared.model.modules() if hasattr(m, "scaling") and "default" in getattr(m, "r", {})]
    assert layers
    lora_alpha = prepared.model.peft_config["default"].lora_alpha
    for layer in layers:
        if method != "eva":  # EVA adjusts each module's alpha to its new rank (adjust_scaling_factors)
            assert layer.scaling["default"] == pytest.approx(
                prepared.model.peft_config["default"].alpha_pattern.get(_pattern_key(prepared, layer), lora_alpha)
                / layer.r["default"] ** 0.5)


def _pattern_key(prepared, layer):
    """The alpha_pattern key of a layer (methods with per-module ranks anchor one per module)."""
    names = {module: name for name, module in prepared.model.base_model.model.named_modules()}
    import re

    return f"^{re.escape(names[layer])}$"
