"""Phase 3: start each adapter from one gradient-descent step along the accumulated gradient.

A (r x in) gets orthonormal rows, so A A^T = I and A's pseudo-inverse is A^T. With
B0 = -(eta / scaling) G A^T the adapter's initial update is
    scaling * B0 A = -eta * G A^T A,
the gradient step -eta * G projected onto A's row space. The base weights are never touched:
candidate steps are tried through forward hooks that add x (eta dW)^T to a layer's output.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from balora.methods.ba_lora.importance import weight_out_in

STEP_HALVINGS = 12  # candidate steps: eta_max * 2^-k, k = 0..11
LARGEST_RELATIVE_STEP = 0.1  # the largest step moves the weights by 10% of their norm


@dataclass
class WarmStart:
    lora_a: dict[str, torch.Tensor] = field(default_factory=dict)  # (r, in), orthonormal rows
    update_b: dict[str, torch.Tensor] = field(default_factory=dict)  # (out, r): scaling * B0 = -eta G A^T
    eta: float = 0.0
    loss_before: float | None = None
    loss_after: float | None = None
    reason: str | None = None  # why the warm start fell back to zero init, if it did

    @property
    def applied(self) -> bool:
        return bool(self.update_b)


def orthonormal_rows(rank: int, in_features: int, generator: torch.Generator, dtype=torch.float32) -> torch.Tensor:
    gaussian = torch.randn(in_features, rank, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.sign(torch.diagonal(r))  # a uniformly random orthonormal basis, not QR's sign choice
    return q.T.to(dtype).contiguous()


def gradient_rows(grad: torch.Tensor, rank: int) -> torch.Tensor:
    """The top right singular vectors of G: the input directions the gradient uses most."""
    _, _, vh = torch.linalg.svd(grad.double(), full_matrices=False)
    return vh[:rank].to(grad.dtype).contiguous()


def lora_a_matrices(gradients: Mapping[str, torch.Tensor], ranks: Mapping[str, int], basis: str,
                    seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    rows = {}
    for name, rank in ranks.items():
        grad = gradients[name]
        if basis == "gradient" and rank <= min(grad.shape):
            rows[name] = gradient_rows(grad, rank)
        else:
            rows[name] = orthonormal_rows(rank, grad.shape[1], generator, grad.dtype)
    return rows


def projected_steps(gradients, lora_a) -> dict[str, torch.Tensor]:
    """-G A^T A per module: the gradient-descent direction the adapter can represent (eta = 1)."""
    return {name: -(gradients[name] @ a.T) @ a for name, a in lora_a.items()}


@torch.no_grad()
def calibration_loss(model: nn.Module, batch: dict, deltas: Mapping[str, torch.Tensor], eta: float) -> float:
    modules = dict(model.named_modules())
    handles = []
    for name, delta in deltas.items():
        def add_update(module, inputs, output, delta=delta):
            return output + eta * F.linear(inputs[0], delta.to(output.dtype))
        handles.append(modules[name].register_forward_hook(add_update))
    try:
        return float(model(**batch).loss)
    finally:
        for handle in handles:
            handle.remove()


def candidate_steps(model: nn.Module, deltas: Mapping[str, torch.Tensor]) -> list[float]:
    modules = dict(model.named_modules())
    weight_norm = math.sqrt(sum(float(weight_out_in(modules[n]).detach().float().norm()) ** 2 for n in deltas))
    step_norm = math.sqrt(sum(float(d.float().norm()) ** 2 for d in deltas.values()))
    if not math.isfinite(step_norm) or step_norm == 0:
        return []
    largest = LARGEST_RELATIVE_STEP * weight_norm / step_norm
    return [largest * 2.0 ** -k for k in range(STEP_HALVINGS)]


def warm_start(
    model: nn.Module,
    gradients: Mapping[str, torch.Tensor],
    ranks: Mapping[str, int],
    calibration_batch: dict,
    basis: str = "random",
    seed: int = 0,
) -> WarmStart:
    """Choose A, then the step eta that most lowers the loss on a held calibration batch."""
    ranks = {name: rank for name, rank in ranks.items() if rank > 0}
    if not all(torch.isfinite(gradients[name]).all() for name in ranks):
        return WarmStart(reason="non-finite accumulated gradients")
    if all(float(gradients[name].abs().max()) == 0 for name in ranks):
        return WarmStart(reason="all accumulated gradients are zero")
    lora_a = lora_a_matrices(gradients, ranks, basis, seed)
    deltas = projected_steps(gradients, lora_a)
    was_training = model.training
    model.eval()
    try:
        baseline = calibration_loss(model, calibration_batch, deltas, 0.0)
        tried = [(calibration_loss(model, calibration_batch, deltas, eta), eta) for eta in candidate_steps(model, deltas)]
    finally:
        model.train(was_training)
    finite = [(loss, eta) for loss, eta in tried if math.isfinite(loss)]
    if not math.isfinite(baseline) or not finite:
        return WarmStart(loss_before=baseline, reason="non-finite calibration loss")
    best_loss, eta = min(finite)
    if best_loss >= baseline:
        return WarmStart(loss_before=baseline, loss_after=best_loss,
                         reason="no step size lowered the calibration loss")
    update_b = {name: -eta * (gradients[name] @ a.T) for name, a in lora_a.items()}
    return WarmStart(lora_a=lora_a, update_b=update_b, eta=eta, loss_before=baseline, loss_after=best_loss)


@torch.no_grad()
def load_into_peft(peft_model: nn.Module, start: WarmStart, adapter: str = "default") -> int:
    """Write A and B0 = update_b / scaling into PEFT's lora_A / lora_B; returns modules initialised."""
    modules = dict(peft_model.base_model.model.named_modules())
    for name, a in start.lora_a.items():
        layer = modules[name]
        layer.lora_A[adapter].weight.copy_(a)
        layer.lora_B[adapter].weight.copy_(start.update_b[name] / layer.scaling[adapter])
    return len(start.lora_a)
