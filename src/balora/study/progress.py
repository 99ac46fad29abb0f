"""The line a study prints as each experiment ends: how far, what failed, what runs where,
how long so far and how long still (from the experiments that trained in this run)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass
class Progress:
    total: int
    started_at: float
    trained_seconds: list[float] = field(default_factory=list)  # of experiments trained now, not read back

    def eta(self, remaining: int, parallel: int) -> float | None:
        """Seconds still to go: the remaining experiments at the mean time of those trained so
        far, spread over the workers in use; None until one has trained."""
        if not self.trained_seconds:
            return None
        mean = sum(self.trained_seconds) / len(self.trained_seconds)
        return math.ceil(remaining / max(1, parallel)) * mean

    def line(self, now: float, done: int, failed: int, running: dict[str, str], total: int, parallel: int) -> str:
        """``running``: experiment name -> where it runs."""
        self.total = total
        eta = self.eta(total - done, parallel)
        where = ", ".join(f"{name} on {place}" for name, place in running.items())
        return (f"    [{done}/{total} done, {failed} failed, {len(running)} running{': ' + where if where else ''}] "
                f"elapsed {duration(now - self.started_at)}, ETA {duration(eta) if eta is not None else '?'}")
