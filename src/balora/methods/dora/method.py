"""DoRA: LoRA's A and B update each weight's direction and a vector (one entry per output
feature) its magnitude. The magnitudes are trained, so they count as adapter parameters: at a
parameter budget the rank is the largest whose A, B and magnitudes fit."""

from __future__ import annotations

from torch import nn

from balora.counting import lora_parameter_count
from balora.errors import ConfigError
from balora.methods.base import MethodContext, PreparedModel
from balora.methods.budget import BudgetOptions
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions
from balora.methods.lora.model import resolve_targets, target_summary, wrap_with_lora


def magnitude_parameters(shapes: dict[str, tuple[int, int]]) -> int:
    """One magnitude per output feature of every target."""
    return sum(out for _, out in shapes.values())


def rank_within(shapes: dict[str, tuple[int, int]], budget: int) -> int:
    """The largest uniform rank whose adapter (A, B and magnitudes) costs at most ``budget``."""
    per_rank = lora_parameter_count(shapes, dict.fromkeys(shapes, 1))
    rank = (budget - magnitude_parameters(shapes)) // per_rank
    if rank < 1:
        raise ConfigError("param_budget", f"{budget:,} is below what DoRA at rank 1 costs on these targets "
                          f"({per_rank + magnitude_parameters(shapes):,})")
    return rank


def prepare_dora(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    lora, budget = ctx.option(LoraOptions), ctx.option(BudgetOptions).param_budget
    shapes = resolve_targets(model, lora.lora_target_modules, ctx.head_modules)
    lora_r = ctx.option(LoraRankOptions).lora_r
    if budget is not None and lora_r != LoraRankOptions().lora_r:
        raise ConfigError("lora_r", "is derived from --param_budget for dora; give one of them")
    rank = lora_r if budget is None else rank_within(shapes, budget)
    peft_model = wrap_with_lora(model, list(shapes), ctx.head_modules, rank, lora.lora_alpha, lora.lora_dropout,
                                use_rslora=ctx.option(RsLoraOptions).use_rslora, use_dora=True)
    magnitudes = magnitude_parameters(shapes)
    allocated = lora_parameter_count(shapes, dict.fromkeys(shapes, rank)) + magnitudes
    ctx.say(f"DoRA: rank {rank} on {len(shapes)} modules; adapter parameters {allocated:,} ({magnitudes:,} of them "
            "magnitudes)" + (f" (budget {budget:,})" if budget else ""))
    return PreparedModel(peft_model, summary={"budget": budget, "allocated": allocated,
                                              "magnitude_parameters": magnitudes,
                                              **target_summary(shapes, dict.fromkeys(shapes, rank))})
