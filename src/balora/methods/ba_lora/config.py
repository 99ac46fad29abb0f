"""Flags of BA-LoRA (Budget-Aware adaptive LoRA)."""

from __future__ import annotations

from dataclasses import dataclass

from balora.config import require_positive, setting
from balora.errors import ConfigError
# The measures of balora.methods.ba_lora.importance, named here so that flags parse without torch.
IMPORTANCE_MEASURES = ("sensitivity", "grad_norm", "nuclear", "spectrum")
WARMSTART_BASES = ("random", "gradient")


@dataclass
class BaLoraOptions:
    """BA-LoRA phases (ba_lora)"""

    ba_lora_base_rank: int = setting(8, "Rank whose uniform-LoRA cost is the default budget; also fixes the scaling.")
    ba_lora_gradient_samples: int = setting(
        1000, "Training examples whose loss gradients measure importance (capped at the training set size)."
    )
    ba_lora_gradient_batch_size: int | None = setting(
        None, "Examples per forward/backward of the importance pass (default: --batch_size); G is summed over "
        "them, so a smaller one changes the pass's memory, not its result."
    )
    # The defaults (spectrum, warm start on, gradient basis) are what configs/ba_lora_v2.yaml supports:
    # level with or ahead of tuned LoRA on every dataset and the steadiest across seeds (docs/results.md).
    ba_lora_importance: str = setting(
        "spectrum", "Importance per module: spectrum: rank r+1 is worth sigma_{r+1}(G)^2 at a cost of in+out "
        "parameters, and the ranks that capture the most of every G within the budget are chosen (pairs with "
        "--ba_lora_warmstart_basis gradient); sensitivity = mean |W*G|, grad_norm = ||G||_F, nuclear = ||G||_*: "
        "ranks in proportion."
    )
    ba_lora_min_rank: int | None = setting(
        None, "Smallest rank a module may get (default: half the base rank, at least 1; 0 lets a module go unadapted)."
    )
    ba_lora_max_rank: int | None = setting(None, "Largest rank a module may get (default: four times the base rank).")
    ba_lora_use_warmstart: bool = setting(
        True, "Start the adapters from one gradient-descent step along the accumulated gradients "
        "(--no-ba_lora_use_warmstart: PEFT's own initialisation)."
    )
    ba_lora_warmstart_basis: str = setting(
        "gradient", "Rows of A for the warm start: gradient (top right singular vectors of G), or random orthonormal."
    )
    ba_lora_use_uniform_ranks: bool = setting(False, "Ablation: the same budget shared with equal ranks.")

    def __post_init__(self) -> None:
        require_positive("ba_lora_base_rank", self.ba_lora_base_rank)
        require_positive("ba_lora_gradient_samples", self.ba_lora_gradient_samples)
        require_positive("ba_lora_gradient_batch_size", self.ba_lora_gradient_batch_size, allow_none=True)
        if self.ba_lora_importance not in IMPORTANCE_MEASURES:
            raise ConfigError("ba_lora_importance", f"must be one of {', '.join(IMPORTANCE_MEASURES)} "
                              f"(got {self.ba_lora_importance!r})")
        if self.ba_lora_warmstart_basis not in WARMSTART_BASES:
            raise ConfigError("ba_lora_warmstart_basis", f"must be one of {', '.join(WARMSTART_BASES)} "
                              f"(got {self.ba_lora_warmstart_basis!r})")
        if self.min_rank < 0:
            raise ConfigError("ba_lora_min_rank", f"must be >= 0 (got {self.min_rank})")
        if self.max_rank < max(1, self.min_rank):
            raise ConfigError("ba_lora_max_rank", f"must be >= max(1, --ba_lora_min_rank) (got {self.max_rank})")

    @property
    def min_rank(self) -> int:
        return max(1, self.ba_lora_base_rank // 2) if self.ba_lora_min_rank is None else self.ba_lora_min_rank

    @property
    def max_rank(self) -> int:
        return 4 * self.ba_lora_base_rank if self.ba_lora_max_rank is None else self.ba_lora_max_rank
