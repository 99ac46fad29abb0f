"""PEFT AdaLoRA at a parameter budget."""

from balora.methods.adalora.config import AdaLoraOptions
from balora.methods.base import Method
from balora.methods.budget import BudgetOptions, spend_param_budget_from_wider_start
from balora.methods.lora.config import LoraOptions

ADALORA = Method(
    "adalora",
    "PEFT AdaLoRA: starts at init_r and prunes to a rank budget during training.",
    (LoraOptions, BudgetOptions, AdaLoraOptions),
    "balora.methods.adalora.method:prepare_adalora",
    budget_settings=spend_param_budget_from_wider_start,
)
