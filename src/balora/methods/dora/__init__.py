"""DoRA through PEFT: LoRA on the direction of each weight, plus a trained magnitude per output."""

from balora.methods.base import Method
from balora.methods.budget import BudgetOptions, spend_param_budget
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions

DORA = Method("dora", "PEFT DoRA: weight-decomposed LoRA (direction by LoRA, a trained magnitude per output).",
              (LoraRankOptions, LoraOptions, RsLoraOptions, BudgetOptions), "balora.methods.dora.method:prepare_dora",
              budget_settings=spend_param_budget)
