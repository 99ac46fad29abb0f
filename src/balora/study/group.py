"""A group of a study: experiments that differ only by learning rate and seed, and which of them
run before and after its learning rate is selected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EVALUATE_TEST = ("selected", "all")


@dataclass(frozen=True)
class Group:
    """Experiments that differ only by learning rate and seed."""

    key: str
    phase: str
    dataset: str
    label: str
    method: str
    budget: int | None
    train_samples: int | None
    settings: dict[str, Any]  # flat `balora train` settings, without learning_rate and seed
    learning_rates: tuple[float, ...]
    seeds: tuple[int, ...]
    line: int
    counts: dict[str, int] | None = None
    entry_label: str | None = None  # the study file's label of a swept entry (label: label-<setting>=<value>)
    swept: dict[str, Any] = field(default_factory=dict)  # setting -> value of this combination of the sweep
    swept_text: dict[str, str] = field(default_factory=dict)  # setting -> the value as a legend shows it
    search_seed: int | None = None  # the seed every rate of the grid runs at; None: the first of seeds
    # Rates a search may add beyond an edge of the grid that holds its best score (0: it never grows;
    # a study's default is 3, balora.study.grids); left 0 here so a group made by hand stays as given.
    max_grid_extensions: int = 0
    # "selected": the search runs skip the test split and the chosen rate's run at the search seed is
    # tested afterwards from its saved model; "all": every run is tested as it trains.
    evaluate_test: str = "all"
    eval_tasks: tuple[str, ...] = ()  # lm-eval tasks run on each finished, tested experiment (study.evaluation)

    def __post_init__(self):
        if self.search_seed is None:
            object.__setattr__(self, "search_seed", self.seeds[0])

    def experiment_name(self, learning_rate: float, seed: int) -> str:
        return f"{self.key}-lr{learning_rate:g}-s{seed}"

    @property
    def selects_learning_rate(self) -> bool:
        return len(self.learning_rates) > 1

    def first_runs(self) -> list[tuple[float, int]]:
        """(learning rate, seed) of the runs that do not wait for a selection."""
        if not self.selects_learning_rate:
            return [(self.learning_rates[0], seed) for seed in self.seeds]
        return [(lr, self.search_seed) for lr in self.learning_rates]

    @property
    def remaining_seeds(self) -> tuple[int, ...]:
        """The seeds of the comparison that run after the selection (the search seed's run is reused
        when it is one of them; a search seed outside ``seeds`` is left out of the comparison)."""
        return tuple(seed for seed in self.seeds if seed != self.search_seed) if self.selects_learning_rate else ()

    def remaining_runs(self, selected_lr: float) -> list[tuple[float, int]]:
        return [(selected_lr, seed) for seed in self.remaining_seeds]

    def trains_without_test(self, seed: int) -> bool:
        """Whether a run skips the test split: a search run, when only the selected rate is tested."""
        return self.selects_learning_rate and self.evaluate_test == "selected" and seed == self.search_seed

    @property
    def tests_chosen_search_run(self) -> bool:
        """Whether the chosen rate's search run is tested after the selection (from its saved model):
        it skipped the test split and is one of the compared seeds."""
        return self.trains_without_test(self.search_seed) and self.search_seed in self.seeds
