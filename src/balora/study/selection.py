"""Learning-rate selection, in one place: a run's validation score, the rate a search keeps and
what study.json records of the search. The study runner, the scheduler and `balora compare`
all read it from here, so the three can never disagree about which rate was chosen."""

from __future__ import annotations

from balora.record import ResultsRecord


def lower_is_better(metric: str) -> bool:
    """Which way a metric improves: the one place selection asks the metrics registry."""
    from balora.metric_registry import metric as metric_info

    return not metric_info(metric).higher_is_better


def validation_score(results: ResultsRecord | None) -> float | None:
    """The validation headline metric, signed so that higher is better (perplexity is negated)."""
    if not results or results.status != "completed":
        return None
    value = results.validation()
    return -value if lower_is_better(results.headline_metric) else value


def select_learning_rate(validation: dict[float, float | None]) -> float | None:
    """The learning rate with the best validation metric; ties go to the earlier one in the grid."""
    finished = [(score, -i, lr) for i, (lr, score) in enumerate(validation.items()) if score is not None]
    return max(finished)[2] if finished else None


def search_record(searched: dict[float, ResultsRecord | None], selected: float | None,
                  grown: dict[float, str] | None = None, edge_warning: str | None = None) -> dict:
    """What study.json keeps of a group's learning-rate search: each rate's validation headline
    metric as measured (a perplexity stays a perplexity), which metric and which way is better,
    and the rate chosen; a rate whose run did not finish has None. ``searched`` is in the order the
    rates ran; ``grown``: each rate the grid grew by -> why; ``edge_warning``: a choice still at an
    edge of the grid as run."""
    finished = {lr: results for lr, results in searched.items() if validation_score(results) is not None}
    metric = next((results.headline_metric for results in finished.values()), None)
    from balora.study.entries import SearchEntry

    return SearchEntry(metric, None if metric is None else not lower_is_better(metric),
                       {f"{lr:g}": finished[lr].validation() if lr in finished else None for lr in searched},
                       selected, sorted(searched), {f"{lr:g}": why for lr, why in (grown or {}).items()},
                       edge_warning).as_dict()
