"""LoRA with a layer-wise rank schedule."""

from balora.methods.base import Method
from balora.methods.budget import BudgetOptions, spend_param_budget
from balora.methods.layerwise.config import RankScheduleOptions
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions
from balora.quantization import QuantizationOptions

LAYERWISE = Method(
    "layerwise",
    "LoRA with a layer-wise rank schedule (linear decay, attention-heavy, empirical, custom).",
    (LoraRankOptions, LoraOptions, RsLoraOptions, BudgetOptions, RankScheduleOptions, QuantizationOptions),
    "balora.methods.layerwise.method:prepare_layerwise",
    budget_settings=spend_param_budget,
    rank_flags=("rank_max", "rank_min"),
    flag_help={
        "lora_r": "Reference rank: every module is scaled like uniform LoRA at this rank (lora_alpha / lora_r), "
                  "the empirical schedule is a multiple of it, and modules outside the layers take it.",
        "param_budget": "Rescale the schedule's ranks to spend this many adapter parameters (default: the "
                        "schedule's ranks as they are).",
    },
)
