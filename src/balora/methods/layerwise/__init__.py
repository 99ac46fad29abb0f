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
)
