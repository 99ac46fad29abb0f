import itertools
import random

import pytest

from balora.errors import UserError
from balora.allocation import allocate_ranks, ideal_ranks, minimum_budget, uniform_budget


def brute_force_best(shapes, budget, low, high) -> int:
    costs = [m + n for m, n in shapes.values()]
    best = -1
    for ranks in itertools.product(range(low, high + 1), repeat=len(costs)):
        total = sum(r * c for r, c in zip(ranks, costs))
        if best < total <= budget:
            best = total
    return best


def random_case(rng: random.Random):
    sizes = [8, 12, 16, 24, 32, 48]
    shapes = {f"m{i}": (rng.choice(sizes), rng.choice(sizes)) for i in range(rng.randint(1, 4))}
    scores = {name: rng.choice([0.0, rng.random(), rng.random() * 100]) for name in shapes}
    low = rng.randint(0, 2)
    high = low + rng.randint(0, 4)
    floor = minimum_budget(shapes, low)
    budget = floor + rng.randint(0, high * sum(m + n for m, n in shapes.values()) - floor + 50)
    return shapes, scores, budget, low, high


@pytest.mark.parametrize("seed", range(300))
def test_allocation_reaches_the_brute_force_optimum_and_never_exceeds_the_budget(seed):
    shapes, scores, budget, low, high = random_case(random.Random(seed))
    allocation = allocate_ranks(shapes, scores, budget, low, high)
    spent = sum(allocation.ranks[n] * (m + k) for n, (m, k) in shapes.items())
    assert spent == allocation.allocated <= budget
    assert allocation.allocated == brute_force_best(shapes, budget, low, high)
    assert all(low <= r <= high for r in allocation.ranks.values())


@pytest.mark.parametrize("seed", range(100))
def test_ranks_are_monotone_in_importance_among_modules_of_equal_cost(seed):
    rng = random.Random(1000 + seed)
    shapes = {f"m{i}": rng.choice([(16, 16), (16, 48)]) for i in range(6)}
    scores = {name: rng.random() for name in shapes}
    budget = rng.randint(minimum_budget(shapes, 1), uniform_budget(shapes, 10))
    ranks = allocate_ranks(shapes, scores, budget, 1, 10).ranks
    for a, b in itertools.permutations(shapes, 2):
        if shapes[a] == shapes[b] and scores[a] > scores[b]:
            assert ranks[a] >= ranks[b], (a, b, ranks)


def test_more_important_modules_get_more_rank():
    shapes = {f"layer{i}": (384, 384) for i in range(6)}
    scores = {f"layer{i}": float(i + 1) for i in range(6)}
    allocation = allocate_ranks(shapes, scores, uniform_budget(shapes, 8), 4, 32)
    ranks = list(allocation.ranks.values())
    assert ranks == sorted(ranks) and ranks[0] < 8 < ranks[-1]
    assert allocation.allocated == uniform_budget(shapes, 8) and allocation.slack == 0


def test_equal_importance_gives_near_equal_ranks_at_a_budget_between_uniform_counts():
    shapes = {f"m{i}": (384, 384) for i in range(12)}
    allocation = allocate_ranks(shapes, dict.fromkeys(shapes, 1.0), 75_000, 4, 32)
    assert sorted(allocation.ranks.values()) == [8] * 11 + [9]
    assert allocation.allocated == 97 * 768 and allocation.slack == 75_000 - 97 * 768


def test_large_budget_saturates_at_max_rank():
    shapes = {"a": (10, 10), "b": (10, 30)}
    allocation = allocate_ranks(shapes, {"a": 1.0, "b": 2.0}, 10**9, 1, 5)
    assert allocation.ranks == {"a": 5, "b": 5}


def test_budget_below_the_minimum_states_the_minimum():
    shapes = {"a": (10, 10), "b": (10, 30)}
    with pytest.raises(UserError, match="below the minimum any assignment needs: 120"):
        allocate_ranks(shapes, {"a": 1.0, "b": 1.0}, 119, 2, 8)


def test_rank_zero_is_allowed_when_min_rank_is_zero():
    shapes = {"a": (10, 10), "b": (10, 10)}
    allocation = allocate_ranks(shapes, {"a": 5.0, "b": 0.0}, 60, 0, 4)
    assert allocation.ranks == {"a": 3, "b": 0}


def test_ideal_ranks_spend_the_budget():
    costs, scores = [2, 3, 5], [1.0, 2.0, 4.0]
    ideal = ideal_ranks(scores, costs, 40, 1, 6)
    assert sum(r * c for r, c in zip(ideal, costs)) == pytest.approx(40)
    assert ideal == sorted(ideal)


def test_non_finite_scores_are_refused_instead_of_searching_forever():
    with pytest.raises(ValueError, match="finite"):
        ideal_ranks([1.0, float("nan")], [10, 10], 100, 1, 8)
