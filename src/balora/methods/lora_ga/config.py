"""Flags of LoRA-GA (PEFT's init_lora_weights="lora_ga" with a LoraGAConfig)."""

from __future__ import annotations

from dataclasses import dataclass

from balora.config import require_positive, setting
from balora.errors import ConfigError

# The choices of peft.LoraGAConfig, named here so that flags parse without PEFT.
DIRECTIONS = ("ArBr", "A2rBr", "ArB2r", "random")
SCALES = ("stable", "weight_svd", "gd_scale", "unit")


@dataclass
class LoraGaOptions:
    """LoRA-GA initialisation (lora_ga)"""

    lora_ga_gradient_samples: int = setting(
        256, "Training examples whose loss gradients (batches of --batch_size, averaged) initialise the adapters "
        "(capped at the training set size).")
    lora_ga_direction: str = setting(
        "ArB2r", "Which singular vectors of the gradient go to A and B: ArB2r (A the top r, B the next r), "
        "A2rBr, ArBr (alternating) or random.")
    lora_ga_scale: str = setting(
        "stable", "Scaling of the initial adapter: stable (out_features^0.25 / sqrt(gamma)), weight_svd, "
        "gd_scale or unit.")
    lora_ga_stable_gamma: int = setting(16, "Gamma of the stable scaling.")

    def __post_init__(self) -> None:
        require_positive("lora_ga_gradient_samples", self.lora_ga_gradient_samples)
        require_positive("lora_ga_stable_gamma", self.lora_ga_stable_gamma)
        for name, value, choices in (("lora_ga_direction", self.lora_ga_direction, DIRECTIONS),
                                     ("lora_ga_scale", self.lora_ga_scale, SCALES)):
            if value not in choices:
                raise ConfigError(name, f"must be one of {', '.join(choices)} (got {value!r})")
