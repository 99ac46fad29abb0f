"""Meeting a parameter budget through one integer field of a PEFT config (the budget knob).

Pure: ``cost(value)`` is the adapter count at a knob value, None where PEFT refuses the value (an
OFT block size that does not divide the layer's width, a SHiRA rank whose mask would not fit).
The count is monotone in the knob, growing with it (a rank) or shrinking (RandLoRA's rank, which
sets how many random bases share the layer: fewer, larger ones cost less).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from balora.errors import ConfigError

# Refused values are skipped by scanning; this many in a row end a scan (the whole range would mean
# hundreds of models built to say that PEFT refuses them).
SCAN = 16


@dataclass(frozen=True)
class KnobChoice:
    knob: str
    value: int
    count: int  # adapter parameters at ``value``
    budget: int


def knob_within(knob: str, cost: Callable[[int], int | None], budget: int, upper: int,
                what: str = "the config") -> KnobChoice:
    """The value in [1, upper] whose count comes closest to ``budget`` without passing it: the largest
    such value where the count grows with the knob, the smallest where it shrinks.

    Refused (ConfigError on --param_budget) where even the cheapest value costs more than the budget,
    or where the dearest still costs less: a run at that "budget" would not spend it.
    """
    seen: dict[int, int | None] = {}

    def at(value: int) -> int | None:
        if value not in seen:
            seen[value] = cost(value)
        return seen[value]

    def accepted_near(value: int, low: int, high: int) -> int | None:
        """An accepted value strictly between ``low`` and ``high``, the closest to ``value`` below it
        first, then above it (at most SCAN tried each way)."""
        below = range(value, max(low, value - SCAN), -1)
        above = range(value + 1, min(high, value + 1 + SCAN))
        return next((v for v in (*below, *above) if at(v) is not None), None)

    low = next((v for v in range(1, min(upper, SCAN) + 1) if at(v) is not None), None)
    if low is None:
        raise ConfigError("budget_knob", f"{what} accepts no {knob} from 1 to {min(upper, SCAN)}")
    high = largest_accepted(at, low, upper)
    cheap, dear = (high, low) if at(high) < at(low) else (low, high)
    if at(cheap) > budget:
        raise ConfigError("param_budget", f"{budget:,} is below the smallest adapter of {what} ({knob} {cheap}: "
                          f"{at(cheap):,} adapter parameters)")
    if at(dear) <= budget:
        if at(dear) < budget:
            raise ConfigError("param_budget", f"{budget:,} cannot be reached by {what}: its largest adapter ({knob} "
                              f"{dear}; the targets' smaller dimension bounds {knob}) has {at(dear):,} parameters")
        return KnobChoice(knob, dear, at(dear), budget)
    bisect = False
    while True:  # at(cheap) <= budget < at(dear)
        lo, hi = sorted((cheap, dear))
        if hi - lo <= 1:
            return KnobChoice(knob, cheap, at(cheap), budget)
        # Counts are mostly affine in the knob, so the value the line through the two ends puts at the
        # budget is usually the answer or next to it; a step that did not halve the range is followed
        # by a halving one, in case the count is far from a line.
        guess = cheap + (budget - at(cheap)) * (dear - cheap) / (at(dear) - at(cheap))
        middle = accepted_near((lo + hi) // 2 if bisect else min(hi - 1, max(lo + 1, int(guess))), lo, hi)
        if middle is None:
            return KnobChoice(knob, cheap, at(cheap), budget)
        if at(middle) <= budget:
            cheap = middle
            # the next accepted value towards the dear end usually settles it (counts being near-affine)
            step = 1 if dear > cheap else -1
            following = next((v for v in range(cheap + step, cheap + step * (SCAN + 1), step)
                              if v != dear and lo < v < hi and at(v) is not None), None)
            if following is not None:
                cheap, dear = (following, dear) if at(following) <= budget else (cheap, following)
        else:
            dear = middle
        bisect = not bisect and abs(dear - cheap) > (hi - lo) / 2


def largest_accepted(at: Callable[[int], int | None], low: int, upper: int) -> int:
    """The largest value PEFT accepts up to ``upper`` (``low`` is accepted). Where ``upper`` itself is
    refused, accepted values are taken to run from ``low`` up to a bound (SHiRA's r, whose mask must
    fit the weight), found by bisection, then the nearest accepted value at or below it."""
    if at(upper) is not None:
        return upper
    good, bad = low, upper
    while bad - good > 1:
        middle = (good + bad) // 2
        good, bad = (middle, bad) if at(middle) is not None else (good, middle)
    return good
