"""Layer-wise rank schedules. Pure functions: layer count and strategy settings in; ranks out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from balora.allocation import Allocation, allocate_ranks
from balora.errors import UserError
from balora.modeling import layer_index, module_kind

# The empirical schedule of the layer-wise study: early layers need less, middle layers more.
EMPIRICAL_FACTORS = (0.6, 1.2, 1.0)


def linear_decay_ranks(num_layers: int, rank_max: int, rank_min: int) -> list[int]:
    """rank_max at layer 0 falling linearly to rank_min at the last layer (rounded)."""
    if num_layers == 1:
        return [rank_max]
    step = (rank_max - rank_min) / (num_layers - 1)
    return [round(rank_max - step * layer) for layer in range(num_layers)]


def empirical_ranks(num_layers: int, base_rank: int) -> list[int]:
    """base_rank scaled by 0.6 / 1.2 / 1.0 over the early / middle / late third of the layers."""
    return [max(1, round(base_rank * EMPIRICAL_FACTORS[3 * layer // num_layers])) for layer in range(num_layers)]


def read_custom_ranks(path: str | Path, num_layers: int) -> tuple[str, list[int]]:
    """(strategy_name, layer_ranks) from a custom schedule file, checked against the model's layer count."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"--rank_config {path}: file not found") from None
    except (OSError, ValueError) as err:
        raise UserError(f"--rank_config {path}: not readable JSON ({err})") from None
    if not isinstance(spec, dict) or "layer_ranks" not in spec:
        raise UserError(f'--rank_config {path}: needs {{"strategy_name": ..., "layer_ranks": [...]}}')
    ranks = spec["layer_ranks"]
    if not isinstance(ranks, list) or not all(isinstance(r, int) and not isinstance(r, bool) and r >= 0
                                              for r in ranks):
        raise UserError(f"--rank_config {path}: layer_ranks must be a list of non-negative integers")
    if len(ranks) != num_layers:
        raise UserError(f"--rank_config {path}: {len(ranks)} layer ranks for a model with {num_layers} layers")
    if not any(ranks):
        raise UserError(f"--rank_config {path}: every layer rank is 0; nothing would be trained")
    return str(spec.get("strategy_name", path.stem)), ranks


def ranks_by_layer_schedule(names: Iterable[str], layer_ranks: list[int], outside_layers: int) -> dict[str, int]:
    """Each module takes its layer's rank; modules outside the blocks take ``outside_layers``."""
    ranks = {}
    for name in names:
        layer = layer_index(name)
        ranks[name] = outside_layers if layer is None else layer_ranks[layer]
    return ranks


def attention_heavy_ranks(names: Iterable[str], rank_max: int, rank_min: int) -> dict[str, int]:
    names = list(names)
    kinds = {name: module_kind(name) for name in names}
    if "feed_forward" not in kinds.values():
        raise UserError("--rank_strategy attention_heavy needs feed-forward modules among the targets "
                        "(e.g. --lora_target_modules query key value output.dense intermediate.dense)")
    return {name: rank_max if kinds[name] == "attention" else rank_min for name in names}


def rescale_to_budget(shapes: Mapping[str, tuple[int, int]], ranks: Mapping[str, int], budget: int) -> Allocation:
    """The schedule's shape at another cost: ranks proportional to the schedule's, spending the most of
    ``budget`` any assignment of ranks >= 1 can (modules the schedule leaves at 0 stay out)."""
    kept = {name: shape for name, shape in shapes.items() if ranks[name] > 0}
    full_rank = min(min(shape) for shape in kept.values())
    allocation = allocate_ranks(kept, {name: float(ranks[name]) for name in kept}, budget, 1, full_rank)
    return Allocation(ranks={name: allocation.ranks.get(name, 0) for name in shapes}, budget=budget,
                      allocated=allocation.allocated)
