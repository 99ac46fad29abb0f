"""Finished experiments, gathered into groups of seeds of one configuration.

A group is what one row of a comparison table stands for. From a study, the groups are the
study's own (at the learning rate selected on validation). From a list of experiment names,
experiments whose settings differ only by seed form a group, labelled by its method plus the
settings that tell it apart from other groups of the same method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from balora.analysis.labels import distinguishing_settings, group_label
from balora.config import bookkeeping_settings
from balora.errors import UserError
from balora.record import HarnessScores, ResultsRecord, read_harness_scores, read_results_record
from balora.results import read_results_file

# Settings that do not make two runs different configurations.
NOT_CONFIGURATION = bookkeeping_settings() | {"seed"}  # runs differing only in these are pooled


@dataclass
class Run:
    name: str
    path: Path
    results: ResultsRecord

    @property
    def config(self) -> dict:
        return self.results.config

    @property
    def seed(self) -> int:
        return self.results.seed

    def harness_scores(self) -> dict[str, HarnessScores]:
        """Its lm-eval scores (eval_<task>.json, from `balora eval` or a study's eval_tasks), by task."""
        return read_harness_scores(self.path)


@dataclass
class RunGroup:
    label: str
    dataset: str
    method: str
    train_samples: int | None
    budget: int | None  # what the configuration was matched to (LoRA: its own adapter count)
    runs: list[Run]
    phase: str | None = None
    entry_label: str | None = None  # a study's swept entry: its label in the study file
    swept: dict = field(default_factory=dict)  # setting -> value of this combination of the sweep
    swept_text: dict = field(default_factory=dict)  # setting -> the value as a legend shows it
    edge_warning: str | None = None  # the learning rate was chosen at an edge of its grid as run (study)

    @property
    def first(self) -> Run:
        return min(self.runs, key=lambda run: run.seed)


def load_run(results_dir: str | Path, name: str) -> Run:
    path = Path(results_dir) / name
    final = path / "results_final.json"
    if not final.exists():
        status_file = path / "status.json"
        status = read_results_file(status_file).get("status", "unknown") if status_file.exists() else "missing"
        raise UserError(f"experiment {path} has no results ({status}); finish it first or leave it out")
    return Run(name, path, read_results_record(final))


def budget_of(run: Run) -> int:
    return run.config.get("param_budget") or run.results.parameters.adapter


def configuration_key(run: Run) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in run.config.items() if k not in NOT_CONFIGURATION))


def groups_from_runs(runs: list[Run]) -> list[RunGroup]:
    by_configuration: dict[tuple, list[Run]] = {}
    for run in runs:
        by_configuration.setdefault(configuration_key(run), []).append(run)
    groups = [RunGroup(label=members[0].results.method, dataset=members[0].results.dataset,
                       method=members[0].results.method, train_samples=members[0].config.get("train_samples"),
                       budget=budget_of(members[0]), runs=members) for members in by_configuration.values()]
    for method in {g.method for g in groups}:
        same_method = [g for g in groups if g.method == method]
        if len(same_method) < 2:
            continue
        differing = distinguishing_settings([g.first.config for g in same_method], NOT_CONFIGURATION)
        for group in same_method:
            group.label = group_label(method, group.first.config, differing)
    return groups


def groups_from_names(results_dir: str | Path, names: list[str]) -> list[RunGroup]:
    runs = [load_run(results_dir, name) for name in names]
    untested = [run.name for run in runs if not run.results.tested]
    if untested:
        raise UserError(f"experiment {untested[0]} has no test score (a study's search run: only the chosen rate's "
                        "runs are tested, evaluate_test); leave it out")
    return groups_from_runs(runs)


def groups_from_study(plan) -> tuple[list[RunGroup], list[str]]:
    """The study's groups at their selected learning rate, and what is missing. A grid that grew
    is replayed from the finished search runs (balora.study.grids), as the study grew it; only the
    chosen rate's runs are read, so no search run's test score is ever needed."""
    from balora.study.grids import edge_warning, replay
    from balora.study.runner import finished_results
    from balora.study.selection import select_learning_rate, validation_score

    groups, missing = [], []
    for group in plan.groups:
        learning_rate, warning = group.learning_rates[0], None
        if group.selects_learning_rate:
            def score_of(lr):
                return validation_score(finished_results(plan, group.experiment_name(lr, group.search_seed)))

            scores = replay(group.learning_rates, score_of, group.max_grid_extensions)
            unrun = [lr for lr in scores if not (Path(plan.results_dir) /
                                                 group.experiment_name(lr, group.search_seed)).is_dir()]
            learning_rate = select_learning_rate(scores)
            if learning_rate is None or unrun:
                missing.append(f"{group.key} (" + (f"learning rate {unrun[0]:g} of its search not run" if unrun
                                                   else "no learning rate finished") + ")")
                continue
            warning = edge_warning(scores, len(group.learning_rates), group.max_grid_extensions)
        runs = []
        for seed in group.seeds:
            name = group.experiment_name(learning_rate, seed)
            if not (Path(plan.results_dir) / name / "results_final.json").exists():
                missing.append(name)
            elif not (run := load_run(plan.results_dir, name)).results.tested:  # its test comes after the selection
                missing.append(f"{name} (not tested yet: run the study again)")
            else:
                runs.append(run)
        if runs:
            groups.append(RunGroup(label=group.label, dataset=group.dataset, method=group.method,
                                   train_samples=group.train_samples, budget=group.budget or budget_of(runs[0]),
                                   runs=runs, phase=group.phase, entry_label=group.entry_label,
                                   swept=group.swept, swept_text=group.swept_text, edge_warning=warning))
    return groups, missing
