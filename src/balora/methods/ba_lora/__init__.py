"""BA-LoRA: gradient importance, exact-budget rank allocation, warm start, then LoRA."""

from balora.methods.ba_lora.config import BaLoraOptions
from balora.methods.base import Method
from balora.methods.budget import BudgetOptions, spend_param_budget_around_its_rank
from balora.methods.lora.config import LoraOptions, RsLoraOptions
from balora.quantization import QuantizationOptions

BA_LORA = Method(
    "ba_lora",
    "Budget-aware LoRA: gradient importance, exact-budget rank allocation, warm start, then LoRA.",
    (LoraOptions, RsLoraOptions, BudgetOptions, BaLoraOptions, QuantizationOptions),
    "balora.methods.ba_lora.method:prepare_ba_lora",
    budget_settings=spend_param_budget_around_its_rank,
    flag_help={"param_budget": "Adapter parameters to spend exactly (default: what uniform LoRA at "
                               "--ba_lora_base_rank costs on the same modules).",
               "lora_alpha": "LoRA scaling numerator: every module is scaled by lora_alpha / --ba_lora_base_rank."},
)
