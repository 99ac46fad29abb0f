"""AdaLoRA through PEFT: SVD-shaped adapters whose ranks are pruned during training."""

from __future__ import annotations

import warnings

from peft import AdaLoraConfig, get_peft_model
from torch import nn

from balora.counting import count_parameters
from balora.methods.adalora.callback import AdaLoraRankUpdate, ranks_from_pattern
from balora.methods.adalora.config import AdaLoraOptions
from balora.methods.adalora.schedule import (
    adalora_parameter_count,
    adalora_schedule,
    optimizer_steps,
    target_rank_for_budget,
)
from balora.methods.base import AfterTraining, MethodContext, PreparedModel
from balora.methods.budget import BudgetOptions
from balora.methods.lora.config import LoraOptions
from balora.methods.lora.model import peft_task_type, resolve_targets, target_summary
from balora.processes import this_process



def save_pruned(model: nn.Module, directory: str) -> None:
    # A module AdaLoRA pruned to rank 0 saves zero-sized tensors, which PEFT mistakes for unsharded
    # ZeRO-3/FSDP weights; the adapter is complete and reloads as saved.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*LoRA tensor\(s\) have invalid shape")
        model.save_pretrained(directory)


def prepare_adalora(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    lora, options, config = ctx.option(LoraOptions), ctx.option(AdaLoraOptions), ctx.config
    shapes = resolve_targets(model, lora.lora_target_modules, ctx.head_modules)
    budget = ctx.option(BudgetOptions).param_budget
    init_r = options.adalora_init_r
    target_r = options.adalora_target_r if budget is None else target_rank_for_budget(shapes, budget, init_r)
    # total_step must be known before training; the callback checks it against the Trainer's own count.
    # counting has no data: one batch stands in (the schedule changes no count)
    train_size = config.batch_size if ctx.dry_run else len(ctx.train_dataset)
    total = optimizer_steps(train_size, config.batch_size, config.gradient_accumulation_steps, config.epochs,
                            this_process().world_size)
    requested = (options.adalora_tinit, options.adalora_tfinal, options.adalora_delta_t)
    schedule = adalora_schedule(total, *requested)
    peak = adalora_parameter_count(shapes, dict.fromkeys(shapes, init_r))
    final = adalora_parameter_count(shapes, dict.fromkeys(shapes, target_r))
    ctx.say(f"AdaLoRA: init_r {init_r} -> target_r {target_r} on {len(shapes)} modules; adapter parameters "
            f"{peak:,} held during training, about {final:,} kept" + (f" (budget {budget:,})" if budget else ""))
    ctx.say(f"AdaLoRA schedule: {schedule.total_step} steps, pruning from step {schedule.tinit} every "
            f"{schedule.delta_t}, final ranks fixed at step {schedule.final_step}")
    peft_model = get_peft_model(model, AdaLoraConfig(
        task_type=peft_task_type(model), init_r=init_r, target_r=target_r, tinit=schedule.tinit,
        tfinal=schedule.tfinal, deltaT=schedule.delta_t, beta1=options.adalora_beta1, beta2=options.adalora_beta2,
        orth_reg_weight=options.adalora_orth_reg_weight, total_step=schedule.total_step,
        target_modules=list(shapes), lora_alpha=lora.lora_alpha, lora_dropout=lora.lora_dropout,
        modules_to_save=ctx.head_modules))
    summary = {"budget": budget, "init_r": init_r, "target_r": target_r, "peak_adapter_parameters": peak,
               "expected_final_adapter_parameters": final, "schedule": vars(schedule),
               **target_summary(shapes, dict.fromkeys(shapes, init_r))}

    def after_training(trained: nn.Module) -> AfterTraining:
        adalora = trained.base_model
        pattern = adalora.peft_config[adalora.trainable_adapter_name].rank_pattern
        ranks = ranks_from_pattern(pattern) if pattern else dict.fromkeys(shapes, init_r)
        held = count_parameters(trained, ctx.head_modules)
        return AfterTraining(held.with_adapter(adalora_parameter_count(shapes, ranks), peak),
                             {"final_rank_pattern": ranks})

    callback = AdaLoraRankUpdate(schedule, requested, ctx.record, ctx.say, ctx.resumed_state)
    return PreparedModel(peft_model, callbacks=[callback], summary=summary,
                         after_training=after_training, save=save_pruned,
                         resume_state=lambda: callback.resume_state(peft_model),
                         planned_counts=lambda held: held.with_adapter(final, held.adapter))
