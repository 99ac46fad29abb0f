"""LoRA-GA through PEFT: LoRA started from the SVD of the full weights' estimated gradients."""

from balora.methods.base import Method
from balora.methods.budget import BUDGET_AS_RANK, BudgetOptions, uniform_rank_within
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions
from balora.methods.lora_ga.config import LoraGaOptions

LORA_GA = Method("lora_ga", "PEFT LoRA-GA: LoRA started from the SVD of estimated full-weight gradients; saved as "
                 "plain LoRA.", (LoraRankOptions, LoraOptions, RsLoraOptions, LoraGaOptions, BudgetOptions),
                 "balora.methods.lora_ga.method:prepare_lora_ga", budget_settings=uniform_rank_within,
                 rank_flags=("lora_r",), flag_help={"param_budget": BUDGET_AS_RANK},
                 refused_flags={"quantization": "PEFT estimates LoRA-GA's gradients on full-precision weights only "
                                                 "and refuses a quantized base"})
