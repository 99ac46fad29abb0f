"""What planning one group of a study reads, in two objects instead of fifteen parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from balora.study.budgets import ParameterCounter
from balora.study.data_check import DataChecker
from balora.study.studyfile import Located, StudyFile
from balora.study.sweeps import Variant


@dataclass
class PlanContext:
    """What planning every group of one study reads: the file, the command line's choices, and the
    caches that count each configuration's parameters and read each dataset of one's own once."""

    doc: Located
    study: StudyFile
    options: Any  # balora.study.plan.StudyOptions
    counter: ParameterCounter
    data: DataChecker
    count: bool  # count every group's parameters (the dry run and the run; compare needs no counts)


@dataclass(frozen=True)
class GroupSpot:
    """Where one group sits in the study: phase, dataset (the study's name for it), budget, k-shot
    size, method entry and sweep combination."""

    phase: str
    dataset: str
    label: str
    entry: dict
    budget_value: Any
    budget_keys: tuple
    shots: int | None
    seeds: tuple[int, ...]
    variant: Variant = field(default_factory=Variant)
    search_seed: int | None = None  # None: the first of seeds

    @property
    def entry_keys(self) -> tuple:
        return ("phases", self.phase, "methods", self.label)
