"""Fixed-rank LoRA: the same rank on every target module."""

from __future__ import annotations

from torch import nn

from balora.methods.base import MethodContext, PreparedModel
from balora.methods.lora.config import LoraOptions
from balora.methods.lora.model import resolve_targets, target_summary, wrap_with_lora


def prepare_lora(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    options: LoraOptions = ctx.option(LoraOptions)
    shapes = resolve_targets(model, options.lora_target_modules, ctx.head_modules)
    peft_model = wrap_with_lora(
        model, list(shapes), ctx.head_modules, options.lora_r, options.lora_alpha, options.lora_dropout,
        use_rslora=options.use_rslora,
    )
    return PreparedModel(peft_model, summary=target_summary(shapes, dict.fromkeys(shapes, options.lora_r)))
