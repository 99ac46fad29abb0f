"""The trainable-parameter budget that budget-aware methods share."""

from __future__ import annotations

from dataclasses import dataclass

from balora.config import require_positive, setting


@dataclass
class BudgetOptions:
    """Parameter budget"""

    param_budget: int | None = setting(
        None, "Adapter parameters to spend; what a method does with them (and without them) is in its own help: "
        "`balora train --peft_method METHOD --help`."
    )

    def __post_init__(self) -> None:
        require_positive("param_budget", self.param_budget, allow_none=True)


# --param_budget of uniform-rank LoRA methods (balora.methods.lora.budget_rank)
BUDGET_AS_RANK = ("Adapter parameters to spend, met through the rank: the uniform rank that costs exactly this "
                  "(refused, with the nearest ranks' costs, when no rank does; default: rank --lora_r).")


# How a study matches a method to a budget: (budget, adapter parameters of one rank on every
# target module) -> the method's settings. A method without one cannot be matched to a budget.

def spend_param_budget(budget: int, rank_cost: int) -> dict:
    """Budget-aware methods spend the budget themselves."""
    return {"param_budget": budget}


def uniform_rank_within(budget: int, rank_cost: int) -> dict:
    """Uniform LoRA: the largest rank whose cost fits the budget."""
    if budget < rank_cost:
        raise ValueError(f"below what rank 1 on every target module costs ({rank_cost:,})")
    return {"lora_r": budget // rank_cost}


def growth_cap_within(budget: int, rank_cost: int) -> dict:
    """A growing adapter may reach, never pass, the budget."""
    if budget < rank_cost:
        raise ValueError(f"below what rank 1 on every target module costs ({rank_cost:,})")
    return {"plateau_max_rank": budget // rank_cost}


def spend_param_budget_from_wider_start(budget: int, rank_cost: int) -> dict:
    """AdaLoRA spends the budget and starts, as in its paper, at 1.5 times the rank it keeps.

    (``adalora_target_r`` is derived from the budget by the method itself; the value here only
    keeps it consistent with the start rank.)
    """
    kept = max(1, round(budget / rank_cost))
    return {"param_budget": budget, "adalora_init_r": max(2, -(-3 * kept // 2)), "adalora_target_r": kept}


def spend_param_budget_around_its_rank(budget: int, rank_cost: int) -> dict:
    """BA-LoRA spends the budget with its base rank (hence its rank bounds and scaling) at the
    rank of uniform LoRA with that budget, so that it is compared with LoRA at that rank."""
    return {"param_budget": budget, "ba_lora_base_rank": max(1, budget // rank_cost)}
