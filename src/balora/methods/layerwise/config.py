"""Flags of layer-wise rank schedules."""

from __future__ import annotations

from dataclasses import dataclass

from balora.config import require_positive, setting
from balora.errors import ConfigError

RANK_STRATEGIES = ("linear_decay", "attention_heavy", "empirical", "custom")


@dataclass
class RankScheduleOptions:
    """Layer-wise rank schedules (layerwise)"""

    rank_strategy: str = setting(
        "linear_decay",
        "linear_decay: rank_max at the first layer down to rank_min at the last; attention_heavy: rank_max on "
        "attention, rank_min on feed-forward projections; empirical: lora_r x 0.6 / 1.2 / 1.0 over the early / "
        "middle / late third of the layers; custom: one rank per layer from --rank_config.",
    )
    rank_max: int = setting(16, "Highest rank of a schedule (linear_decay, attention_heavy).")
    rank_min: int = setting(4, "Lowest rank of a schedule (linear_decay, attention_heavy).")
    rank_config: str | None = setting(
        None, 'JSON file for the custom strategy: {"strategy_name": ..., "layer_ranks": [one rank per layer]}.'
    )

    def __post_init__(self) -> None:
        if self.rank_strategy not in RANK_STRATEGIES:
            raise ConfigError("rank_strategy", f"must be one of {', '.join(RANK_STRATEGIES)} "
                              f"(got {self.rank_strategy!r})")
        require_positive("rank_max", self.rank_max)
        require_positive("rank_min", self.rank_min)
        if self.rank_min > self.rank_max:
            raise ConfigError("rank_min", f"must be <= --rank_max {self.rank_max} (got {self.rank_min})")
        if self.rank_strategy == "custom" and not self.rank_config:
            raise ConfigError("rank_config", "the custom strategy needs a JSON file of layer ranks")
