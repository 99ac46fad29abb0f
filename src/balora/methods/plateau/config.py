"""Flags of plateau_lora: LoRA whose rank grows when the validation loss stops improving."""

from __future__ import annotations

from dataclasses import dataclass

from balora.config import require_positive, setting
from balora.errors import ConfigError

# Without --eval_steps (evaluation once per epoch) the plateau is still checked this often.
DEFAULT_CHECK_STEPS = 50


@dataclass
class PlateauOptions:
    """Rank growth on loss plateau (plateau_lora)"""

    plateau_initial_rank: int = setting(2, "Rank of every target module at the start.")
    plateau_max_rank: int = setting(8, "Rank a module never grows beyond.")
    plateau_rank_step: int = setting(2, "Ranks added to every module at each growth.")
    plateau_patience: int = setting(3, "Validation checks without a new best loss before the rank grows.")

    def __post_init__(self) -> None:
        for name in ("plateau_initial_rank", "plateau_max_rank", "plateau_rank_step", "plateau_patience"):
            require_positive(name, getattr(self, name))
        if self.plateau_max_rank < self.plateau_initial_rank:
            raise ConfigError("plateau_max_rank", f"must be >= --plateau_initial_rank {self.plateau_initial_rank} "
                              f"(got {self.plateau_max_rank})")
