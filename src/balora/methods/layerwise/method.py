"""Layer-wise rank schedules: hand-made rank shapes over depth, optionally rescaled to a budget."""

from __future__ import annotations

from torch import nn

from balora.counting import lora_parameter_count
from balora.methods.base import MethodContext, PreparedModel
from balora.methods.budget import BudgetOptions
from balora.methods.layerwise.config import RankScheduleOptions
from balora.methods.layerwise.schedules import (
    attention_heavy_ranks,
    empirical_ranks,
    linear_decay_ranks,
    ranks_by_layer_schedule,
    read_custom_ranks,
    rescale_to_budget,
)
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions
from balora.methods.lora.model import ranks_by_layer, resolve_targets, target_summary, wrap_with_rank_pattern
from balora.modeling import detect_all_block_modules, transformer_layers


def schedule_ranks(names: list[str], num_layers: int, schedule: RankScheduleOptions, base_rank: int) -> tuple[str, dict]:
    """(strategy name, module -> rank) before any budget matching."""
    strategy = schedule.rank_strategy
    if strategy == "attention_heavy":
        return strategy, attention_heavy_ranks(names, schedule.rank_max, schedule.rank_min)
    if strategy == "custom":
        strategy, layer_ranks = read_custom_ranks(schedule.rank_config, num_layers)
    elif strategy == "empirical":
        layer_ranks = empirical_ranks(num_layers, base_rank)
    else:
        layer_ranks = linear_decay_ranks(num_layers, schedule.rank_max, schedule.rank_min)
    return strategy, ranks_by_layer_schedule(names, layer_ranks, outside_layers=base_rank)


def prepare_layerwise(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    lora, schedule = ctx.option(LoraOptions), ctx.option(RankScheduleOptions)
    reference_rank = ctx.option(LoraRankOptions).lora_r
    budget = ctx.option(BudgetOptions).param_budget
    requested = lora.lora_target_modules
    if requested is None and schedule.rank_strategy == "attention_heavy":
        requested = detect_all_block_modules(model)  # the strategy compares attention with feed-forward
    shapes = resolve_targets(model, requested, ctx.head_modules)
    strategy, ranks = schedule_ranks(list(shapes), len(transformer_layers(model)[1]), schedule, reference_rank)
    scheduled_cost = lora_parameter_count(shapes, ranks)
    if budget is not None:
        ranks = rescale_to_budget(shapes, ranks, budget).ranks
    allocated = lora_parameter_count(shapes, ranks)
    ctx.say(f"Rank strategy {strategy}" + (f", rescaled from {scheduled_cost:,} parameters" if budget else ""))
    for line in ranks_by_layer(ranks):
        ctx.say(line)
    ctx.say(f"Total parameters: {allocated:,}" + (f" (budget {budget:,})" if budget else ""))
    peft_model = wrap_with_rank_pattern(model, ranks, ctx.head_modules, lora, reference_rank=reference_rank,
                                        use_rslora=ctx.option(RsLoraOptions).use_rslora)
    return PreparedModel(peft_model, summary={
        "rank_strategy": strategy, "scheduled_parameters": scheduled_cost, "budget": budget,
        "allocated": allocated, **target_summary(shapes, ranks)})
