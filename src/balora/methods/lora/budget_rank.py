"""A parameter budget for uniform-rank LoRA methods (lora, pissa, lora_ga), met through the rank.

A uniform rank r costs r times the cost of rank 1 on the targets, so a budget is met exactly only
when it is a whole number of ranks. Any other budget is refused with the two nearest ranks'
costs rather than silently rounded: a run reported "at budget B" must have spent B (ba_lora and
layerwise spend any budget exactly).
"""

from __future__ import annotations

from balora.counting import lora_parameter_count
from balora.errors import ConfigError
from balora.methods.budget import BudgetOptions
from balora.methods.lora.config import LoraRankOptions

def exact_rank(shapes: dict[str, tuple[int, int]], budget: int) -> int:
    """The uniform rank whose adapter costs exactly ``budget`` on ``shapes``; ConfigError if none does."""
    per_rank = lora_parameter_count(shapes, dict.fromkeys(shapes, 1))
    rank, left = divmod(budget, per_rank)
    if rank < 1 or left:
        nearest = [r for r in (rank, rank + 1) if r >= 1]
        costs = ", ".join(f"rank {r}: {r * per_rank:,}" for r in nearest)
        raise ConfigError("param_budget", f"{budget:,} is not what a uniform rank costs on these targets "
                          f"({per_rank:,} per rank; {costs}); give one of those, or use ba_lora / layerwise, "
                          "which spend any budget exactly")
    return rank


def budgeted_rank(ctx, shapes: dict[str, tuple[int, int]]) -> int:
    """--lora_r, or the rank --param_budget buys exactly (giving both is refused)."""
    rank = ctx.option(LoraRankOptions).lora_r
    budget = ctx.option(BudgetOptions).param_budget
    if budget is None:
        return rank
    if rank != LoraRankOptions().lora_r:
        raise ConfigError("lora_r", f"is derived from --param_budget for {ctx.config.peft_method}; give one of them")
    return exact_rank(shapes, budget)
