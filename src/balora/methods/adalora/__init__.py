"""PEFT AdaLoRA at a parameter budget."""

from balora.methods.adalora.config import AdaLoraOptions
from balora.methods.base import Method
from balora.methods.budget import BudgetOptions, spend_param_budget_from_wider_start
from balora.methods.lora.config import LoraOptions
from balora.quantization import QuantizationOptions

# measured: SmolLM2 on 200 alpaca examples, 21 steps (docs/results.md#decoders)
DEFAULT_LEARNING_RATE = 5e-3

ADALORA = Method(
    "adalora",
    "PEFT AdaLoRA: starts at init_r and prunes to a rank budget during training.",
    (LoraOptions, BudgetOptions, AdaLoraOptions, QuantizationOptions),
    "balora.methods.adalora.method:prepare_adalora",
    budget_settings=spend_param_budget_from_wider_start,
    rank_flags=("adalora_init_r", "adalora_target_r"),
    flag_help={"param_budget": "Adapter parameters to keep after pruning: sets --adalora_target_r (default: "
                               "--adalora_target_r as given).",
               "lora_alpha": "AdaLoRA scaling numerator: updates are scaled by lora_alpha / the module's kept rank.",
               "learning_rate": f"Peak learning rate; default {DEFAULT_LEARNING_RATE:g} for AdaLoRA, 10x LoRA's: its "
                                "singular values start at zero and its A and B at N(0, 0.02), so at LoRA's rate its "
                                "first updates are about 100x smaller than LoRA's (a short run does not move)."},
    default_learning_rate=DEFAULT_LEARNING_RATE,
)
