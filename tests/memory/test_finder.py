"""The batch-size search, with fake measures: no model, no memory measured."""

import pytest

from balora.memory.finder import largest_fitting_batch


def fake(bytes_at, out_of_memory_from: int | None = None):
    calls = []

    def measure(batch_size):
        calls.append(batch_size)
        if out_of_memory_from is not None and batch_size >= out_of_memory_from:
            return None
        return bytes_at(batch_size)

    return measure, calls


def affine(batch):
    return 1000 + 10 * batch


def convex(batch):
    return 1000 + 10 * batch + batch * batch


def brute_force(bytes_at, limit, cap=1024):
    fitting = [b for b in range(1, cap + 1) if bytes_at(b) <= limit]
    return max(fitting) if fitting else None


@pytest.mark.parametrize("bytes_at", [affine, convex], ids=["affine", "convex"])
@pytest.mark.parametrize("limit", [1011, 1015, 1370, 1379, 1640, 2000, 5000, 9000])
def test_finds_exactly_the_largest_batch_within_the_limit(bytes_at, limit):
    measure, calls = fake(bytes_at)
    search = largest_fitting_batch(measure, limit, max_batch_size=1024)
    expected = brute_force(bytes_at, limit)
    assert search.largest_fitting == expected and search.first_over == expected + 1
    assert search.measured[expected] <= limit < search.measured[expected + 1]
    assert len(calls) == len(set(calls)) and len(calls) <= 2 * expected.bit_length() + 2
    assert max(calls) <= 8 * expected


def test_affine_memory_takes_few_measurements():
    measure, calls = fake(affine)
    assert largest_fitting_batch(measure, 1000 + 10 * 437).largest_fitting == 437
    assert len(calls) <= 6  # 1, 2, 16, then the prediction and its neighbour, roughly


def test_out_of_memory_counts_as_over_the_limit():
    measure, _ = fake(affine, out_of_memory_from=20)
    search = largest_fitting_batch(measure, 10**9)
    assert search.largest_fitting == 19 and search.first_over == 20 and search.measured[20] is None


def test_nothing_fits():
    measure, calls = fake(affine)
    search = largest_fitting_batch(measure, 500)
    assert search.largest_fitting is None and search.first_over == 1 and calls == [1]


def test_stops_at_the_cap_when_everything_fits():
    measure, calls = fake(lambda b: b)
    search = largest_fitting_batch(measure, 10**9, max_batch_size=48)
    assert search.largest_fitting == 48 and search.reached_cap and calls[-1] == 48 and len(calls) <= 4


def test_refuses_a_cap_below_the_start():
    with pytest.raises(ValueError):
        largest_fitting_batch(lambda b: 0, 1, max_batch_size=0)
