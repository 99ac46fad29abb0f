"""Rank allocation under an exact parameter budget. Pure functions: shapes, scores, budget in; ranks out.

A module with input size m and output size n costs r * (m + n) parameters at rank r. Given
bounds [min_rank, max_rank], the allocator spends the largest count <= budget that any rank
assignment within the bounds can reach, and shares it out following importance:

1. ideal (real-valued) ranks proportional to importance, clipped to the bounds, that spend the
   budget exactly (water-filling);
2. the set of reachable totals (a bounded knapsack over costs, kept as a bitset in an integer);
3. module by module, the reachable integer rank closest to the ideal one;
4. among modules of equal cost, ranks re-sorted by importance, which keeps the total and
   makes ranks monotone in importance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

from balora.counting import lora_parameter_count
from balora.errors import UserError


@dataclass(frozen=True)
class Allocation:
    ranks: dict[str, int]
    budget: int
    allocated: int  # parameters the ranks cost, <= budget

    @property
    def slack(self) -> int:
        return self.budget - self.allocated


def module_costs(shapes: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    return {name: m + n for name, (m, n) in shapes.items()}


def minimum_budget(shapes: Mapping[str, tuple[int, int]], min_rank: int) -> int:
    """What every module at the minimum rank costs: no assignment within the bounds needs less."""
    return uniform_budget(shapes, min_rank)


def check_budget(shapes: Mapping[str, tuple[int, int]], budget: int, min_rank: int) -> None:
    floor = minimum_budget(shapes, min_rank)
    if budget < floor:
        raise UserError(f"--param_budget {budget:,} is below the minimum any assignment needs: {floor:,} "
                        f"(rank {min_rank} on {len(shapes)} modules); raise the budget or lower the minimum rank")


def check_budget_adapts_a_module(shapes: Mapping[str, tuple[int, int]], budget: int) -> None:
    """With a minimum rank of 0 every module may get rank 0, which is a valid allocation but not
    an adapter: PEFT refuses a config with no target left."""
    cheapest = min(sum(shape) for shape in shapes.values())
    if budget < cheapest:
        raise UserError(f"--param_budget {budget:,} cannot give any module even rank 1 (the cheapest module costs "
                        f"{cheapest:,}), so nothing would be trained; raise the budget")


def ideal_ranks(scores: Sequence[float], costs: Sequence[int], budget: float, low: int, high: int) -> list[float]:
    """Real ranks r_i = clip(lam * s_i, low, high) with sum(r_i * c_i) = budget (or all at a bound)."""
    if not all(math.isfinite(s) for s in scores):
        raise ValueError("importance scores must be finite")  # NaN compares false and would never converge
    if budget >= high * sum(costs):
        return [float(high)] * len(costs)
    if budget <= low * sum(costs):
        return [float(low)] * len(costs)
    top = max(scores)
    # No signal at all: share evenly. A module scored exactly 0 still rises once every other
    # module is at its bound, so the floor keeps the search finite.
    scores = [1.0] * len(scores) if top <= 0 else [max(s, 1e-9 * top) for s in scores]

    def spent(lam: float) -> float:
        return sum(min(high, max(low, lam * s)) * c for s, c in zip(scores, costs))

    lo_lam, hi_lam = 0.0, 1.0
    while spent(hi_lam) < budget:
        hi_lam *= 2
    for _ in range(200):  # bisection to float precision
        mid = (lo_lam + hi_lam) / 2
        lo_lam, hi_lam = (mid, hi_lam) if spent(mid) < budget else (lo_lam, mid)
    return [min(high, max(low, hi_lam * s)) for s in scores]


def _reachable(costs: Sequence[int], low: int, high: int, limit: int) -> list[int]:
    """suffix[k]: bitset (bit t set <=> total t reachable) of modules k.. with ranks in [low, high]."""
    mask = (1 << (limit + 1)) - 1
    suffix = [1]  # the empty set of modules reaches 0
    for cost in reversed(costs):
        below = suffix[-1]
        reach = 0
        for rank in range(low, high + 1):
            shift = rank * cost
            if shift > limit:
                break
            reach |= below << shift
        suffix.append(reach & mask)
    return suffix[::-1]


def allocate_ranks(
    shapes: Mapping[str, tuple[int, int]],
    scores: Mapping[str, float],
    budget: int,
    min_rank: int,
    max_rank: int,
) -> Allocation:
    """Ranks within [min_rank, max_rank] that spend the most of ``budget`` any assignment can."""
    if not 0 <= min_rank <= max_rank:
        raise UserError(f"rank bounds must satisfy 0 <= min_rank <= max_rank (got {min_rank}, {max_rank})")
    check_budget(shapes, budget, min_rank)
    names = list(shapes)
    costs_by_name = module_costs(shapes)
    # Totals only come in multiples of the costs' gcd: work in those units.
    unit = reduce(math.gcd, costs_by_name.values())
    costs = [costs_by_name[n] // unit for n in names]
    limit = min(budget // unit, max_rank * sum(costs))
    suffix = _reachable(costs, min_rank, max_rank, limit)
    target = suffix[0].bit_length() - 1  # the largest reachable total <= limit

    ideal = ideal_ranks([scores[n] for n in names], costs, target, min_rank, max_rank)
    ranks, remaining = {}, target
    for k, name in enumerate(names):
        preferred = sorted(range(min_rank, max_rank + 1), key=lambda r: (abs(r - ideal[k]), -r))
        for rank in preferred:
            rest = remaining - rank * costs[k]
            if rest >= 0 and (suffix[k + 1] >> rest) & 1:
                ranks[name], remaining = rank, rest
                break
    assert remaining == 0, "reachability tables guarantee an exact completion"
    ranks = _monotone_within_equal_cost(ranks, costs_by_name, scores)
    return Allocation(ranks=ranks, budget=budget, allocated=target * unit)


def _monotone_within_equal_cost(ranks, costs, scores) -> dict[str, int]:
    """Swapping ranks between modules of equal cost keeps the total: give the larger to the more important."""
    groups: dict[int, list[str]] = {}
    for name in ranks:
        groups.setdefault(costs[name], []).append(name)
    result = dict(ranks)
    for members in groups.values():
        by_importance = sorted(members, key=lambda n: -scores[n])
        for name, rank in zip(by_importance, sorted((ranks[n] for n in members), reverse=True)):
            result[name] = rank
        # Modules of equal cost and equal importance share their ranks as evenly as possible
        # (e.g. 3, 3, 2, 2 rather than 3, 3, 3, 1): same total, closer to their equal ideal.
        ties: dict[float, list[str]] = {}
        for name in members:
            ties.setdefault(scores[name], []).append(name)
        for tied in ties.values():
            total = sum(result[n] for n in tied)
            for k, name in enumerate(tied):  # model order; the first ones take the remainder
                result[name] = total // len(tied) + (k < total % len(tied))
    return {name: result[name] for name in ranks}  # model order


def uniform_budget(shapes: Mapping[str, tuple[int, int]], rank: int) -> int:
    """What uniform LoRA at ``rank`` costs on these modules: the default budget."""
    return lora_parameter_count(shapes, dict.fromkeys(shapes, rank))
