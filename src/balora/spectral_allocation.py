"""Rank allocation by marginal gains. Pure function: shapes, gains, budget in; ranks out.

What a rank-r adapter can capture of a module's first gradient step G is G's top-r singular
directions, so the value of one more rank at a module is its next singular value squared,
gains[k] = sigma_{k+1}^2, and its cost is m + n parameters. With diminishing gains the greedy
choice by gain per parameter is what the issue asks for; it is optimal only where the costs let it
spend the budget exactly, so the allocator solves the problem it approximates exactly instead:

    maximise  sum_i sum_{k < r_i} gains_i[k]   subject to   sum_i r_i (m_i + n_i) = T,  low <= r_i <= high,

where T is the largest total <= budget any assignment within the bounds reaches (the guarantee
balora.allocation gives). A dynamic programme over totals (in units of the costs' gcd), one module
at a time, holds the best gain at each reachable total; it costs modules x ranks array operations
over the totals (numpy), e.g. 210 modules x 33 ranks over 12,721 totals for SmolLM2's linear layers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import reduce

import numpy as np

from balora.allocation import Allocation, check_budget, module_costs
from balora.errors import UserError


def gains_from_singular_values(singular_values: Sequence[float], max_rank: int) -> list[float]:
    """gains[k] = sigma_{k+1}^2 for k < max_rank; the ranks beyond the values given gain nothing."""
    gains = [float(s) ** 2 for s in list(singular_values)[:max_rank]]
    return gains + [0.0] * (max_rank - len(gains))


def allocate_by_gains(
    shapes: Mapping[str, tuple[int, int]],
    gains: Mapping[str, Sequence[float]],
    budget: int,
    min_rank: int,
    max_rank: int,
) -> Allocation:
    """Ranks within [min_rank, max_rank] that spend the most of ``budget`` any assignment can and,
    among those, capture the largest total gain (``gains[name][k]``: the value of rank k + 1)."""
    if not 0 <= min_rank <= max_rank:
        raise UserError(f"rank bounds must satisfy 0 <= min_rank <= max_rank (got {min_rank}, {max_rank})")
    check_budget(shapes, budget, min_rank)
    names = list(shapes)
    for name in names:
        if len(gains[name]) < max_rank or not all(math.isfinite(g) for g in gains[name][:max_rank]):
            raise ValueError(f"{name}: needs {max_rank} finite gains (got {list(gains[name])[:max_rank + 1]})")
    costs_by_name = module_costs(shapes)
    unit = reduce(math.gcd, costs_by_name.values())
    costs = [costs_by_name[n] // unit for n in names]
    limit = min(budget // unit, max_rank * sum(costs))

    # best[t]: the most gain modules 0..k reach at total t (-inf: unreachable); choice[k][t]: module k's rank there.
    best = np.full(limit + 1, -np.inf)
    best[0] = 0.0
    choices = np.zeros((len(names), limit + 1), dtype=np.int32)
    for k, name in enumerate(names):
        value = np.concatenate([[0.0], np.cumsum(np.asarray(gains[name][:max_rank], dtype=np.float64))])
        new = np.full(limit + 1, -np.inf)
        for rank in range(min_rank, max_rank + 1):
            shift = rank * costs[k]
            if shift > limit:
                break
            candidate = best[:limit + 1 - shift] + value[rank]
            better = candidate > new[shift:]  # strict: ties keep the lower rank, so the result is deterministic
            new[shift:][better] = candidate[better]
            choices[k, shift:][better] = rank
        best = new
    target = int(np.flatnonzero(np.isfinite(best))[-1])  # the largest reachable total <= limit

    ranks, total = {}, target
    for k in reversed(range(len(names))):
        rank = int(choices[k, total])
        ranks[names[k]] = rank
        total -= rank * costs[k]
    assert total == 0, "the programme's choices lead back to the empty set"
    return Allocation(ranks={name: ranks[name] for name in names}, budget=budget, allocated=target * unit)
