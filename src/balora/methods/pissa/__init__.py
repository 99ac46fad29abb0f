"""PiSSA through PEFT: LoRA started from each weight's principal singular vectors."""

from balora.methods.base import Method
from balora.methods.budget import BUDGET_AS_RANK, BudgetOptions, uniform_rank_within
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions
from balora.methods.pissa.config import PissaOptions

PISSA = Method("pissa", "PEFT PiSSA: LoRA started from each weight's top singular vectors; saved as plain LoRA.",
               (LoraRankOptions, LoraOptions, RsLoraOptions, PissaOptions, BudgetOptions),
               "balora.methods.pissa.method:prepare_pissa", budget_settings=uniform_rank_within,
               rank_flags=("lora_r",), flag_help={"param_budget": BUDGET_AS_RANK},
               refused_flags={"quantization": "PEFT computes PiSSA's SVD on full-precision weights only "
                                               "and refuses a 4-bit base"})
