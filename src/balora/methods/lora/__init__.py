"""Fixed-rank LoRA: the same rank on every target module."""

from balora.methods.base import Method
from balora.methods.budget import BUDGET_AS_RANK, BudgetOptions, uniform_rank_within
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions
from balora.quantization import QuantizationOptions

LORA = Method("lora", "PEFT LoRA with the same rank on every target module.", (LoraRankOptions, LoraOptions, RsLoraOptions, QuantizationOptions, BudgetOptions),
              "balora.methods.lora.method:prepare_lora", budget_settings=uniform_rank_within,
              rank_flags=("lora_r",), flag_help={"param_budget": BUDGET_AS_RANK})
