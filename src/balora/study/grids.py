"""Learning-rate grids that grow until the choice is inside them (issue 28), as pure functions.

A search whose best validation score sits at an edge of its grid (or ties there) says the best rate
may lie beyond it, so the next rate beyond that edge joins the search, at the grid's own spacing
(the ratio of the two outermost rates on that side: a doubling grid goes on doubling). It goes on
until the best is inside the grid or ``cap`` rates were added. The scheduler asks
``grid_extension`` each time a search completes; ``growth_history`` and ``replay`` tell the same
story again from the scores alone, for study.json and for `balora compare`, so the runner and
compare can never disagree about the grid as run.

``scores``: learning rate -> validation score (higher is better; None: the run did not finish), in
the order the rates were searched (the planned grid first, then each rate as it was added).
"""

from __future__ import annotations

from typing import Callable

from balora.study.selection import select_learning_rate

SIDES = ("bottom", "top")


def edge_sides(scores: dict[float, float | None]) -> list[str]:
    """The edges of the grid whose rate holds the best finished score (a tie counts: the best is
    not known to be inside). An edge rate that did not finish holds nothing: growth stops at a failure."""
    finished = [score for score in scores.values() if score is not None]
    if len(scores) < 2 or not finished:
        return []
    best, rates = max(finished), sorted(scores)
    return [side for side, rate in zip(SIDES, (rates[0], rates[-1])) if scores[rate] == best]


def next_rate(rates: list[float], side: str) -> float:
    """The rate beyond ``side`` at the spacing of the two outermost rates there, to the 6 significant
    digits an experiment's name shows (so the name and the rate trained are the same number)."""
    rates = sorted(rates)
    rate = rates[-1] ** 2 / rates[-2] if side == "top" else rates[0] ** 2 / rates[1]
    return float(f"{rate:.6g}")


def grid_extension(scores: dict[float, float | None], planned: int, cap: int) -> list[tuple[float, str]]:
    """The rates to add now, each with why: one beyond each edge that holds the best score, while
    fewer than ``cap`` rates were added to the ``planned`` ones (the chosen rate's side first)."""
    room = cap - (len(scores) - planned)
    sides = edge_sides(scores)
    if room <= 0 or not sides:
        return []
    rates = sorted(scores)
    chosen = select_learning_rate(scores)
    sides.sort(key=lambda side: chosen != (rates[0] if side == "bottom" else rates[-1]))
    added = []
    for side in sides[:room]:
        edge = rates[0] if side == "bottom" else rates[-1]
        how = "held" if chosen == edge else "tied"
        added.append((next_rate(rates, side), f"the {side} of the grid (lr {edge:g}) {how} the best validation score"))
    return added


def growth_history(scores: dict[float, float | None], planned: int, cap: int) -> dict[float, str]:
    """Each added rate of a finished search -> why it was added, replayed from the scores."""
    history, known = {}, planned
    while known < len(scores):
        added = grid_extension(dict(list(scores.items())[:known]), planned, cap)
        if not added:
            break
        history.update(dict(added))
        known += len(added)
    return history


def edge_warning(scores: dict[float, float | None], planned: int, cap: int) -> str | None:
    """What to say of a finished search whose best is still at an edge (the cap reached, or
    growing turned off); None when the best is inside the grid."""
    sides = edge_sides(scores)
    chosen = select_learning_rate(scores)
    if not sides or chosen is None:
        return None
    rates = sorted(scores)
    added = len(scores) - planned
    why = ("grow_grids is off" if cap == 0 else
           f"{added} rate{'s' if added != 1 else ''} added, max_grid_extensions is {cap}")
    return (f"learning rate {chosen:g} chosen with the best validation score at the {' and '.join(sides)} of its grid "
            f"({rates[0]:g} to {rates[-1]:g}; {why}): the best rate may lie beyond it")


def replay(grid: tuple[float, ...], score_of: Callable[[float], float | None],
           cap: int) -> dict[float, float | None]:
    """The search as it ran: the planned grid's scores, then each rate the growth added (compare
    reads each score back from the finished runs)."""
    scores = {rate: score_of(rate) for rate in grid}
    if len(grid) < 2:
        return scores
    while added := grid_extension(scores, len(grid), cap):
        scores.update({rate: score_of(rate) for rate, _ in added})
    return scores
