"""Wrapping a model in PEFT LoRA; shared by every method that trains LoRA adapters."""

from __future__ import annotations

import re

from peft import LoraConfig, TaskType, get_peft_model
from torch import nn

from balora.counting import target_module_shapes
from balora.errors import UserError
from balora.modeling import detect_target_modules


def resolve_targets(model: nn.Module, requested: list[str] | None, head_modules: list[str]) -> dict[str, tuple[int, int]]:
    """Full name -> (in, out) of every module to adapt; an empty match is a clear error."""
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


def wrap_with_lora(
    model: nn.Module,
    target_names: list[str],
    head_modules: list[str],
    rank: int,
    alpha: float,
    dropout: float,
    use_rslora: bool = False,
    rank_pattern: dict[str, int] | None = None,
    alpha_pattern: dict[str, float] | None = None,
) -> nn.Module:
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=target_names,
        modules_to_save=head_modules,
        use_rslora=use_rslora,
        rank_pattern=rank_pattern or {},
        alpha_pattern=alpha_pattern or {},
    )
    return get_peft_model(model, config)
