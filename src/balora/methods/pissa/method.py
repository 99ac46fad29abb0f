"""PiSSA: the adapter starts as the top-r singular part of each weight, the base keeps the rest.

Training changes the base (W -> W - B0 A0), so the saved adapter is converted to plain LoRA on
the original base (see balora.methods.lora.conversion).
"""

from __future__ import annotations

from torch import nn

from balora.methods.base import MethodContext, PreparedModel
from balora.methods.lora.budget_rank import budgeted_rank
from balora.methods.lora.config import LoraOptions, RsLoraOptions
from balora.methods.lora.conversion import InitialAdapter
from balora.methods.lora.model import resolve_targets, target_summary, wrap_with_lora
from balora.methods.pissa.config import PissaOptions


def prepare_pissa(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    lora, options = ctx.option(LoraOptions), ctx.option(PissaOptions)
    shapes = resolve_targets(model, lora.lora_target_modules, ctx.head_modules)
    rank = budgeted_rank(ctx, shapes)
    # Counting needs only the shapes; a dry run's base shares its weights with other counts, so
    # it must not be decomposed.
    init = True if ctx.dry_run else options.init_lora_weights
    peft_model = wrap_with_lora(model, list(shapes), ctx.head_modules, rank, lora.lora_alpha,
                                lora.lora_dropout, use_rslora=ctx.option(RsLoraOptions).use_rslora, init_lora_weights=init)
    initial = None if ctx.dry_run else InitialAdapter(peft_model)
    ctx.say(f"PiSSA ({options.init_lora_weights}): rank {rank} on {len(shapes)} modules; saved as plain "
            f"LoRA of rank {2 * rank} on the original base")
    summary = {"init_lora_weights": options.init_lora_weights, "saved_rank": 2 * rank,
               **target_summary(shapes, dict.fromkeys(shapes, rank))}
    return PreparedModel(peft_model, summary=summary, save=initial.save_converted if initial else None)
