"""The largest batch that fits a memory limit, from a measure of one training step.

Pure: ``measure(batch_size)`` returns the peak bytes of a training step at that batch size, or
None when it ran out of memory; memory is assumed to grow with the batch size. A step's memory is
close to affine in the batch size (weights and optimizer state, plus activations per example),
so the next batch tried is the one the line through the two nearest measurements predicts to be
the largest that fits; the answer is then confirmed by measuring it (fits) and the next batch
(does not). Large batches are the expensive measurements, and this tries few of them: about five
when memory is affine. Safeguards keep it exact when it is not: before any batch exceeded the
limit the batch grows at most 8-fold per try, and when two tries in a row land on the same side
of the limit, the next one bisects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

MAX_GROWTH = 8


@dataclass
class BatchSearch:
    largest_fitting: int | None  # None: not even the smallest batch fits
    first_over: int | None  # the smallest batch measured over the limit (None: the cap was reached)
    measured: dict[int, int | None] = field(default_factory=dict)  # batch size -> peak bytes (None: out of memory)

    @property
    def reached_cap(self) -> bool:
        return self.largest_fitting is not None and self.first_over is None


def _predicted(a: tuple[int, int], b: tuple[int, int], limit: int) -> int | None:
    """The largest batch the line through two (batch, bytes) points keeps within the limit."""
    (b1, m1), (b2, m2) = a, b
    if b2 == b1 or m2 <= m1:
        return None
    return int(b1 + (limit - m1) * (b2 - b1) // (m2 - m1))


def _next_batch(measured: dict, low: int, high: int | None, limit: int, cap: int, bisect: bool) -> int | None:
    fitting = sorted(b for b, m in measured.items() if m is not None and m <= limit)
    if high is None:
        upper = min(cap, MAX_GROWTH * low)
        if upper <= low:
            return None  # the cap fits
        guess = _predicted((fitting[-2], measured[fitting[-2]]), (low, measured[low]), limit) if len(fitting) > 1 else None
        return min(max(guess if guess is not None else 2 * low, low + 1), upper)
    if bisect or measured[high] is None:
        return (low + high) // 2
    guess = _predicted((low, measured[low]), (high, measured[high]), limit)
    return min(max(guess if guess is not None else (low + high) // 2, low + 1), high - 1)


def largest_fitting_batch(measure: Callable[[int], int | None], limit_bytes: int, max_batch_size: int = 1024,
                          start: int = 1) -> BatchSearch:
    if start < 1 or max_batch_size < start:
        raise ValueError(f"need 1 <= start <= max_batch_size (got {start}, {max_batch_size})")
    measured: dict[int, int | None] = {}

    def fits(batch: int) -> bool:
        if batch not in measured:
            measured[batch] = measure(batch)
        return measured[batch] is not None and measured[batch] <= limit_bytes

    if not fits(start):
        return BatchSearch(None, start, measured)
    low, high, sides = start, None, []
    while high is None or high - low > 1:
        bisect = len(sides) >= 2 and sides[-1] == sides[-2]
        batch = _next_batch(measured, low, high, limit_bytes, max_batch_size, bisect)
        if batch is None:
            break
        side = fits(batch)
        sides.append(side)
        if side:
            low = batch
        else:
            high = batch
    return BatchSearch(low, high, dict(sorted(measured.items())))
