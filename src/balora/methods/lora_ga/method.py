"""LoRA-GA: gradients of the full target weights, estimated on a few training batches, give the
adapter's initial directions; the base keeps W - B0 A0, so the saved adapter is converted to
plain LoRA on the original base (see balora.methods.lora.conversion)."""

from __future__ import annotations

import math
import time
import warnings

import torch
from peft import LoraGAConfig, get_peft_model
from peft.tuners.lora.loraga import preprocess_loraga
from torch import nn

from balora.methods.base import MethodContext, PreparedModel
from balora.methods.examples import device_batches, seeded_order
from balora.methods.lora.budget_rank import budgeted_rank
from balora.methods.lora.config import LoraOptions, RsLoraOptions
from balora.methods.lora.conversion import InitialAdapter
from balora.methods.lora.model import lora_config, peft_task_type, resolve_targets, target_summary
from balora.methods.lora_ga.config import LoraGaOptions
from balora.modeling import training_device
from balora.training.callbacks import NonFiniteLoss


def gradient_batches(ctx: MethodContext, wanted: int, device: torch.device):
    """Batches of a seeded draw of training examples, moved to the device."""
    chosen = seeded_order(len(ctx.train_dataset), ctx.config.seed)[:wanted]
    yield from device_batches(ctx.train_dataset, chosen, ctx.collator, ctx.config.batch_size, device)


def prepare_lora_ga(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    lora, options = ctx.option(LoraOptions), ctx.option(LoraGaOptions)
    shapes = resolve_targets(model, lora.lora_target_modules, ctx.head_modules)
    rank = budgeted_rank(ctx, shapes)
    config = lora_config(list(shapes), ctx.head_modules, rank, lora.lora_alpha, lora.lora_dropout,
                         use_rslora=ctx.option(RsLoraOptions).use_rslora, task_type=peft_task_type(model),
                         init_lora_weights="lora_ga",
                         lora_ga_config=LoraGAConfig(direction=options.lora_ga_direction, scale=options.lora_ga_scale,
                                                     stable_gamma=options.lora_ga_stable_gamma))
    seconds, summary = {}, target_summary(shapes, dict.fromkeys(shapes, rank))
    if ctx.dry_run:  # counting: without gradients PEFT starts LoRA-GA's adapters as plain LoRA, same shapes
        return PreparedModel(get_peft_model(model, config), summary=summary)

    started, losses = time.perf_counter(), []
    device = training_device()
    model.to(device)

    def train_step() -> None:  # PEFT averages the gradients over the backward passes run here
        for batch in gradient_batches(ctx, options.lora_ga_gradient_samples, device):
            loss = model(**batch).loss
            losses.append(loss.item())
            loss.backward()

    with warnings.catch_warnings():  # PEFT counts passes with full backward hooks on weights-only gradients
        warnings.filterwarnings("ignore", message=r"Full backward hook is firing")
        preprocess_loraga(model, config, train_step)
    if not all(map(math.isfinite, losses)):
        raise NonFiniteLoss("non-finite training loss in the gradient estimate of method lora_ga, before any "
                            "training: check the model and data")
    peft_model = get_peft_model(model, config)
    seconds["gradient_seconds"] = time.perf_counter() - started
    initial = InitialAdapter(peft_model)
    samples = min(options.lora_ga_gradient_samples, len(ctx.train_dataset))
    ctx.say(f"LoRA-GA: rank {rank} on {len(shapes)} modules from the gradients of {samples:,} examples "
            f"({len(losses)} batches, mean loss {sum(losses) / len(losses):.4f}); saved as plain LoRA of rank "
            f"{2 * rank} on the original base")
    summary.update(gradient_samples=samples, gradient_mean_loss=sum(losses) / len(losses),
                   saved_rank=2 * rank, direction=options.lora_ga_direction, scale=options.lora_ga_scale)
    return PreparedModel(peft_model, phase_seconds=seconds, summary=summary, save=initial.save_converted)
