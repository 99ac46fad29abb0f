"""DoRA through PEFT: LoRA on the direction of each weight, plus a trained magnitude per output."""

from balora.methods.base import Method
from balora.methods.budget import BudgetOptions, spend_param_budget
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions
from balora.quantization import QuantizationOptions

DORA = Method("dora", "PEFT DoRA: weight-decomposed LoRA (direction by LoRA, a trained magnitude per output).",
              (LoraRankOptions, LoraOptions, RsLoraOptions, QuantizationOptions, BudgetOptions), "balora.methods.dora.method:prepare_dora",
              budget_settings=spend_param_budget, rank_flags=("lora_r",),
              flag_help={"lora_r": "DoRA rank of every target module (when no --param_budget is given).",
                         "param_budget": "Adapter parameters (A, B and the magnitudes) to spend: the largest uniform "
                                         "rank that fits (default: rank --lora_r)."})
