"""Any PEFT method through its PEFT config: the generic `peft` method (--peft_config FILE) and presets
of it (vera, ia3, loha, ...), each met to a parameter budget through one integer field of its config."""

from balora.methods.base import Method
from balora.methods.budget import BudgetOptions, spend_param_budget
from balora.methods.zoo.config import PeftConfigOptions
from balora.methods.zoo.presets import PRESETS, Preset
from balora.quantization import QuantizationOptions

OPTION_CLASSES = (PeftConfigOptions, QuantizationOptions, BudgetOptions)
PREPARE = "balora.methods.zoo.method:prepare_peft_config"
CHECK = "balora.methods.zoo.method:check_peft_config"
BUDGET_HELP = ("Adapter parameters to spend, met through the budget knob: its largest value whose adapter count "
               "is at most this (refused where the smallest value costs more or the largest costs less).")


def _flat(fields: dict) -> str:
    return ", ".join(f"{name}: {value}" for name, value in fields.items())


def preset_method(preset: Preset) -> Method:
    knob = f"budget knob {preset.knob}" if preset.knob else "no budget knob"
    needs = f"; needs --quantization {' or '.join(preset.quantization)}" if preset.quantization else ""
    return Method(
        preset.name, f"{preset.summary} ({knob}{needs}).", OPTION_CLASSES, PREPARE,
        budget_settings=spend_param_budget if preset.knob else None, default_learning_rate=preset.learning_rate,
        check_function=CHECK,
        flag_help={
            "peft_config": f"{preset.name} sets {{{_flat(preset.fields)}}}; a JSON / YAML file (or a study's "
                           "mapping) of fields overrides any of them (target_modules default to the run's targets).",
            "budget_knob": f"The integer field --param_budget sets (default for {preset.name}: "
                           f"{preset.knob or 'none, it has no size to set'}).",
            "param_budget": BUDGET_HELP,
            "learning_rate": f"Peak learning rate (default for {preset.name}: {preset.learning_rate:g}).",
        })


PEFT = Method("peft", "Any PEFT config (--peft_config FILE: peft_type + fields), at a budget through --budget_knob.",
              OPTION_CLASSES, PREPARE, budget_settings=spend_param_budget, check_function=CHECK,
              flag_help={"param_budget": BUDGET_HELP + " Needs --budget_knob."})
PRESET_METHODS = tuple(map(preset_method, PRESETS))
