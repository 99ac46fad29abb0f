"""Every method on tiny random BERT, Llama and GPT-2 classifiers, at the method level: prepare, one
training step, save through the method's hook, reload with nothing but transformers + PEFT to the
same logits, and `balora count`'s dry-run count equal to the count of the trained model."""

from __future__ import annotations

import copy

import pytest
import torch

from balora.counting import count_parameters
from balora.methods import METHODS
from balora.methods.zoo.presets import PRESETS as PRESETS_TABLE
from method_level import collate, context, tiny_classifier, tiny_dataset

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


# The PEFT-config presets differ only in the config they hand PEFT: each runs on BERT, three on
# Llama too (GPT-2's Conv1D layers are PEFT's to support per method). corda and loftq refuse.
PRESETS = {preset.name for preset in PRESETS_TABLE}
REFUSING = sorted(preset.name for preset in PRESETS_TABLE if preset.refusal)
CASES = ([(arch, m) for m in sorted(set(METHODS) - PRESETS) for arch in ("bert", "llama", "gpt2")]
         + [("bert", m) for m in sorted(PRESETS - set(REFUSING))] + [("llama", m) for m in ("vera", "loha", "oft")])


def test_the_matrix_covers_every_registered_method():
    assert {method for _, method in CASES} | set(REFUSING) == set(METHODS)


@pytest.mark.parametrize("arch, method", CASES)
def test_method_trains_saves_reloads_and_counts(tmp_path, arch, method):
    prepared, head = train_save_reload(arch, method, tmp_path)
    start = count_parameters(prepared.model, head)
    trained = prepared.after_training(prepared.model).counts if prepared.after_training else start

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
