"""One parameter accounting for every method.

- adapter: trainable parameters outside the task head. This is what a budget counts: LoRA's A
  and B matrices, or the unfrozen backbone weights of full / partial fine-tuning.
- head: the freshly initialised task head (always trained).
- trainable = adapter + head; total = every parameter of the model as trained (base + adapter + head).
- peak_adapter: the most adapter parameters held at any point of training. Equal to adapter except
  for AdaLoRA (trains init_r ranks, keeps fewer) and growing adapters (plateau_lora).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from torch import nn

from balora.errors import UserError
from balora.modeling import linear_shape
from balora.record_sections import ParameterCounts  # noqa: F401  (re-exported: counting returns it)

# PEFT keeps a frozen copy of every module it trains a replacement for; it is not part of the model.
_PEFT_COPY = ".original_module."
_PEFT_PREFIX = "base_model.model."


def lora_parameter_count(shapes: Mapping[str, tuple[int, int]], ranks: Mapping[str, int]) -> int:
    """A rank-r adapter on an (in=m, out=n) matrix holds r*m (A) + r*n (B) parameters."""
    return sum(ranks[name] * (m + n) for name, (m, n) in shapes.items() if name in ranks)


def module_matches(name: str, targets: Iterable[str]) -> bool:
    """PEFT's rule for a list of target names: the module's name ends with one of them."""
    return any(name == t or name.endswith("." + t) for t in targets)


def target_module_shapes(
    model: nn.Module, targets: Iterable[str], exclude: Iterable[str] = ()
) -> dict[str, tuple[int, int]]:
    """Full name -> (in_features, out_features) of every module LoRA would adapt, in model order."""
    targets, exclude = list(targets), tuple(exclude)
    return {
        name: linear_shape(module)
        for name, module in model.named_modules()
        if module_matches(name, targets) and not name.split(".")[0] in exclude and not list(module.children())
    }


def _is_head(name: str, head_modules: Iterable[str]) -> bool:
    name = name.removeprefix(_PEFT_PREFIX)
    return name.split(".")[0] in set(head_modules)


def weights_held(param) -> int:
    """Weights a parameter stands for: bitsandbytes packs two 4-bit weights per byte (its quant
    state knows the unpacked shape), so a quantized base counts as many weights as the original."""
    state = getattr(param, "quant_state", None)
    return math.prod(state.shape) if state is not None else param.numel()


def count_parameters(model: nn.Module, head_modules: Iterable[str]) -> ParameterCounts:
    head_modules = list(head_modules)
    head = trainable = total = 0
    for name, param in model.named_parameters():
        if _PEFT_COPY in name:
            continue
        total += weights_held(param)
        if param.requires_grad:
            trainable += param.numel()
            if _is_head(name, head_modules):
                head += param.numel()
    return ParameterCounts(adapter=trainable - head, head=head, trainable=trainable, total=total,
                           peak_adapter=trainable - head)


# --max_trainable_parameters: the cap every entry point (train, count, a study's dry run) checks the same way.
def capped_count(counts: ParameterCounts) -> int:
    """What --max_trainable_parameters limits: adapter + head, the adapter at the most it holds
    during training (AdaLoRA's initial ranks, plateau_lora's largest rank)."""
    return counts.peak_adapter + counts.head


def cap_line(counts: ParameterCounts, cap: int) -> str:
    held = capped_count(counts)
    verdict = "within" if held <= cap else "ABOVE"
    return f"{held:,} trainable (adapter {counts.peak_adapter:,} + head {counts.head:,}), {verdict} the cap of {cap:,}"


def check_trainable_cap(name: str, counts: ParameterCounts, cap: int | None) -> None:
    """One line naming the configuration and its count when it exceeds the cap."""
    if cap is not None and capped_count(counts) > cap:
        raise UserError(f"{name}: {cap_line(counts, cap)} (--max_trainable_parameters); nothing was trained")
