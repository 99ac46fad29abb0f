"""The typed entries of study.json: one per experiment, one per learning-rate search.

On disk they are plain JSON objects (a field that is None is left out of an experiment's entry,
so older files and newer ones read alike)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class ExperimentEntry:
    """An experiment of the study: how it ended, and where and how long it ran."""

    group: str
    learning_rate: float
    seed: int
    status: str  # completed | failed | skipped | interrupted
    error: str | None = None
    host: str | None = None
    gpus: list[str] | None = None  # CUDA_VISIBLE_DEVICES the worker saw (empty: a CPU run)
    threads: int | None = None  # torch threads of a CPU run
    seconds: float | None = None  # of the last try, as the worker measured it
    tries: int | None = None  # starts of it in this run of the study (a lost worker is retried)

    def as_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, entry: dict) -> ExperimentEntry:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in entry.items() if k in known})


@dataclass
class SearchEntry:
    """A group's learning-rate search: each rate's validation headline metric as measured (None:
    the run did not finish), which metric and which way is better, and the rate chosen."""

    metric: str | None
    higher_is_better: bool | None
    validation_by_learning_rate: dict[str, float | None] = field(default_factory=dict)
    selected_learning_rate: float | None = None
    grid: list[float] = field(default_factory=list)  # the grid as run, growth included (ascending)
    grown: dict[str, str] = field(default_factory=dict)  # each rate the grid grew by -> why (balora.study.grids)
    edge_warning: str | None = None  # the choice is still at an edge of the grid as run: the best may lie beyond

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, entry: dict) -> SearchEntry:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in entry.items() if k in known})
