"""plateau_lora: LoRA that starts small and grows its rank when the validation loss plateaus."""

from __future__ import annotations


from torch import nn

from balora.counting import count_parameters, lora_parameter_count
from balora.errors import UserError
from balora.methods.base import AfterTraining, MethodContext, PreparedModel
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions
from balora.methods.lora.model import resolve_targets, target_summary, wrap_with_lora
from balora.methods.plateau.callback import PlateauGrowth
from balora.methods.plateau.config import DEFAULT_CHECK_STEPS, PlateauOptions
from balora.processes import this_process


def prepare_plateau_lora(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    lora, options = ctx.option(LoraOptions), ctx.option(PlateauOptions)
    if this_process().world_size > 1:
        raise UserError("--peft_method plateau_lora runs in one process only: growing parameters under "
                        "DistributedDataParallel is not supported")
    shapes = resolve_targets(model, lora.lora_target_modules, ctx.head_modules)
    state = {"rank": options.plateau_initial_rank, "best_loss": float("inf"), "checks_without_improvement": 0,
             "peak_adapter": 0, "growths": []}
    if ctx.resumed_state is not None:  # the checkpoint's adapter has the rank reached by then
        state = ctx.resumed_state
        ctx.say(f"Resuming at rank {state['rank']} ({len(state['growths'])} growths so far)")
    rank = state["rank"]
    check_steps = ctx.config.eval_steps or DEFAULT_CHECK_STEPS
    # Scaled like uniform LoRA at --lora_r (alpha / lora_r) at every rank, so growth keeps the step size.
    peft_model = wrap_with_lora(model, list(shapes), ctx.head_modules, rank, lora.lora_alpha * rank / ctx.option(LoraRankOptions).lora_r,
                                lora.lora_dropout, use_rslora=ctx.option(RsLoraOptions).use_rslora)
    start = count_parameters(peft_model, ctx.head_modules).adapter
    state["peak_adapter"] = max(state["peak_adapter"], start)
    ctx.say(f"Plateau LoRA: rank {rank} on {len(shapes)} modules, growing by {options.plateau_rank_step} up to "
            f"{options.plateau_max_rank} after {options.plateau_patience} checks (every {check_steps} "
            f"steps) without a better validation loss")
    most = lora_parameter_count(shapes, dict.fromkeys(shapes, options.plateau_max_rank))
    summary = {"initial_rank": options.plateau_initial_rank, "max_rank": options.plateau_max_rank,
               "initial_adapter_parameters": start, "max_adapter_parameters": most,
               "growths": state["growths"],
               **target_summary(shapes, dict.fromkeys(shapes, rank))}

    def after_training(trained: nn.Module) -> AfterTraining:
        now = count_parameters(trained, ctx.head_modules)
        final_rank = trained.peft_config[trained.active_adapter].r
        return AfterTraining(now.with_adapter(now.adapter, max(state["peak_adapter"], now.adapter)),
                             {"final_rank": final_rank, "rank_pattern": dict.fromkeys(shapes, final_rank)})

    callback = PlateauGrowth(options, check_steps, state, ctx.validation_dataset, ctx.collator, ctx.head_modules,
                             ctx.record, ctx.say, ctx.config.seed)
    return PreparedModel(peft_model, callbacks=[callback], summary=summary, resume_state=lambda: state,
                         after_training=after_training,
                         planned_counts=lambda held: held.with_adapter(held.adapter, most))
