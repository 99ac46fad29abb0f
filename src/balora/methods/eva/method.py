"""EVA: each module's A starts as the top right-singular vectors of its inputs on a few training
batches; ranks move to the modules whose inputs need more components to explain their variance.

EVA redistributes a rank budget (--lora_r per module on average), not a parameter budget: where
target modules differ in shape, the adapter it builds costs more or less than uniform LoRA at
--lora_r. Both numbers are recorded.
"""

from __future__ import annotations

import math
import time

from peft import EvaConfig, get_peft_model, initialize_lora_eva_weights
from peft.tuners.lora.eva import prepare_layer_inputs_fn_language_modeling
from torch import nn
from torch.utils.data import DataLoader

from balora.counting import lora_parameter_count
from balora.methods.base import MethodContext, PreparedModel
from balora.methods.eva.config import EvaOptions
from balora.methods.examples import seeded_order
from balora.methods.lora.config import LoraOptions, LoraRankOptions, RsLoraOptions
from balora.methods.lora.model import lora_config, peft_task_type, ranks_by_layer, resolve_targets, target_summary
from balora.modeling import training_device


def layer_inputs(layer_input, model_input, layer_name):
    """The rows of a layer's input that EVA's SVD sees: PEFT's choice (the tokens the attention mask
    keeps) for a layer fed tokens; for a layer fed one vector per example (BERT's pooler reads only
    the first token, so `all-linear` reaches it) that vector, which PEFT's token mask would flatten."""
    tensor = layer_input[0] if isinstance(layer_input, (tuple, list)) else layer_input
    if tensor.dim() == 2:
        return tensor.contiguous()  # the pooler's input is a strided slice; PEFT hashes it with .view
    return prepare_layer_inputs_fn_language_modeling(layer_input, model_input, layer_name)


def adapter_ranks(peft_model: nn.Module, shapes: dict) -> dict[str, int]:
    """Module name (as in ``shapes``) -> its rank after EVA (0: EVA gave it none)."""
    ranks = dict.fromkeys(shapes, 0)
    for name, module in peft_model.base_model.model.named_modules():
        if name in ranks and hasattr(module, "r"):
            ranks[name] = module.r.get("default", 0) if "default" in getattr(module, "lora_A", {}) else 0
    return ranks


def prepare_eva(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    lora, options = ctx.option(LoraOptions), ctx.option(EvaOptions)
    rank = ctx.option(LoraRankOptions).lora_r
    shapes = resolve_targets(model, lora.lora_target_modules, ctx.head_modules)
    # Classification labels are one per example, not per token: no label mask.
    eva = EvaConfig(rho=options.eva_rho, tau=options.eva_tau, whiten=options.eva_whiten, use_label_mask=False)
    config = lora_config(list(shapes), ctx.head_modules, rank, lora.lora_alpha, lora.lora_dropout,
                         use_rslora=ctx.option(RsLoraOptions).use_rslora, task_type=peft_task_type(model),
                         init_lora_weights="eva", eva_config=eva)
    requested = lora_parameter_count(shapes, dict.fromkeys(shapes, rank))
    if ctx.dry_run:  # counting: without data the ranks are uniform (exact where every target has one shape)
        summary = {"rank_budget": rank * len(shapes), "requested_parameters": requested,
                   "allocated": requested, **target_summary(shapes, dict.fromkeys(shapes, rank))}
        config.init_lora_weights = True
        return PreparedModel(get_peft_model(model, config), summary=summary)

    started = time.perf_counter()
    model.to(training_device())
    chosen = ctx.train_dataset.select(seeded_order(len(ctx.train_dataset), ctx.config.seed)[:options.eva_samples])
    # PEFT wants plain dicts, and cycles through them until every SVD has converged. It skips a batch
    # with fewer rows than a module's components (rho x r), so a module fed one row per example (the
    # pooler) would never converge on batches smaller than that: they are made at least that large.
    batch_size = max(ctx.config.batch_size, math.ceil(options.eva_rho * rank))
    loader = [dict(batch) for batch in DataLoader(chosen, batch_size=batch_size, collate_fn=ctx.collator)]
    peft_model = get_peft_model(model, config, low_cpu_mem_usage=True)  # EVA writes every adapter weight
    initialize_lora_eva_weights(peft_model, dataloader=loader, prepare_layer_inputs_fn=layer_inputs,
                                show_progress_bar=False)
    seconds = {"eva_seconds": time.perf_counter() - started}
    ranks = adapter_ranks(peft_model, shapes)
    allocated = lora_parameter_count(shapes, ranks)
    for line in ranks_by_layer(ranks):
        ctx.say(line)
    ctx.say(f"EVA: rank budget {rank * len(shapes)} ({rank} per module, rho {options.eva_rho}) from "
            f"{len(chosen):,} examples; adapter parameters {allocated:,} (uniform LoRA at rank {rank}: "
            f"{requested:,})")
    summary = {"rank_budget": rank * len(shapes), "requested_parameters": requested, "allocated": allocated,
               "eva_samples": len(chosen), **target_summary(shapes, ranks)}
    return PreparedModel(peft_model, phase_seconds=seconds, summary=summary)
