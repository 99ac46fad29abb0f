import itertools
import random

import pytest

from balora.allocation import allocate_ranks, minimum_budget, uniform_budget
from balora.errors import UserError
from balora.spectral_allocation import allocate_by_gains, gains_from_singular_values


def captured(gains, ranks) -> float:
    return sum(sum(gains[name][:rank]) for name, rank in ranks.items())


def brute_force(shapes, gains, budget, low, high) -> tuple[int, float]:
    """The largest total <= budget any assignment reaches, and the most gain at that total."""
    names = list(shapes)
    best_total, best_gain = -1, float("-inf")
    for ranks in itertools.product(range(low, high + 1), repeat=len(names)):
        total = sum(r * sum(shapes[n]) for r, n in zip(ranks, names))
        if total > budget:
            continue
        gain = captured(gains, dict(zip(names, ranks)))
        if total > best_total or (total == best_total and gain > best_gain):
            best_total, best_gain = total, gain
    return best_total, best_gain


def random_spectra(rng: random.Random, names, high):
    """Decreasing squared singular values, some of them zero (rank-deficient gradients)."""
    spectra = {}
    for name in names:
        values = sorted((rng.random() * rng.choice([0.01, 1, 100]) for _ in range(high)), reverse=True)
        cut = rng.randint(0, high)
        spectra[name] = gains_from_singular_values(values[:cut], high)
    return spectra


def random_case(rng: random.Random):
    sizes = [8, 12, 16, 24, 32, 48]
    shapes = {f"m{i}": (rng.choice(sizes), rng.choice(sizes)) for i in range(rng.randint(1, 4))}
    low = rng.randint(0, 2)
    high = low + rng.randint(0, 4)
    floor = minimum_budget(shapes, low)
    budget = floor + rng.randint(0, high * sum(m + n for m, n in shapes.values()) - floor + 50)
    return shapes, random_spectra(rng, shapes, max(high, 1)), budget, low, high


@pytest.mark.parametrize("seed", range(300))
def test_reaches_the_brute_force_total_and_the_most_gain_there(seed):
    shapes, gains, budget, low, high = random_case(random.Random(seed))
    allocation = allocate_by_gains(shapes, gains, budget, low, high)
    spent = sum(allocation.ranks[n] * (m + k) for n, (m, k) in shapes.items())
    best_total, best_gain = brute_force(shapes, gains, budget, low, high)
    assert spent == allocation.allocated == best_total <= budget
    assert captured(gains, allocation.ranks) == pytest.approx(best_gain, rel=1e-12, abs=1e-12)
    assert all(low <= r <= high for r in allocation.ranks.values())


@pytest.mark.parametrize("seed", range(300))
def test_spends_exactly_what_the_proportional_allocator_spends(seed):
    """Both spend the largest reachable total: the budget guarantee does not depend on the measure."""
    shapes, gains, budget, low, high = random_case(random.Random(seed))
    proportional = allocate_ranks(shapes, dict.fromkeys(shapes, 1.0), budget, low, high)
    assert allocate_by_gains(shapes, gains, budget, low, high).allocated == proportional.allocated


@pytest.mark.parametrize("seed", range(100))
def test_a_module_whose_gains_grow_never_loses_rank(seed):
    rng = random.Random(5000 + seed)
    shapes = {f"m{i}": rng.choice([(16, 16), (16, 48), (32, 48)]) for i in range(5)}
    gains = random_spectra(rng, shapes, 8)
    gains = {n: [g + 1e-3 * (8 - k) for k, g in enumerate(spectrum)] for n, spectrum in gains.items()}  # all > 0
    budget = rng.randint(minimum_budget(shapes, 1), uniform_budget(shapes, 8))
    before = allocate_by_gains(shapes, gains, budget, 1, 8).ranks
    name = rng.choice(list(shapes))
    grown = {**gains, name: [g * rng.uniform(1.5, 20) for g in gains[name]]}
    after = allocate_by_gains(shapes, grown, budget, 1, 8).ranks
    assert after[name] >= before[name], (name, before, after)


def test_rank_goes_where_the_spectrum_is_not_spent_yet():
    # Two modules of equal cost: one gradient nearly rank one, one with a flat spectrum.
    shapes = {"rank_one": (32, 32), "flat": (32, 32)}
    gains = {"rank_one": [100.0] + [0.01] * 11, "flat": [5.0] * 12}
    allocation = allocate_by_gains(shapes, gains, uniform_budget(shapes, 6), 1, 12)
    assert allocation.ranks == {"rank_one": 1, "flat": 11}


def test_gain_per_parameter_decides_between_costs():
    # Equal gains per rank; the cheap module's ranks cost a third as much: it takes them up to its maximum.
    shapes = {"cheap": (8, 8), "dear": (24, 24)}
    gains = {"cheap": [1.0] * 4, "dear": [1.0] * 4}
    allocation = allocate_by_gains(shapes, gains, 16 * 4 + 48 * 1, 1, 4)
    assert allocation.ranks == {"cheap": 4, "dear": 1} and allocation.slack == 0


def test_gains_from_singular_values_square_and_pad():
    assert gains_from_singular_values([3.0, 2.0], 4) == [9.0, 4.0, 0.0, 0.0]
    assert gains_from_singular_values([3.0, 2.0, 1.0], 2) == [9.0, 4.0]


def test_budget_below_the_minimum_states_the_minimum():
    shapes = {"a": (10, 10), "b": (10, 30)}
    with pytest.raises(UserError, match="below the minimum any assignment needs: 120"):
        allocate_by_gains(shapes, {"a": [1.0] * 8, "b": [1.0] * 8}, 119, 2, 8)


def test_too_few_or_non_finite_gains_are_refused():
    shapes = {"a": (10, 10)}
    with pytest.raises(ValueError, match="needs 4 finite gains"):
        allocate_by_gains(shapes, {"a": [1.0] * 3}, 80, 1, 4)
    with pytest.raises(ValueError, match="needs 4 finite gains"):
        allocate_by_gains(shapes, {"a": [1.0, float("nan"), 1.0, 1.0]}, 80, 1, 4)
