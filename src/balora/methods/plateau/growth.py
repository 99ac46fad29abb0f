"""Changing the rank of trained LoRA adapters in place, without changing what the model computes.

Growing appends random rows to A and zero columns to B, so B A is unchanged; shrinking drops
the last rows/columns. The Parameter objects stay the same (only their data is replaced), so
the optimizer keeps them, and their Adam moments are padded with zeros (or cut) to match.
"""

from __future__ import annotations

import math

import torch
from peft.tuners.lora import LoraLayer
from torch import nn


def lora_layers(model: nn.Module) -> list[LoraLayer]:
    return [module for module in model.modules() if isinstance(module, LoraLayer)]


def _resize(param: nn.Parameter, dim: int, size: int, fill: torch.Tensor | None, optimizer) -> None:
    """Cut ``param`` to ``size`` along ``dim``, or extend it with ``fill``; same for its optimizer state."""
    def resized(tensor: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        if size <= tensor.shape[dim]:
            return tensor.narrow(dim, 0, size).clone()
        return torch.cat([tensor, extra.to(tensor)], dim=dim)

    old = param.shape[dim]
    param.data = resized(param.data, fill if fill is not None else param.data.new_zeros(0))
    state = optimizer.state.get(param, {}) if optimizer is not None else {}
    for key, value in state.items():
        if torch.is_tensor(value) and value.dim() == param.dim():
            shape = list(value.shape)
            shape[dim] = max(0, size - old)
            state[key] = resized(value, value.new_zeros(shape))  # no history for the new ranks


def set_rank(layer: LoraLayer, adapter: str, rank: int, optimizer=None, generator=None) -> None:
    """Give one LoRA layer ``rank`` ranks, keeping its scaling (so its output) unchanged."""
    lora_a, lora_b = layer.lora_A[adapter], layer.lora_B[adapter]
    old = lora_a.weight.shape[0]
    new_rows = new_cols = None
    if rank > old:
        new_rows = torch.empty(rank - old, lora_a.weight.shape[1])
        # PEFT's own initialisation of A (kaiming-uniform, a = sqrt(5)).
        bound = 1 / math.sqrt(lora_a.weight.shape[1])
        new_rows.uniform_(-bound, bound, generator=generator)
        new_cols = torch.zeros(lora_b.weight.shape[0], rank - old)
    _resize(lora_a.weight, 0, rank, new_rows, optimizer)
    _resize(lora_b.weight, 1, rank, new_cols, optimizer)
    lora_a.out_features = lora_b.in_features = rank
    scaling = layer.scaling[adapter]
    layer.r[adapter] = rank
    # lora_alpha follows the rank so that a reload computes the same scaling from the config.
    layer.lora_alpha[adapter] = scaling * (math.sqrt(rank) if layer.use_rslora[adapter] else rank)


def set_model_rank(peft_model, rank: int, optimizer=None, seed: int = 0) -> int:
    """Every LoRA layer of the model at ``rank``; the saved adapter config says so too. Returns the layer count."""
    adapter = peft_model.active_adapter
    generator = torch.Generator().manual_seed(seed)
    layers = lora_layers(peft_model)
    for layer in layers:
        set_rank(layer, adapter, rank, optimizer, generator)
    config = peft_model.peft_config[adapter]
    config.r, config.lora_alpha = rank, layers[0].lora_alpha[adapter]
    return len(layers)
