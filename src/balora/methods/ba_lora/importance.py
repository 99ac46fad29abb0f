"""Phase 1: the loss gradient G of every target weight, from activations, and importance scores.

For a linear layer y = x W^T, dL/dW = sum over tokens of delta^T x, where delta = dL/dy. A
forward hook keeps x, a hook on y's gradient receives delta, and their product is added to G.
Every weight stays frozen, so autograd computes no weight gradient at all; the same code works
when the base layer is quantized, since only its input and output are touched. What reads W
itself (the sensitivity score, the warm start's step size) gets it de-quantised one module at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from balora.modeling import linear_shape
from balora.quantization import full_precision_weight


@dataclass
class GradientPass:
    gradients: dict[str, torch.Tensor]  # (out, in): gradient of the mean loss over all sampled examples
    mean_loss: float
    num_examples: int


def weight_out_in(module: nn.Module) -> torch.Tensor:
    """The weight as (out_features, in_features); GPT-2's Conv1D stores it transposed. A quantized
    layer's weight is de-quantised (this module only), since its packed bytes are not W."""
    weight = full_precision_weight(module)
    return weight if isinstance(module, nn.Linear) else weight.T


def _world() -> tuple[int, int]:
    """(rank, processes) of the group gradients are reduced over; (0, 1) without one."""
    from balora.processes import process_group

    return process_group() or (0, 1)


def shard(indices: list[int]) -> list[int]:
    """This process's share of the examples (all of them without a process group)."""
    rank, world = _world()
    return indices[rank::world]


def accumulate_gradients(
    model: nn.Module,
    module_names: Iterable[str],
    batches: Iterable[dict],
    num_examples: int,
    dtype: torch.dtype = torch.float32,
) -> GradientPass:
    """Sum delta^T x over ``batches``, each loss weighted so the result is the gradient of the mean.

    ``num_examples`` is the count over all processes; with a process group the per-process sums
    are all-reduced, so every process ends with the same G.
    """
    modules = dict(model.named_modules())
    gradients, handles = {}, []
    for name in module_names:
        module = modules[name]
        m, n = linear_shape(module)
        gradients[name] = torch.zeros(n, m, dtype=dtype, device=module.weight.device)
        handles.append(module.register_forward_hook(_gradient_hook(gradients[name])))
    # Weights stay frozen; the embedding output asks for a gradient so one flows to every layer.
    requires_grad = {p: p.requires_grad for p in model.parameters()}
    model.requires_grad_(False)
    handles.append(model.get_input_embeddings().register_forward_hook(lambda mod, inp, out: out.requires_grad_(True)))
    was_training = model.training
    model.eval()  # no dropout: importance should not depend on which units a mask dropped
    loss_sum = torch.zeros((), dtype=torch.float64)
    try:
        with torch.enable_grad():
            for batch in batches:
                size = batch["labels"].shape[0]
                loss = model(**batch).loss
                (loss * (size / num_examples)).backward()
                loss_sum += loss.detach().double().cpu() * size
    finally:
        for handle in handles:
            handle.remove()
        for param, flag in requires_grad.items():
            param.requires_grad_(flag)
        model.train(was_training)
    _all_reduce([*gradients.values(), loss_sum])
    return GradientPass(gradients, float(loss_sum) / num_examples, num_examples)


def _gradient_hook(accumulator: torch.Tensor):
    def forward_hook(module, inputs, output):
        x = inputs[0].detach()

        def on_output_grad(delta):
            d = delta.reshape(-1, delta.shape[-1]).to(accumulator.dtype)
            accumulator.add_(d.T @ x.reshape(-1, x.shape[-1]).to(accumulator.dtype))

        if output.requires_grad:
            output.register_hook(on_output_grad)

    return forward_hook


def _all_reduce(tensors: list[torch.Tensor]) -> None:
    import torch.distributed as dist

    if _world()[1] == 1:
        return
    for tensor in tensors:
        if dist.get_backend() == "nccl" and not tensor.is_cuda:
            moved = tensor.cuda()
            dist.all_reduce(moved)
            tensor.copy_(moved.cpu())
        else:
            dist.all_reduce(tensor)


def sensitivity(weight: torch.Tensor, grad: torch.Tensor) -> float:
    """Mean |W * G|: the first-order loss change from zeroing each weight, averaged."""
    return float((weight.detach().to(grad.dtype) * grad).abs().mean())


def grad_norm(weight: torch.Tensor, grad: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(grad))


def nuclear_norm(weight: torch.Tensor, grad: torch.Tensor) -> float:
    """Sum of singular values: large when the gradient spans many directions (wants more rank)."""
    return float(torch.linalg.matrix_norm(grad.float(), ord="nuc"))


IMPORTANCE_MEASURES = {"sensitivity": sensitivity, "grad_norm": grad_norm, "nuclear": nuclear_norm}


def importance_scores(
    gradients: Mapping[str, torch.Tensor], modules: Mapping[str, nn.Module], measure: str
) -> dict[str, float]:
    """One number per module: how much the loss cares about that weight matrix."""
    score = IMPORTANCE_MEASURES[measure]
    return {name: score(weight_out_in(modules[name]), grad) for name, grad in gradients.items()}
