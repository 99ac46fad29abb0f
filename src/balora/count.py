"""`balora count`: what a configuration would train, without data or training.

The model is built by the method's own ``prepare`` (in dry-run mode), so the counts are those of
the model training would start from, by construction.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from balora.config import TrainConfig
from balora.counting import count_parameters
from balora.errors import UserError
from balora.methods import MethodContext, check_options_apply, get_method
from balora.methods.lora.model import ranks_by_layer
from balora.memory.accounting import MB, model_bytes
from balora.modeling import LoadedModel, load_model
from balora.quantization import QuantizationOptions, quantization_summary


def count_configuration(config: TrainConfig, options: dict[type, object], num_labels: int | None,
                        say: Callable[[str], None] = lambda line: None, base: LoadedModel | None = None) -> dict:
    """Parameter counts (adapter, head, trainable, total, peak_adapter) and rank pattern of a configuration.

    ``num_labels`` None: a causal language model (prompt / response data), which has no new head.
    ``base``: the loaded model to count on (a copy is prepared), so that counting many
    configurations of one model loads it once.
    """
    method = get_method(config.peft_method)
    check_options_apply(method, options)
    options = {cls: options[cls] for cls in method.option_classes}
    quantization = options.get(QuantizationOptions)
    base_bytes = None  # a shared base (a study's dry run) is loaded in full precision: counts only
    if base is None:
        loaded = load_model(config.model_name_or_path, num_labels, config.seed, quantization=quantization)
        base_bytes = model_bytes(loaded.model)
    else:
        loaded = LoadedModel(_copy_sharing_weights(base.model), list(base.head_modules))
    context = MethodContext(config=config, options=options, head_modules=loaded.head_modules, train_dataset=None,
                            collator=None, say=say, dry_run=True)
    prepared = method.prepare(loaded.model, context)
    counts = count_parameters(prepared.model, loaded.head_modules)
    if prepared.planned_counts is not None:
        counts = prepared.planned_counts(counts)
    summary = prepared.summary
    memory = {**quantization_summary(quantization), "base_model_bytes": base_bytes,
              "adapter_bytes_estimate": counts.trainable * _bytes_per_trainable_weight(prepared.model)}
    return {"method": method.name, "model_name_or_path": config.model_name_or_path, "num_labels": num_labels,
            "parameters": counts.as_dict(), "rank_pattern": summary.get("rank_pattern"), "summary": summary,
            "memory": memory}


def _bytes_per_trainable_weight(model) -> int:
    """What the saved adapter stores per trained weight (its dtype's size; 4 for float32)."""
    return next((p.element_size() for p in model.parameters() if p.requires_grad), 4)


def capped_count(counts: dict[str, int]) -> int:
    """What --max_trainable_parameters limits: adapter + head, the adapter at the most it holds
    during training (AdaLoRA's initial ranks, plateau_lora's largest rank)."""
    return counts["peak_adapter"] + counts["head"]


def cap_line(counts: dict[str, int], cap: int) -> str:
    held = capped_count(counts)
    verdict = "within" if held <= cap else "ABOVE"
    return f"{held:,} trainable (adapter {counts['peak_adapter']:,} + head {counts['head']:,}), {verdict} the cap of {cap:,}"


def check_trainable_cap(name: str, counts: dict[str, int], cap: int | None) -> None:
    """One line naming the configuration and its count when it exceeds the cap."""
    if cap is not None and capped_count(counts) > cap:
        raise UserError(f"{name}: {cap_line(counts, cap)} (--max_trainable_parameters); nothing was trained")


def _copy_sharing_weights(model):
    """A copy whose modules are new but whose weights are the base's: counting changes no weight,
    and cloning 100M+ parameters per configuration would dominate a study's dry run."""
    memo = {id(p): torch.nn.Parameter(p.data, requires_grad=p.requires_grad) for p in model.parameters()}
    memo.update({id(b): b for b in model.buffers()})
    return copy.deepcopy(model, memo)


def print_counts(report: dict, cap: int | None = None) -> None:
    counts = report["parameters"]
    head = f"{report['num_labels']} classes" if report["num_labels"] is not None else "causal language model"
    print(f"Method {report['method']} on {report['model_name_or_path']} ({head})")
    if report["rank_pattern"]:
        for line in ranks_by_layer(report["rank_pattern"]):
            print(f"  {line}")
    print(f"Adapter parameters:   {counts['adapter']:>12,}")
    if counts["peak_adapter"] != counts["adapter"]:
        print(f"Peak during training: {counts['peak_adapter']:>12,}")
    print(f"Head parameters:      {counts['head']:>12,}")
    print(f"Trainable parameters: {counts['trainable']:>12,}")
    print(f"Total parameters:     {counts['total']:>12,}")
    memory = report.get("memory") or {}
    if memory.get("base_model_bytes") is not None:
        print(f"Base model as loaded: {memory['base_model_bytes'] / MB:>12,.2f} MB ({memory['quantization']})")
        print(f"Adapter as saved:     {memory['adapter_bytes_estimate'] / MB:>12,.2f} MB (trainable weights; "
              "the file adds a small header)")
    if cap is not None:
        print(f"Cap:                  {cap:>12,}  ({cap_line(counts, cap)})")
