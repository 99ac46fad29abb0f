"""Full fine-tuning and partial fine-tuning (embeddings and the first N layers frozen)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from balora.config import setting
from balora.errors import ConfigError
from balora.methods.base import Method, MethodContext, PreparedModel

if TYPE_CHECKING:
    from torch import nn


@dataclass
class PartialOptions:
    """Partial fine-tuning (partial)"""

    freeze_layers: int = setting(
        0, "partial: freeze the embeddings and this many transformer layers from the bottom."
    )

    def __post_init__(self) -> None:
        if self.freeze_layers < 0:
            raise ConfigError("freeze_layers", f"must be >= 0 (got {self.freeze_layers})")


def prepare_full(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    model.requires_grad_(True)
    return PreparedModel(model)


def prepare_partial(model: nn.Module, ctx: MethodContext) -> PreparedModel:
    from balora.modeling import embedding_modules, transformer_layers

    frozen = ctx.option(PartialOptions).freeze_layers
    layers_name, layers = transformer_layers(model)
    if frozen > len(layers):
        raise ConfigError("freeze_layers", f"the model has {len(layers)} layers (got {frozen})")
    model.requires_grad_(True)
    for module in [*embedding_modules(model), *layers[:frozen]]:
        module.requires_grad_(False)
    ctx.say(f"Frozen: embeddings and layers 0-{frozen - 1} of {layers_name}" if frozen
            else "Frozen: embeddings")
    return PreparedModel(model, summary={"frozen_layers": frozen, "num_layers": len(layers)})


FULL = Method("full", "Fine-tune every weight.", (), "balora.methods.finetune:prepare_full")
PARTIAL = Method("partial", "Fine-tune all but the embeddings and the first --freeze_layers layers.",
                 (PartialOptions,), "balora.methods.finetune:prepare_partial")
