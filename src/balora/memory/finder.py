"""The largest batch that fits a memory limit, from a measure of one training step.

Pure: ``measure(batch_size)`` returns the peak bytes of a training step at that batch size, or
None when it ran out of memory; memory is assumed to grow with the batch size. The search doubles
the batch until one does not fit, then bisects between the last that fitted and the first that
did not, so it measures about 2 log2(answer) batch sizes and never one above twice the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class BatchSearch:
    largest_fitting: int | None  # None: not even the smallest batch fits
    first_over: int | None  # the smallest batch measured over the limit (None: the cap was reached)
    measured: dict[int, int | None] = field(default_factory=dict)  # batch size -> peak bytes (None: out of memory)

    @property
    def reached_cap(self) -> bool:
        return self.largest_fitting is not None and self.first_over is None


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
    low, high = start, None
    while high is None and low < max_batch_size:
        candidate = min(2 * low, max_batch_size)
        if fits(candidate):
            low = candidate
        else:
            high = candidate
    while high is not None and high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return BatchSearch(low, high, dict(sorted(measured.items())))
