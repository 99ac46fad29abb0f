"""PEFT AdaLoRA at a parameter budget."""

from balora.methods.adalora.config import AdaLoraOptions
from balora.methods.base import Method
from balora.methods.budget import BudgetOptions, spend_param_budget_from_wider_start
from balora.methods.lora.config import LoraOptions
from balora.quantization import QuantizationOptions

ADALORA = Method(
    "adalora",
    "PEFT AdaLoRA: starts at init_r and prunes to a rank budget during training.",
    (LoraOptions, BudgetOptions, AdaLoraOptions, QuantizationOptions),
    "balora.methods.adalora.method:prepare_adalora",
    budget_settings=spend_param_budget_from_wider_start,
    flag_help={"param_budget": "Adapter parameters to keep after pruning: sets --adalora_target_r (default: "
                               "--adalora_target_r as given).",
               "lora_alpha": "AdaLoRA scaling numerator: updates are scaled by lora_alpha / the module's kept rank."},
)
