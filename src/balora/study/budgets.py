"""Budgets in a study: the parameter counts of configurations (through `balora count`'s code
path, each configuration once) and how each method's settings meet a budget."""

from __future__ import annotations

import json
from typing import Any

from balora.config import TrainConfig
from balora.methods import METHODS, build_options
from balora.study.values import split_settings


class ParameterCounter:
    """Counts of configurations through `balora count`'s code path, each configuration once."""

    def __init__(self):
        self._cache: dict[str, dict] = {}
        self._models: dict[tuple, object] = {}

    def counts(self, settings: dict[str, Any], num_labels: int) -> dict[str, int]:
        from balora.preparation import count_configuration
        from balora.modeling import load_model
        from balora.packaged_models import packaged_default

        train_kwargs, method_kwargs = split_settings(settings)
        key = json.dumps([train_kwargs.get("model_name_or_path"), settings["peft_method"], method_kwargs, num_labels],
                         sort_keys=True, default=str)
        if key not in self._cache:
            # no model named: the one `balora train` would pick (num_labels None: prompt / response data)
            model = train_kwargs.get("model_name_or_path") or packaged_default(num_labels is None)
            config = TrainConfig(experiment_name="count", peft_method=settings["peft_method"],
                                 model_name_or_path=model)
            model_key = (config.model_name_or_path, num_labels)
            if model_key not in self._models:
                self._models[model_key] = load_model(config.model_name_or_path, num_labels, config.seed)
            self._cache[key] = count_configuration(config, build_options(**method_kwargs), num_labels,
                                                   base=self._models[model_key]).parameters.as_dict()
        return self._cache[key]


def lora_cost(settings: dict[str, Any], rank: int, counter: ParameterCounter, num_labels) -> int:
    """Adapter parameters of uniform LoRA at ``rank`` on the model and targets ``settings`` name."""
    reference = {k: settings[k] for k in ("model_name_or_path", "lora_target_modules") if k in settings}
    return counter.counts({**reference, "peft_method": "lora", "lora_r": rank}, num_labels)["adapter"]


def resolve_budget(doc, keys, value, settings, counter, num_labels) -> int:
    """A number, or {lora_rank: r}: what uniform LoRA at rank r costs on the study's targets."""
    if isinstance(value, dict):
        if set(value) != {"lora_rank"} or not isinstance(value["lora_rank"], int) or value["lora_rank"] < 1:
            raise doc.error(keys, f"a budget is a number or {{lora_rank: r}} with r >= 1 (got {value})")
        return lora_cost(settings, value["lora_rank"], counter, num_labels)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise doc.error(keys, f"a budget is a positive whole number of adapter parameters (got {value!r})")
    return value


def budget_settings(doc, entry_keys, budget_keys, method, budget, settings, counter, num_labels) -> dict:
    spend = METHODS[method].budget_settings
    if spend is None:
        raise doc.error(entry_keys, f"method {method!r} has no budget to match; move it to a phase without 'budgets'")
    rank_cost = lora_cost(settings, 1, counter, num_labels)
    try:
        chosen = spend(budget, rank_cost)
    except ValueError as err:
        raise doc.error(budget_keys, f"budget {budget:,} for {method}: {err}") from None
    carrier = next(iter(chosen))
    if carrier in settings:
        raise doc.error(entry_keys + (carrier,), f"{carrier} is set by the phase's budgets; remove it here")
    return {name: value for name, value in chosen.items() if name not in settings}
