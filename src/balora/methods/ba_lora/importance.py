"""Phase 1: the loss gradient G of every target weight, from activations, and importance scores.

For a linear layer y = x W^T, dL/dW = sum over tokens of delta^T x, where delta = dL/dy. A
forward hook keeps x, a hook on y's gradient receives delta, and their product is added to G.
Every weight stays frozen, so autograd computes no weight gradient at all; the same code works
when the base layer is quantized, since only its input and output are touched. What reads W
itself (the sensitivity score, the warm start's step size) gets it de-quantised one module at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from balora.modeling import linear_shape
from balora.quantization import full_precision_weight

IGNORE_INDEX = -100  # label of a token without loss: the ignore_index of the models' own cross-entropy


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


def loss_terms(batch: dict) -> int:
    """How many terms the model's loss averages over: examples (a label each), or for a causal LM the
    tokens that carry loss (the model predicts token t + 1 at t, so the first label never counts)."""
    labels = batch["labels"]
    return labels.shape[0] if labels.dim() == 1 else int((labels[:, 1:] != IGNORE_INDEX).sum())


def accumulate_gradients(
    model: nn.Module,
    module_names: Iterable[str],
    batches: Iterable[dict],
    num_examples: int,
    dtype: torch.dtype = torch.float32,
) -> GradientPass:
    """Sum delta^T x over ``batches``: G is the gradient of the mean loss over every term of every batch.

    Each batch's loss is weighted by its terms and the sum divided by all terms at the end, so G does
    not depend on how the examples are cut into (micro-)batches, up to rounding: the pass can run in
    batches as small as memory needs. ``num_examples`` is the count over all processes, for the
    record; with a process group the per-process sums are all-reduced, so every process ends with the same G.
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
    terms = torch.zeros((), dtype=torch.float64)
    try:
        with torch.enable_grad():
            for batch in batches:
                count = loss_terms(batch)
                if count == 0:  # every response token cut off: a loss of 0 / 0 would poison G
                    continue
                loss = model(**batch).loss * count
                loss.backward()  # frees the batch's graph, and with it the activations the hooks kept
                loss_sum += loss.detach().double().cpu()
                terms += count
                del loss, batch
    finally:
        for handle in handles:
            handle.remove()
        for param, flag in requires_grad.items():
            param.requires_grad_(flag)
        model.train(was_training)
    _all_reduce([*gradients.values(), loss_sum, terms])
    for grad in gradients.values():
        grad.div_(max(float(terms), 1.0))
    return GradientPass(gradients, float(loss_sum / terms) if terms > 0 else math.nan, num_examples)


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


def spectral_energy(weight: torch.Tensor, grad: torch.Tensor) -> float:
    """||G||_F^2 = sum of sigma_i^2: all the gain a module's spectrum holds (spectrum allocates by its parts)."""
    return float(grad.double().pow(2).sum())


IMPORTANCE_MEASURES = {"sensitivity": sensitivity, "grad_norm": grad_norm, "nuclear": nuclear_norm,
                       "spectrum": spectral_energy}
EXACT_SVD_UP_TO = 1024  # smaller side of a matrix whose singular values are computed exactly; randomized above


def top_singular_values(grad: torch.Tensor, k: int, exact_up_to: int = EXACT_SVD_UP_TO,
                        seed: int = 0) -> list[float]:
    """The k largest singular values of G (fewer if G has fewer). Exact for matrices up to
    ``exact_up_to`` on their smaller side; above, a randomized SVD (Halko et al.: k + 10 probes,
    4 power iterations) with a seeded sketch, accurate for the fast-decaying spectra gradients have."""
    k = min(k, *grad.shape)
    if min(grad.shape) <= exact_up_to:
        values = torch.linalg.svdvals(grad.double())
    else:
        with torch.random.fork_rng(devices=[]):  # the sketch must not move training's random draws
            torch.manual_seed(seed)
            _, values, _ = torch.svd_lowrank(grad.float(), q=min(k + 10, *grad.shape), niter=4)
    return values[:k].double().tolist()


def spectra(gradients: Mapping[str, torch.Tensor], k: int) -> dict[str, list[float]]:
    """The top-k singular values of each module's gradient: sigma_{r+1}^2 is what rank r + 1 adds."""
    return {name: top_singular_values(grad, k) for name, grad in gradients.items()}


def importance_scores(
    gradients: Mapping[str, torch.Tensor], modules: Mapping[str, nn.Module], measure: str
) -> dict[str, float]:
    """One number per module: how much the loss cares about that weight matrix."""
    score = IMPORTANCE_MEASURES[measure]
    return {name: score(weight_out_in(modules[name]), grad) for name, grad in gradients.items()}
