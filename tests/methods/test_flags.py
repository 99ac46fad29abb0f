"""Every (method, flag) pair: a flag the method does not read is refused with one line; a flag it
reads changes what it prepares (the model, its PEFT config, its callbacks, what it records) or,
for the quantization flags, the base model it loads."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from balora.cli import main
from balora.methods import METHODS, all_option_classes
from balora.methods.zoo.presets import PRESETS_BY_NAME
from balora.quantization import QuantizationOptions
from method_level import context, tiny_classifier, tiny_dataset

# flag -> (settings it is changed from, the changed value): each differs from the flag's default.
CHANGES = {
    "freeze_layers": ({}, 1), "lora_r": ({}, 4), "lora_alpha": ({}, 8), "lora_dropout": ({}, 0.0),
    "lora_target_modules": ({}, ["query"]), "use_rslora": ({}, True), "param_budget": ({}, 1100),
    "ba_lora_base_rank": ({}, 4), "ba_lora_gradient_samples": ({}, 8), "ba_lora_gradient_batch_size": ({}, 2),
    "ba_lora_importance": ({}, "grad_norm"),
    "ba_lora_min_rank": ({"param_budget": 1100}, 0), "ba_lora_max_rank": ({"param_budget": 3000}, 9),
    "ba_lora_use_warmstart": ({}, True), "ba_lora_warmstart_basis": ({"ba_lora_use_warmstart": True}, "gradient"),
    "ba_lora_use_uniform_ranks": ({"param_budget": 3000}, True),
    "adalora_init_r": ({}, 10), "adalora_target_r": ({}, 6), "adalora_tinit": ({}, 1), "adalora_tfinal": ({}, 1),
    "adalora_delta_t": ({}, 2), "adalora_beta1": ({}, 0.5), "adalora_beta2": ({}, 0.5),
    "adalora_orth_reg_weight": ({}, 0.1),
    "rank_strategy": ({}, "attention_heavy"), "rank_max": ({}, 12), "rank_min": ({}, 2),
    "rank_config": ({"rank_strategy": "custom"}, "ranks_b.json"),
    "plateau_initial_rank": ({}, 4), "plateau_max_rank": ({}, 6), "plateau_rank_step": ({}, 1),
    "plateau_patience": ({}, 1),
    "pissa_niter": ({}, 2),
    "lora_ga_gradient_samples": ({}, 8), "lora_ga_direction": ({}, "ArBr"), "lora_ga_scale": ({}, "unit"),
    "lora_ga_stable_gamma": ({}, 4),
    "eva_samples": ({}, 8), "eva_rho": ({}, 1.0), "eva_tau": ({}, 0.5), "eva_whiten": ({}, True),
    "peft_config": ({}, {"r": 4}), "budget_knob": ({"param_budget": 4096}, "alpha"),
    "quantization": ({}, "nf4"), "bnb_4bit_compute_dtype": ({"quantization": "nf4"}, "bfloat16"),
    "bnb_4bit_use_double_quant": ({"quantization": "nf4"}, True),
    "prepare_kbit_training": ({"quantization": "nf4"}, True),
}
METHOD_FLAGS = [f.name for cls in all_option_classes() for f in dataclasses.fields(cls)]
QUANTIZATION_FLAGS = [f.name for f in dataclasses.fields(QuantizationOptions)]
# The PEFT-config presets and `peft` read the same flags through the same code: loha stands for them
# (its budget knob changed to alpha, an integer field that changes no count, still sets alpha).
CHECKED = {name: m for name, m in METHODS.items() if name not in PRESETS_BY_NAME and name != "peft"} | {
    "loha": METHODS["loha"]}
READ = sorted((name, flag) for name, m in CHECKED.items() for cls in m.option_classes
              for flag in cls.__dataclass_fields__ if flag not in QUANTIZATION_FLAGS)
NOT_READ = sorted((name, flag) for name, m in CHECKED.items() for flag in METHOD_FLAGS
                  if not any(flag in cls.__dataclass_fields__ for cls in m.option_classes))


def test_every_flag_has_a_change():
    assert set(CHANGES) == set(METHOD_FLAGS)


def as_words(flag: str, value) -> list[str]:
    if value is True:
        return [f"--{flag}"]
    return [f"--{flag}", *map(str, value if isinstance(value, list) else [value])]


@pytest.mark.parametrize("method, flag", NOT_READ)
def test_a_flag_the_method_does_not_read_is_refused(capsys, tmp_path, method, flag):
    code = main(["train", "--experiment_name", "x", "--results_dir", str(tmp_path), "--peft_method", method,
                 *as_words(flag, CHANGES[flag][1])])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    # (a flag the method's library refuses says why between the two: see test_quantization)
    assert f"--{flag} does not apply to --peft_method {method}" in err and " (methods that read it: " in err
    assert not any(tmp_path.iterdir())


def custom_ranks(tmp_path) -> dict:
    """rank_config files: the default the change is made from, and the changed one."""
    for name, ranks in (("ranks_a.json", [2, 2]), ("ranks_b.json", [4, 1])):
        (tmp_path / name).write_text(json.dumps({"strategy_name": name, "layer_ranks": ranks}))
    return {"rank_config": str(tmp_path / "ranks_a.json")}


def fingerprint(prepared) -> str:
    """Everything a method hands the pipeline, but how long it took."""
    model = prepared.model
    weights = {name: round(float(t.double().sum()), 6) for name, t in model.state_dict().items()}
    configs = {name: c.to_dict() for name, c in getattr(model, "peft_config", {}).items()}
    callbacks = [{k: v for k, v in vars(cb).items() if not callable(v)} for cb in prepared.callbacks]
    return json.dumps([weights, configs, repr(callbacks), prepared.summary, prepared.artifacts], default=repr,
                      sort_keys=True)


def prepared_with(method: str, settings: dict):
    base, head = tiny_classifier("bert")
    torch.manual_seed(0)
    return METHODS[method].prepare(base, context(method, head, tiny_dataset(), dry_run=False, fast=False,
                                                 **settings))


@pytest.mark.parametrize("method, flag", READ)
def test_a_flag_the_method_reads_changes_what_it_prepares(tmp_path, monkeypatch, method, flag):
    monkeypatch.chdir(tmp_path)
    start, changed = CHANGES[flag]
    if flag == "rank_config" or start.get("rank_strategy") == "custom":
        start = {**start, **custom_ranks(tmp_path)}
    if method == "layerwise" and flag == "rank_config":
        changed = str(tmp_path / changed)
    if method in ("lora", "pissa", "lora_ga", "loha") and flag == "param_budget":
        changed = 1024  # met through the rank: exactly rank 4 (256 per rank on the tiny model), not 8; loha: r 2
    before = fingerprint(prepared_with(method, start))
    after = fingerprint(prepared_with(method, {**start, flag: changed}))
    assert before != after


def loaded_fingerprint(model_dir: str, settings: dict) -> str:
    from balora.modeling import load_classifier

    model = load_classifier(model_dir, 2, 0, quantization=QuantizationOptions(**settings)).model
    layers = [(name, type(m).__name__, str(getattr(m, "compute_dtype", None)),
               type(getattr(m, "weight", None)).__name__,
               str(getattr(getattr(getattr(m, "weight", None), "quant_state", None), "nested", None)))
              for name, m in model.named_modules()]
    return json.dumps([layers, bool(getattr(model, "is_gradient_checkpointing", False))])


@pytest.mark.parametrize("flag", QUANTIZATION_FLAGS)
def test_a_quantization_flag_changes_the_loaded_base(tiny_quantizable_model_dir, flag):
    start, changed = CHANGES[flag]
    assert loaded_fingerprint(tiny_quantizable_model_dir, start) != loaded_fingerprint(
        tiny_quantizable_model_dir, {**start, flag: changed})
