"""The trainable-parameter budget that budget-aware methods share."""

from __future__ import annotations

from dataclasses import dataclass

from balora.config import require_positive, setting


@dataclass
class BudgetOptions:
    """Parameter budget (ba_lora, adalora, layerwise)"""

    param_budget: int | None = setting(
        None, "Adapter parameters to spend (default: what uniform LoRA at the base rank costs on the same modules)."
    )

    def __post_init__(self) -> None:
        require_positive("param_budget", self.param_budget, allow_none=True)
