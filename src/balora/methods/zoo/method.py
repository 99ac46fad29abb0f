"""The `peft` method and its presets: any PEFT config, wrapped on the run's targets with the task
head trained, met to a parameter budget through one integer field (the knob), counted on an empty
meta-device copy of the model."""

from __future__ import annotations

import json
import re

from torch import nn

from balora.errors import ConfigError, UserError
from balora.methods.base import MethodContext, PreparedModel
from balora.methods.budget import BudgetOptions
from balora.methods.lora.conversion import InitialAdapter
from balora.methods.lora.model import peft_task_type, resolve_targets
from balora.methods.zoo.config import PeftConfigOptions
from balora.methods.zoo.knob import KnobChoice, knob_within
from balora.methods.zoo.peft_config import (
    adapter_counter,
    build_config,
    changes_base,
    check_knob,
    config_class,
    for_counting,
    meta_copy,
    wrap,
)
from balora.methods.zoo.presets import PRESETS_BY_NAME
from balora.modeling import linear_shape
from balora.quantization import QuantizationOptions


def checked_fields(peft_method: str, options: dict) -> tuple[type, dict, str | None]:
    """(config class, fields: the preset's with --peft_config's over them, budget knob), after every
    check that needs neither model nor data."""
    preset = PRESETS_BY_NAME.get(peft_method)  # None: the generic method, whose config is all the user's
    if preset is not None and preset.refusal:
        raise UserError(f"--peft_method {preset.name}: {preset.refusal}")
    quantization = options[QuantizationOptions].quantization
    if preset is not None and preset.quantization and quantization not in preset.quantization:
        raise ConfigError("quantization", f"{preset.name} trains on a quantized base: give --quantization "
                          f"{' or '.join(preset.quantization)} (got {quantization})")
    given = options[PeftConfigOptions].fields()
    if preset is None and not given:
        raise ConfigError("peft_config", "--peft_method peft needs a PEFT config (a JSON or YAML file with "
                          "peft_type and its fields)")
    if preset is not None and "peft_type" in given and str(given["peft_type"]).upper() != preset.fields["peft_type"]:
        raise ConfigError("peft_config", f"{preset.name} is a {preset.fields['peft_type']} config (got peft_type "
                          f"{given['peft_type']}); another peft_type runs with --peft_method peft")
    fields = {**(preset.fields if preset else {}), **given}
    cls = config_class(fields)
    build_config(cls, fields)  # PEFT's own checks of the values, before anything loads
    knob = options[PeftConfigOptions].budget_knob or (preset.knob if preset else None)
    if knob is not None:
        check_knob(cls, knob)
    if options[BudgetOptions].param_budget is not None:
        if knob is None:
            raise ConfigError("budget_knob", f"--param_budget needs the field it sets: {peft_method} has no "
                              "budget knob" + ("" if preset else "; give --budget_knob (e.g. r)"))
        if knob in given:
            raise ConfigError("peft_config", f"{knob} is set by --param_budget; remove it from the config")
    return cls, fields, knob


def with_run_defaults(fields: dict, model: nn.Module, head_modules: list[str]) -> tuple[dict, dict]:
    """The fields with the run's targets (unless the config names its own), the task head trained
    and counted as head (modules_to_save) and the model's task type; and the targets' shapes."""
    targets = fields.get("target_modules")
    if isinstance(targets, str) and targets != "all-linear":  # a regular expression, PEFT's full match
        shapes = {name: linear_shape(module) for name, module in model.named_modules()
                  if re.fullmatch(targets, name) and not list(module.children()) and name.split(".")[0] not in head_modules}
        if not shapes:
            raise UserError(f"--peft_config: target_modules {targets!r} matches no layer of the model")
    else:
        shapes = resolve_targets(model, [targets] if isinstance(targets, str) else targets, head_modules)
        targets = list(shapes)
    to_save = list(dict.fromkeys([*head_modules, *(fields.get("modules_to_save") or [])]))
    return {**fields, "target_modules": targets, "modules_to_save": to_save or None,
            "task_type": fields.get("task_type") or peft_task_type(model).value}, shapes


def meet_budget(model: nn.Module, cls: type, fields: dict, knob: str, budget: int, head_modules: list[str],
                shapes: dict, what: str) -> KnobChoice:
    """The knob's largest value whose adapter fits ``budget``, counted on meta-device copies of
    ``model``; the knob is bounded by the targets' smaller dimension, as every rank flag is."""
    key = json.dumps([type(model).__name__, cls.__name__, fields, knob, budget, head_modules, sorted(shapes.items())],
                     default=str)
    if key not in _MET:
        upper = min(min(shape) for shape in shapes.values())
        cost = adapter_counter(lambda: meta_copy(model), cls, fields, knob, head_modules)
        _MET[key] = knob_within(knob, cost, budget, upper, what)
    return _MET[key]


# Budgets met in this process: a run meets its budget on the empty model before loading, then on
# the loaded one (the same architecture, targets and config: the same answer).
_MET: dict[str, KnobChoice] = {}


def check_peft_config(config, options: dict, causal_lm: bool) -> None:
    """Before anything loads: the config's checks, and a budget met on an empty model built from
    the model's config file alone."""
    cls, fields, knob = checked_fields(config.peft_method, options)
    budget = options[BudgetOptions].param_budget
    if budget is None:
        return
    skeleton = empty_model(config.model_name_or_path, causal_lm)
    if skeleton is None:
        return  # the model's own loading says what is wrong with it
    head = [] if causal_lm else [name for name in ("classifier", "score") if hasattr(skeleton, name)]
    fields, shapes = with_run_defaults(fields, skeleton, head)
    meet_budget(skeleton, cls, fields, knob, budget, head, shapes, what_of(config.peft_method, cls))


def empty_model(name_or_path: str, causal_lm: bool) -> nn.Module | None:
    """The model's architecture on the meta device, from its config file (None where that cannot be read)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification

    from balora.modeling import resolve_model_path

    try:
        hf_config = AutoConfig.from_pretrained(resolve_model_path(name_or_path))
    except (OSError, ValueError):
        return None
    with torch.device("meta"):
        return (AutoModelForCausalLM if causal_lm else AutoModelForSequenceClassification).from_config(hf_config)


def what_of(peft_method: str, cls: type) -> str:
    return peft_method if peft_method in PRESETS_BY_NAME else cls.__name__


def prepare_peft_config(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    cls, fields, knob = checked_fields(ctx.config.peft_method, ctx.options)
    fields, shapes = with_run_defaults(fields, model, ctx.head_modules)
    budget = ctx.option(BudgetOptions).param_budget
    choice = None
    if budget is not None:
        choice = meet_budget(model, cls, fields, knob, budget, ctx.head_modules, shapes,
                             what_of(ctx.config.peft_method, cls))
        fields = {**fields, knob: choice.value}
    config = build_config(cls, fields)
    # Counting needs only the shapes; a dry run's base shares its weights with other counts, so an
    # initialisation that decomposes or samples the weights must not run on it.
    peft_model = wrap(model, for_counting(config) if ctx.dry_run else config)
    initial = InitialAdapter(peft_model) if changes_base(config) and not ctx.dry_run else None
    knob_line = f", {knob} {fields[knob]}" if knob and knob in fields else ""
    chosen = f" ({choice.count:,} adapter parameters, budget {budget:,})" if choice else ""
    note = f"{ctx.config.peft_method}: {cls.__name__} on {len(shapes)} modules{knob_line}{chosen}"
    ctx.say(note)
    summary = {"peft_type": str(fields["peft_type"]).upper(), "peft_config": json_fields(fields),
               "budget_knob": knob, "knob_value": fields.get(knob) if knob else None,
               "requested_parameters": budget, "reached_parameters": choice.count if choice else None,
               "target_modules": sorted({name.split(".")[-1] for name in shapes}), "num_target_matrices": len(shapes),
               "saved_converted_to_lora": initial is not None}
    return PreparedModel(peft_model, summary=summary, save=initial.save_converted if initial else None,
                         count_notes=[note])


def json_fields(fields: dict) -> dict:
    """The fields as results_final.json can hold them (sets as sorted lists, enums as their values)."""
    def plain(value):
        if isinstance(value, (set, frozenset)):
            return sorted(value)
        return getattr(value, "value", value)

    return {name: plain(value) for name, value in fields.items()}
