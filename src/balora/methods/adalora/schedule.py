"""AdaLoRA's step schedule and budget. Pure functions: sizes and settings in; steps and ranks out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from balora.errors import UserError


@dataclass(frozen=True)
class AdaLoraSchedule:
    total_step: int
    tinit: int
    tfinal: int
    delta_t: int

    @property
    def final_step(self) -> int:
        """The optimizer step (1-based) at which the final rank pattern is fixed."""
        return self.total_step - self.tfinal


def optimizer_steps(train_size: int, batch_size: int, accumulation: int, epochs: int, processes: int = 1) -> int:
    """Optimizer steps the Trainer will take: batches per process per epoch, grouped by accumulation."""
    batches = math.ceil(train_size / (batch_size * processes))
    return epochs * max(1, math.ceil(batches / accumulation))


def adalora_schedule(total_step: int, tinit: int | None, tfinal: int | None, delta_t: int | None) -> AdaLoraSchedule:
    """Fill in the defaults (10% warm-up, 20% final phase, 20 reallocations) and check there is a pruning phase."""
    tinit = round(0.1 * total_step) if tinit is None else tinit
    tfinal = round(0.2 * total_step) if tfinal is None else tfinal
    window = total_step - tfinal - tinit
    if window <= 0:
        raise UserError(f"--adalora_tinit {tinit} and --adalora_tfinal {tfinal} leave no steps to reallocate "
                        f"ranks in {total_step} optimizer steps")
    delta_t = max(1, window // 20) if delta_t is None else delta_t
    return AdaLoraSchedule(total_step=total_step, tinit=tinit, tfinal=tfinal, delta_t=delta_t)


def rank_cost(shapes: Mapping[str, tuple[int, int]]) -> int:
    """Parameters one rank costs on every module at once: a row of A, a column of B, one singular value."""
    return sum(m + n + 1 for m, n in shapes.values())


def target_rank_for_budget(shapes: Mapping[str, tuple[int, int]], budget: int, init_r: int) -> int:
    """The target_r whose final count (target_r x modules ranks) lands closest to ``budget``."""
    per_rank = rank_cost(shapes)
    target_r = round(budget / per_rank)
    if target_r < 1:  # no adapter at all would be closer; rank 1 everywhere would overshoot many times
        raise UserError(f"--param_budget {budget:,} is below what AdaLoRA keeps at the smallest target_r 1 "
                        f"({per_rank:,} on {len(shapes)} modules); raise the budget")
    if target_r > init_r:
        raise UserError(f"--param_budget {budget:,} needs AdaLoRA target_r {target_r}, above --adalora_init_r "
                        f"{init_r}; raise --adalora_init_r")
    return target_r


def adalora_parameter_count(shapes: Mapping[str, tuple[int, int]], ranks: Mapping[str, int]) -> int:
    """A module at rank r holds r * (m + n + 1) parameters: A, B and the r singular values E."""
    return sum(ranks[name] * (m + n + 1) for name, (m, n) in shapes.items() if name in ranks)
