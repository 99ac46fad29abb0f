"""The batch-size search, with fake measures: no model, no memory measured."""

import pytest

from balora.memory.finder import largest_fitting_batch


def linear(per_example: int, fixed: int = 1000, out_of_memory_from: int | None = None):
    calls = []

    def measure(batch_size):
        calls.append(batch_size)
        if out_of_memory_from is not None and batch_size >= out_of_memory_from:
            return None
        return fixed + per_example * batch_size

    return measure, calls


@pytest.mark.parametrize("limit, expected", [(1000 + 10 * 37, 37), (1000 + 10 * 64, 64), (1000 + 10 * 1, 1),
                                             (1000 + 10 * 37 + 9, 37)])
def test_finds_the_largest_batch_within_the_limit(limit, expected):
    measure, calls = linear(10)
    search = largest_fitting_batch(measure, limit, max_batch_size=1024)
    assert search.largest_fitting == expected
    assert search.first_over == expected + 1
    assert search.measured[expected] <= limit < search.measured[expected + 1]
    assert len(calls) == len(set(calls))  # each batch size measured once
    assert max(calls) <= 2 * expected and len(calls) <= 2 * expected.bit_length() + 1


def test_out_of_memory_counts_as_over_the_limit():
    measure, _ = linear(10, out_of_memory_from=20)
    search = largest_fitting_batch(measure, 10**9)
    assert search.largest_fitting == 19 and search.first_over == 20 and search.measured[20] is None


def test_nothing_fits():
    measure, calls = linear(10)
    search = largest_fitting_batch(measure, 500)
    assert search.largest_fitting is None and search.first_over == 1 and calls == [1]


def test_stops_at_the_cap_when_everything_fits():
    measure, calls = linear(1)
    search = largest_fitting_batch(measure, 10**9, max_batch_size=48)
    assert search.largest_fitting == 48 and search.reached_cap and calls == [1, 2, 4, 8, 16, 32, 48]


def test_refuses_a_cap_below_the_start():
    with pytest.raises(ValueError):
        largest_fitting_batch(lambda b: 0, 1, max_batch_size=0)
