"""The budget knob's search, on costs given as plain functions."""

import pytest

from balora.errors import ConfigError
from balora.methods.zoo.knob import knob_within


def test_a_growing_count_takes_the_largest_value_that_fits():
    choice = knob_within("r", lambda r: 100 * r, budget=750, upper=64)
    assert (choice.value, choice.count, choice.budget) == (7, 700, 750)
    assert knob_within("r", lambda r: 100 * r, budget=800, upper=64).value == 8  # exactly the budget


def test_a_shrinking_count_takes_the_smallest_value_that_fits():
    # RandLoRA's r: more, smaller random bases as r falls
    choice = knob_within("r", lambda r: 12_000 // r, budget=1_000, upper=64)
    assert (choice.value, choice.count) == (12, 1_000)


def test_values_peft_refuses_are_skipped():
    divisors = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96}
    cost = lambda b: 96 * (b - 1) // 2 if b in divisors else None  # OFT: block sizes that divide the width
    choice = knob_within("oft_block_size", cost, budget=2_000, upper=96)
    assert choice.value == 32 and choice.count == 1_488


def test_a_budget_below_the_smallest_adapter_is_one_line():
    with pytest.raises(ConfigError, match=r"^--param_budget: 50 is below the smallest adapter of vera \(r 1: 100 "):
        knob_within("r", lambda r: 100 * r, budget=50, upper=64, what="vera")


def test_a_budget_the_largest_value_cannot_reach_is_one_line():
    with pytest.raises(ConfigError, match=r"^--param_budget: 10,000 cannot be reached by vera: its largest adapter "
                                          r"\(r 64; .*\) has 6,400 parameters$"):
        knob_within("r", lambda r: 100 * r, budget=10_000, upper=64, what="vera")


def test_a_knob_peft_refuses_at_every_small_value_is_one_line():
    with pytest.raises(ConfigError, match="^--budget_knob: the config accepts no r from 1 to 16$"):
        knob_within("r", lambda r: None, budget=100, upper=64)


@pytest.mark.parametrize("seed", range(40))
def test_the_search_agrees_with_trying_every_value(seed):
    import random

    rng = random.Random(seed)
    upper = rng.randint(2, 300)
    steps = [rng.choice([0, 1, rng.randint(1, 50)]) for _ in range(upper)]
    counts = [sum(steps[:v]) + 10 for v in range(1, upper + 1)]  # non-decreasing in the knob
    if seed % 2:
        counts.reverse()  # a knob that shrinks the adapter
    # what PEFT refuses: scattered values below an accepted upper end (OFT's block sizes), or every
    # value above a bound (SHiRA's r), as the search assumes
    if seed % 4 < 2:
        refused = {v for v in range(2, upper) if rng.random() < 0.3}
    else:
        refused = set(range(rng.randint(1, upper) + 1, upper + 1))
    cost = lambda v: None if v in refused else counts[v - 1]
    accepted = [v for v in range(1, upper + 1) if v not in refused]
    budget = rng.randint(min(counts), max(counts) + 5)
    fitting = [v for v in accepted if counts[v - 1] <= budget]
    dearest = max(counts[v - 1] for v in accepted)
    if not fitting or dearest < budget:
        with pytest.raises(ConfigError):
            knob_within("k", cost, budget, upper)
        return
    best = max(counts[v - 1] for v in fitting)
    choice = knob_within("k", cost, budget, upper)
    assert choice.count == best and choice.value in fitting
