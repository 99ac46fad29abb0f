"""Wrapping a model in PEFT LoRA; shared by every method that trains LoRA adapters."""

from __future__ import annotations

import re
from collections import defaultdict

from peft import LoraConfig, TaskType, get_peft_model
from torch import nn

from balora.counting import target_module_shapes
from balora.errors import UserError
from balora.methods.lora.config import LoraOptions
from balora.modeling import detect_target_modules, layer_index


ALL_LINEAR = "all-linear"


def all_linear_modules(model: nn.Module, head_modules: list[str]) -> list[str]:
    """PEFT's ``all-linear``: every linear layer (or GPT-2 Conv1D) except those of the task head and
    the output layer (a language model's lm_head, often tied to the input embeddings)."""
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return [name for name, module in model.named_modules()
            if name and name.split(".")[0] not in head_modules and module is not output and not list(module.children())
            and (isinstance(module, nn.Linear) or (type(module).__name__ == "Conv1D" and module.weight.dim() == 2))]


def resolve_targets(model: nn.Module, requested: list[str] | None, head_modules: list[str]) -> dict[str, tuple[int, int]]:
    """Full name -> (in, out) of every module to adapt; an empty match is a clear error."""
    if requested and ALL_LINEAR in requested:
        if len(requested) > 1:
            raise UserError(f"--lora_target_modules {ALL_LINEAR} stands alone (got {' '.join(requested)})")
        requested = all_linear_modules(model, head_modules)
    names = requested or detect_target_modules(model)
    shapes = target_module_shapes(model, names, exclude=head_modules)
    if not shapes:
        raise UserError(f"--lora_target_modules {' '.join(names)} matches no linear layer of the model")
    return shapes


def target_summary(shapes: dict[str, tuple[int, int]], ranks: dict[str, int]) -> dict:
    """What results_final.json records of any LoRA-based method's targets and ranks."""
    return {"target_modules": sorted({name.split(".")[-1] for name in shapes}), "num_target_matrices": len(shapes),
            "rank_pattern": ranks}


def anchored(module_name: str) -> str:
    """A PEFT pattern that matches exactly this module and no other ending with the same suffix."""
    return f"^{re.escape(module_name)}$"


def peft_task_type(model: nn.Module) -> TaskType:
    """CAUSAL_LM for a language model (its adapter reloads with AutoPeftModelForCausalLM), else SEQ_CLS."""
    from balora.modeling import is_causal_lm

    return TaskType.CAUSAL_LM if is_causal_lm(model) else TaskType.SEQ_CLS


def lora_config(
    target_names: list[str],
    head_modules: list[str],
    rank: int,
    alpha: float,
    dropout: float,
    use_rslora: bool = False,
    rank_pattern: dict[str, int] | None = None,
    alpha_pattern: dict[str, float] | None = None,
    task_type: TaskType = TaskType.SEQ_CLS,
    **variant,
) -> LoraConfig:
    """PEFT LoRA on exactly ``target_names``, the task head trained whole; ``task_type`` from
    ``peft_task_type(model)``; ``variant``: further LoraConfig fields of a LoRA variant (use_dora,
    init_lora_weights, eva_config, ...)."""
    return LoraConfig(
        task_type=task_type,
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=target_names,
        modules_to_save=head_modules,
        use_rslora=use_rslora,
        rank_pattern=rank_pattern or {},
        alpha_pattern=alpha_pattern or {},
        **variant,
    )


def wrap_with_lora(model: nn.Module, *args, **kwargs) -> nn.Module:
    """``model`` wrapped in the LoRA of ``lora_config(*args, **kwargs)``, for the model's task."""
    return get_peft_model(model, lora_config(*args, task_type=peft_task_type(model), **kwargs))


def wrap_with_rank_pattern(
    model: nn.Module, ranks: dict[str, int], head_modules: list[str], lora: LoraOptions, reference_rank: int,
    use_rslora: bool = False,
) -> nn.Module:
    """LoRA with one rank per module (rank 0 = not adapted; PEFT rejects rank 0).

    Every module keeps the scaling of uniform LoRA at ``reference_rank`` (alpha / reference_rank),
    unless rsLoRA, so methods that differ only in where ranks go are compared at the same step size.
    """
    active = {name: rank for name, rank in ranks.items() if rank > 0}
    alpha_pattern = {} if use_rslora else {
        anchored(name): lora.lora_alpha * rank / reference_rank for name, rank in active.items()}
    return wrap_with_lora(
        model, list(active), head_modules, rank=reference_rank, alpha=lora.lora_alpha, dropout=lora.lora_dropout,
        use_rslora=use_rslora, rank_pattern={anchored(name): rank for name, rank in active.items()},
        alpha_pattern=alpha_pattern)


def ranks_by_layer(ranks: dict[str, int]) -> list[str]:
    """Console lines ``Layer 0: ranks [attention.self.query 4, attention.self.value 6]`` in model
    order: each rank with its module, named within its layer (the full name outside the layers)."""
    grouped = defaultdict(list)
    for name, rank in ranks.items():
        index = layer_index(name)
        module = name if index is None else name.split(f".{index}.", 1)[1]
        grouped[index].append(f"{module} {rank}")
    return [f"{'Layer ' + str(i) if i is not None else 'Other'}: ranks [{', '.join(grouped[i])}]"
            for i in sorted(grouped, key=lambda i: (i is None, i or 0))]
