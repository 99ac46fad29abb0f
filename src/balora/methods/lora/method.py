"""Fixed-rank LoRA: the same rank on every target module."""

from __future__ import annotations

from torch import nn

from balora.methods.base import MethodContext, PreparedModel
from balora.methods.lora.budget_rank import budgeted_rank
from balora.methods.lora.config import LoraOptions, RsLoraOptions
from balora.methods.lora.model import resolve_targets, target_summary, wrap_with_lora


def prepare_lora(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    lora = ctx.option(LoraOptions)
    shapes = resolve_targets(model, lora.lora_target_modules, ctx.head_modules)
    rank = budgeted_rank(ctx, shapes)
    peft_model = wrap_with_lora(model, list(shapes), ctx.head_modules, rank, lora.lora_alpha, lora.lora_dropout,
                                use_rslora=ctx.option(RsLoraOptions).use_rslora)
    return PreparedModel(peft_model, summary=target_summary(shapes, dict.fromkeys(shapes, rank)))
