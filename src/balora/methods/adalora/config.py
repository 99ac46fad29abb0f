"""Flags of AdaLoRA (PEFT's AdaLoraConfig), with a schedule derived from the real step count."""

from __future__ import annotations

from dataclasses import dataclass

from balora.config import require_in_range, require_non_negative, require_positive, setting
from balora.errors import ConfigError


@dataclass
class AdaLoraOptions:
    """AdaLoRA (adalora)"""

    adalora_init_r: int = setting(12, "Rank every module starts with (and holds in memory all along).")
    adalora_target_r: int = setting(
        8, "Average final rank per module (AdaLoRA's rank budget is target_r x modules); derived from "
        "--param_budget when given.")
    adalora_tinit: int | None = setting(
        None, "Optimizer steps before ranks start to be pruned (default: 10% of all steps).")
    adalora_tfinal: int | None = setting(
        None, "Optimizer steps at the end trained with the final ranks fixed (default: 20% of all steps).")
    adalora_delta_t: int | None = setting(
        None, "Optimizer steps between two reallocations (default: the pruning phase / 20).")
    adalora_beta1: float = setting(0.85, "EMA coefficient of the importance (sensitivity) estimate.")
    adalora_beta2: float = setting(0.85, "EMA coefficient of the importance uncertainty.")
    adalora_orth_reg_weight: float = setting(0.5, "Weight of the orthogonality penalty on A and B.")

    def __post_init__(self) -> None:
        require_positive("adalora_init_r", self.adalora_init_r)
        require_positive("adalora_target_r", self.adalora_target_r)
        if self.adalora_target_r > self.adalora_init_r:
            raise ConfigError("adalora_target_r", f"must be <= --adalora_init_r {self.adalora_init_r} "
                              f"(got {self.adalora_target_r})")
        require_non_negative("adalora_tinit", self.adalora_tinit, allow_none=True)
        require_non_negative("adalora_tfinal", self.adalora_tfinal, allow_none=True)
        require_positive("adalora_delta_t", self.adalora_delta_t, allow_none=True)
        require_in_range("adalora_beta1", self.adalora_beta1, 0.0, 1.0)
        require_in_range("adalora_beta2", self.adalora_beta2, 0.0, 1.0)
        require_non_negative("adalora_orth_reg_weight", self.adalora_orth_reg_weight)
