"""BA-LoRA: importance from one short gradient pass, exact-budget ranks, warm start, then LoRA.

The four phases run inside ``prepare``; phase 4 hands a plain PEFT LoRA model (per-module ranks
in ``rank_pattern``) to the ordinary training loop, so the saved adapter is a plain PEFT adapter.
"""

from __future__ import annotations

import gc
import math
import time

from torch import nn

from balora.counting import lora_parameter_count
from balora.allocation import allocate_ranks, check_budget, check_budget_adapts_a_module, uniform_budget
from balora.methods.ba_lora.config import BaLoraOptions
from balora.methods.ba_lora.importance import accumulate_gradients, importance_scores, shard, spectra
from balora.methods.ba_lora.warmstart import WarmStart, load_into_peft, warm_start
from balora.methods.base import MethodContext, PreparedModel
from balora.methods.budget import BudgetOptions
from balora.methods.examples import device_batches, seeded_order
from balora.methods.lora.config import LoraOptions, RsLoraOptions
from balora.methods.lora.model import ranks_by_layer, resolve_targets, target_summary, wrap_with_rank_pattern
from balora.modeling import training_device
from balora.spectral_allocation import allocate_by_gains, gains_from_singular_values
from balora.training.callbacks import NonFiniteLoss


def choose_examples(train_size: int, wanted: int, calibration_size: int, seed: int) -> tuple[list[int], list[int]]:
    """Gradient samples, then a held calibration batch from the rest (or from the samples if none is left)."""
    order = seeded_order(train_size, seed)
    samples = order[:min(wanted, train_size)]
    held = order[len(samples):len(samples) + calibration_size]
    return samples, held or samples[:calibration_size]


def prepare_ba_lora(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    lora, options = ctx.option(LoraOptions), ctx.option(BaLoraOptions)
    config, say = ctx.config, ctx.say
    shapes = resolve_targets(model, lora.lora_target_modules, ctx.head_modules)
    budget = ctx.option(BudgetOptions).param_budget
    if budget is None:
        budget = uniform_budget(shapes, options.ba_lora_base_rank)
        say(f"Budget: {budget:,} adapter parameters (uniform LoRA at rank {options.ba_lora_base_rank} "
            f"on {len(shapes)} target matrices)")
    check_budget(shapes, budget, options.min_rank)  # refuse before spending a gradient pass
    check_budget_adapts_a_module(shapes, budget)
    seconds, artifacts, start = {}, {}, WarmStart(reason="not requested")
    device = training_device()
    model.to(device)

    resumed = (ctx.resumed_state or {}).get("rank_allocation")
    if resumed:  # the checkpoint holds the trained adapter; only the ranks are needed to rebuild it
        ranks = {name: entry["rank"] for name, entry in resumed["modules"].items()}
        # what phases 1-3 cost and did is part of this run's results, though they ran before the interruption
        seconds = dict(resumed.get("phase_seconds", {}))
        warm_start_summary = resumed.get("warm_start", {"requested": options.ba_lora_use_warmstart,
                                                        "not_recorded": "rank_allocation.json predates this field"})
        say("Resuming: rank allocation kept with the checkpoint; phases 1-3 skipped")
    elif ctx.dry_run:  # counting only: any importance gives the same total, so equal importance will do
        ranks = allocate_ranks(shapes, dict.fromkeys(shapes, 1.0), budget, options.min_rank, options.max_rank).ranks
        say("Ranks at equal importance; phase 1's gradients decide the real pattern, at the same total")
        warm_start_summary = {"requested": options.ba_lora_use_warmstart, "modules_initialised": 0,
                              "fallback_reason": "counting only: no gradient pass"}
    else:
        say("[Phase 1/4] Importance")
        started = time.perf_counter()
        samples, calibration = choose_examples(len(ctx.train_dataset), options.ba_lora_gradient_samples,
                                               config.batch_size, config.seed)
        micro_batch = options.ba_lora_gradient_batch_size or config.batch_size
        gradient_pass = accumulate_gradients(
            model, shapes, device_batches(ctx.train_dataset, shard(samples), ctx.collator, micro_batch, device),
            num_examples=len(samples))
        gc.collect()  # the batches' graphs are gone; cycles among what they held go before training's peak is measured
        modules = dict(model.named_modules())
        scores = importance_scores(gradient_pass.gradients, modules, options.ba_lora_importance)
        if not math.isfinite(gradient_pass.mean_loss) or not all(map(math.isfinite, scores.values())):
            raise NonFiniteLoss(f"non-finite training loss ({gradient_pass.mean_loss}) or gradients in the importance "
                                "pass (phase 1) of method ba_lora, before any training: check the model and data")
        spectrum = spectra(gradient_pass.gradients, options.max_rank) if options.ba_lora_importance == "spectrum" else None
        seconds["importance_seconds"] = time.perf_counter() - started
        say(f"Measured {len(scores)} target matrices on {len(samples):,} gradient samples; "
            f"average loss {gradient_pass.mean_loss:.4f} ({options.ba_lora_importance})")
        artifacts["importance.json"] = {
            "measure": options.ba_lora_importance, "scores": scores, "mean_loss": gradient_pass.mean_loss,
            "num_examples": len(samples), "gradient_batch_size": micro_batch, "sample_indices": samples,
            "calibration_indices": calibration, **({"singular_values": spectrum} if spectrum else {})}

        say("[Phase 2/4] Allocation")
        started = time.perf_counter()
        if options.ba_lora_use_uniform_ranks:
            allocation = allocate_ranks(shapes, dict.fromkeys(scores, 1.0), budget, options.min_rank, options.max_rank)
        elif spectrum:
            gains = {name: gains_from_singular_values(values, options.max_rank) for name, values in spectrum.items()}
            allocation = allocate_by_gains(shapes, gains, budget, options.min_rank, options.max_rank)
        else:
            allocation = allocate_ranks(shapes, scores, budget, options.min_rank, options.max_rank)
        seconds["allocation_seconds"] = time.perf_counter() - started
        ranks = allocation.ranks
        for line in ranks_by_layer(ranks):
            say(line)
        say(f"Total parameters: {allocation.allocated:,} (budget {budget:,})")
        artifacts["rank_allocation.json"] = {
            "budget": budget, "allocated": allocation.allocated, "slack": allocation.slack,
            "min_rank": options.min_rank, "max_rank": options.max_rank, "base_rank": options.ba_lora_base_rank,
            "importance_measure": options.ba_lora_importance, "uniform_ranks": options.ba_lora_use_uniform_ranks,
            "modules": {name: {"shape": list(shapes[name]), "importance": scores[name], "rank": rank,
                               "parameters": lora_parameter_count({name: shapes[name]}, {name: rank})}
                        for name, rank in ranks.items()}}

        if options.ba_lora_use_warmstart:
            say("[Phase 3/4] Warm start")
            started = time.perf_counter()
            calibration_batch = next(device_batches(ctx.train_dataset, calibration, ctx.collator, len(calibration), device))
            start = warm_start(model, gradient_pass.gradients, ranks, calibration_batch,
                               options.ba_lora_warmstart_basis, config.seed)
            seconds["warmstart_seconds"] = time.perf_counter() - started
            if start.applied:
                say(f"Initialised {len(start.lora_a)} modules (step {start.eta:.3g}; calibration loss "
                    f"{start.loss_before:.4f} -> {start.loss_after:.4f})")
            else:
                say(f"WARNING: No gradients available for warm-start ({start.reason}); using zero init")
        else:
            say("[Phase 3/4] Warm start: off (standard LoRA init)")
        del gradient_pass
        gc.collect()  # nothing of phases 1-3 but the warm start's A and B0 (adapter-sized) outlives them
        warm_start_summary = {
            "requested": options.ba_lora_use_warmstart, "modules_initialised": len(start.lora_a) if start.applied else 0,
            "eta": start.eta, "calibration_loss_before": start.loss_before,
            "calibration_loss_after": start.loss_after, "fallback_reason": None if start.applied else start.reason}
        artifacts["rank_allocation.json"].update(phase_seconds=seconds, warm_start=warm_start_summary)

    say("[Phase 4/4] Train")
    active = {name: rank for name, rank in ranks.items() if rank > 0}
    peft_model = wrap_with_rank_pattern(model, ranks, ctx.head_modules, lora, options.ba_lora_base_rank,
                                        use_rslora=ctx.option(RsLoraOptions).use_rslora)
    if start.applied:
        load_into_peft(peft_model, start)
    allocation = resumed or artifacts.get("rank_allocation.json")
    return PreparedModel(
        peft_model, artifacts=artifacts, phase_seconds=seconds,
        resume_state=(lambda: {"rank_allocation": allocation}) if allocation else None,
        summary={"budget": budget, "allocated": lora_parameter_count(shapes, active),
                 **target_summary(shapes, ranks), "warm_start": warm_start_summary},
    )
