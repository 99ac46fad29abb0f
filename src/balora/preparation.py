"""One way from settings to the model a method trains: resolve the method, keep the options it
reads, load the base (quantized where asked), check its ranks against the model, prepare.

`balora train`, `balora count` (and a study's dry run, through ``count_configuration``) and the
measured step of `balora memory` all build their model here, so what is counted and measured is
what trains, by construction.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from balora.config import TrainConfig
from balora.counting import ParameterCounts, count_parameters
from balora.errors import ConfigError
from balora.memory.accounting import model_bytes
from balora.methods import Method, MethodContext, PreparedModel, check_options_apply, get_method
from balora.modeling import LoadedModel, load_model
from balora.quantization import QuantizationOptions, quantization_summary


def resolve_method(peft_method: str, options: dict[type, object]) -> tuple[Method, dict[type, object]]:
    """The method and the options it reads (settings it never reads, changed from their defaults, refused)."""
    method = get_method(peft_method)
    check_options_apply(method, options)
    return method, {cls: options[cls] for cls in method.option_classes}


def quantization_of(options: dict[type, object]) -> QuantizationOptions | None:
    """The base's quantization, for methods that read it (None: loaded as stored)."""
    return options.get(QuantizationOptions)


def check_rank_limits(method: Method, options: dict[type, object], model, head_modules: list[str]) -> None:
    """A rank above a target matrix's smaller dimension adds parameters and no expressiveness (the
    product B A cannot exceed that rank), so it is refused, naming the flag and the limit."""
    values = {f.name: getattr(option, f.name) for option in options.values() for f in dataclasses.fields(option)}
    asked = {flag: values[flag] for flag in method.rank_flags if values.get(flag) is not None}
    if not asked:
        return
    from balora.methods.lora.config import LoraOptions
    from balora.methods.lora.model import resolve_targets

    lora = options.get(LoraOptions)
    shapes = resolve_targets(model, lora.lora_target_modules if lora else None, head_modules)
    name, shape = min(shapes.items(), key=lambda item: min(item[1]))
    limit = min(shape)
    for flag, rank in asked.items():
        if rank > limit:
            raise ConfigError(flag, f"rank {rank:,} is above {limit:,}, the smaller dimension of the target matrix "
                              f"{name} ({shape[0]} x {shape[1]}); a larger rank adds parameters, not expressiveness: "
                              f"use at most {limit:,}")


def prepare_loaded(method: Method, model, context: MethodContext) -> PreparedModel:
    """The method's ``prepare`` on a loaded model, after the checks every method gets."""
    check_rank_limits(method, context.options, model, context.head_modules)
    return method.prepare(model, context)


@dataclass
class Prepared:
    method: Method
    options: dict[type, object]  # the options the method reads
    loaded: LoadedModel  # the base as loaded (or the copy of a shared one)
    prepared: PreparedModel
    base_bytes: int | None  # the base's weights as loaded, before preparing; None for a shared base


def prepare_method(config: TrainConfig, options: dict[type, object], num_labels: int | None,
                   say: Callable[[str], None] = lambda line: None, base: LoadedModel | None = None) -> Prepared:
    """The model of a configuration without data (dry-run mode: no gradient passes; BA-LoRA's
    ranks at equal importance). ``num_labels`` None: a causal language model, with no new head.
    ``base``: a loaded model to prepare a copy of (its weights shared), so that preparing many
    configurations of one model loads it once."""
    method, options = resolve_method(config.peft_method, options)
    method.check(config, options, causal_lm=num_labels is None)
    if base is None:
        loaded = load_model(config.model_name_or_path, num_labels, config.seed, quantization=quantization_of(options))
        base_bytes = model_bytes(loaded.model)
    else:
        loaded = LoadedModel(_copy_sharing_weights(base.model), list(base.head_modules))
        base_bytes = None
    context = MethodContext(config=config, options=options, head_modules=loaded.head_modules, train_dataset=None,
                            collator=None, say=say, dry_run=True)
    return Prepared(method, options, loaded, prepare_loaded(method, loaded.model, context), base_bytes)


@dataclass(frozen=True)
class CountReport:
    """What `balora count` reports of a configuration (and a study's dry run, the cap check of a run)."""

    method: str
    model_name_or_path: str
    num_labels: int | None  # None: a causal language model
    parameters: ParameterCounts
    rank_pattern: dict[str, int] | None  # module -> rank, for methods with one
    summary: dict  # the method's summary, as results_final.json records it
    quantization: dict  # as results_final.json records it
    base_model_bytes: int | None  # the base as loaded; None when counted on a shared full-precision base
    adapter_bytes_estimate: int  # the trainable weights as saved
    notes: list[str] = dataclasses.field(default_factory=list)  # what the method chose (a budget knob's value)


def count_configuration(config: TrainConfig, options: dict[type, object], num_labels: int | None,
                        say: Callable[[str], None] = lambda line: None, base: LoadedModel | None = None) -> CountReport:
    """Parameter counts and rank pattern of a configuration, on the model its method prepares.

    ``base``: the loaded model to count on (a copy is prepared); a shared base (a study's dry run)
    is loaded in full precision, so its size is not reported.
    """
    made = prepare_method(config, options, num_labels, say, base)
    prepared = made.prepared
    counts = count_parameters(prepared.model, made.loaded.head_modules)
    if prepared.planned_counts is not None:
        counts = prepared.planned_counts(counts)
    return CountReport(
        method=made.method.name, model_name_or_path=config.model_name_or_path, num_labels=num_labels,
        parameters=counts, rank_pattern=prepared.summary.get("rank_pattern"), summary=prepared.summary,
        quantization=quantization_summary(quantization_of(made.options)),
        base_model_bytes=made.base_bytes,
        adapter_bytes_estimate=counts.trainable * _bytes_per_trainable_weight(prepared.model),
        notes=list(prepared.count_notes))


def _bytes_per_trainable_weight(model) -> int:
    """What the saved adapter stores per trained weight (its dtype's size; 4 for float32)."""
    return next((p.element_size() for p in model.parameters() if p.requires_grad), 4)


def _copy_sharing_weights(model):
    """A copy whose modules are new but whose weights are the base's: counting changes no weight,
    and cloning 100M+ parameters per configuration would dominate a study's dry run."""
    import torch

    memo = {id(p): torch.nn.Parameter(p.data, requires_grad=p.requires_grad) for p in model.parameters()}
    memo.update({id(b): b for b in model.buffers()})
    return copy.deepcopy(model, memo)
