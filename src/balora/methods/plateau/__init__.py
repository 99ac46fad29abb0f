"""LoRA whose rank grows when the validation loss plateaus."""

from balora.methods.base import Method
from balora.methods.budget import growth_cap_within
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions
from balora.methods.plateau.config import PlateauOptions
from balora.quantization import QuantizationOptions

PLATEAU_LORA = Method(
    "plateau_lora",
    "LoRA starting at a small rank that grows when the validation loss stops improving.",
    (LoraRankOptions, LoraOptions, RsLoraOptions, PlateauOptions, QuantizationOptions),
    "balora.methods.plateau.method:prepare_plateau_lora",
    budget_settings=growth_cap_within,
    rank_flags=("plateau_initial_rank", "plateau_max_rank"),
    flag_help={"lora_r": "Scaling reference: at every rank the update is scaled like uniform LoRA at this rank "
                         "(lora_alpha / lora_r), so growing keeps the step size."},
)
