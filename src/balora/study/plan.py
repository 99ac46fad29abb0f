"""From a study file to the list of experiments it stands for, checked before any training.

Every (phase, dataset, budget, k-shot size, method) is a *group*: experiments that differ only
by learning rate and seed. A group with one learning rate runs every seed at it; a group with a
grid runs every learning rate at the search seed (``search_seed``, default the first of ``seeds``),
keeps the one with the best validation metric and runs every seed of ``seeds`` at it that the
search did not already run (the test split is never looked at). So ten seeds cost ten runs at the
chosen rate, not ten searches. Names are deterministic:
``<dataset>-<phase>-<label>[-b<budget>][-k<shots>]-lr<lr>-s<seed>``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from balora.config import TrainConfig
from balora.errors import ConfigError, UserError
from balora.methods import METHODS, all_option_classes, build_options, learning_rate_of
from balora.study.selection import select_learning_rate  # noqa: F401 (its home before)
from balora.study.budgets import ParameterCounter, budget_settings, resolve_budget
from balora.study.data_check import DataChecker
from balora.study.group import Group  # noqa: F401 (its home before)
from balora.study.group_context import GroupSpot, PlanContext
from balora.study.locate import checked_data, where_dataset, where_set
from balora.study.names import check_names, check_groups, check_swept_types
from balora.study.studyfile import METHOD_KEYS, STUDY_OWNED_SETTINGS, StudyFile
from balora.study.sweeps import Relative, Variant, expand_sweep
from balora.study.values import METHOD_FIELDS, TRAIN_FIELDS, split_settings, typed_setting


def check_trainable_cap(plan: StudyPlan) -> None:
    """Refuse the study, before anything trains, when a configuration exceeds its cap."""
    from balora.counting import ParameterCounts, cap_line, capped_count

    over = [g for g in plan.groups if g.counts and g.settings.get("max_trainable_parameters") is not None
            and capped_count(ParameterCounts(**g.counts)) > g.settings["max_trainable_parameters"]]
    if over:
        first = over[0]
        more = f" (and {len(over) - 1} more configurations)" if len(over) > 1 else ""
        raise UserError(f"{plan.study.source.path} line {first.line}: {first.key}: "
                        f"{cap_line(ParameterCounts(**first.counts), first.settings['max_trainable_parameters'])} "
                        f"(max_trainable_parameters){more}; nothing was trained")


@dataclass
class StudyOptions:
    """What `balora study` / `balora compare` may narrow or override from the command line."""

    phases: list[str] | None = None
    methods: list[str] | None = None
    datasets: list[str] | None = None
    seeds: list[int] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # settings that win over the file's
    results_dir: str | None = None


@dataclass
class StudyPlan:
    study: StudyFile
    results_dir: str
    groups: list[Group]
    data_lines: list[str] = field(default_factory=list)  # the files each dataset of one's own was read from

    @property
    def experiment_count(self) -> int:
        """Experiments the study runs: a learning-rate search at the search seed, then the other seeds."""
        return sum(len(g.first_runs()) + len(g.remaining_seeds) for g in self.groups)


def plan_study(study: StudyFile, options: StudyOptions | None = None, count: bool = True) -> StudyPlan:
    """Expand and check a study; any mistake is one line naming the study file's line."""
    from balora.data import dataset_names

    options = options or StudyOptions()
    doc = study.source
    check_names(study, options)
    _check_settings(doc, ("defaults",), study.defaults)
    for dataset, source in study.dataset_sources.items():
        own = study.settings_of(dataset)
        _check_settings(doc, ("datasets", dataset), own)  # typed in place: "2e-3" becomes a number
        source.update(own)
    known_datasets = {*study.datasets, *(d for p in study.phases.values() for d in p.get("datasets") or ()),
                      *(options.datasets or ()), *dataset_names()}
    for dataset, settings in study.dataset_defaults.items():
        if dataset not in known_datasets:
            raise doc.error(("dataset_defaults", dataset), f"unknown dataset {dataset!r}: not one of this study's "
                            f"({', '.join(study.datasets)}) nor of `balora datasets`")
        _check_settings(doc, ("dataset_defaults", dataset), settings)
    _check_selection(doc, options.phases, study.phases, "phase")
    _check_selection(doc, options.methods, {l for p in study.phases.values() for l in p["methods"]}, "method")
    context = PlanContext(doc, study, options, ParameterCounter(), DataChecker(), count)
    groups: list[Group] = []
    for phase_name, phase in study.phases.items():
        if options.phases and phase_name not in options.phases:
            continue
        phase_keys = ("phases", phase_name)
        _check_settings(doc, phase_keys + ("settings",), phase["settings"])
        datasets = phase_datasets(phase.get("datasets"), study.datasets, options.datasets)
        seeds = tuple(options.seeds or phase.get("seeds") or study.seeds)
        _check_seeds(doc, phase_keys + ("seeds",) if "seeds" in phase else ("seeds",), seeds)
        search_seed = search_seed_of(study, phase_name, options.seeds)
        if search_seed is not None:
            _check_seeds(doc, phase_keys + ("search_seed",) if "search_seed" in phase else ("search_seed",),
                         (search_seed,), "search_seed")
        budgets = phase.get("budgets") or [None]
        shots = [options.overrides["train_samples"]] if "train_samples" in options.overrides else (
            phase.get("train_samples") or [None])
        for dataset in datasets:
            if study.kind_of(dataset) not in dataset_names():
                raise doc.error(where_dataset(doc, phase_keys, phase, dataset), f"unknown dataset "
                                f"{study.kind_of(dataset)!r}; valid datasets: {', '.join(dataset_names())}")
            for b, budget_value in enumerate(budgets):
                budget_keys = phase_keys + ("budgets", b)
                for k in shots:
                    for label, entry in phase["methods"].items():
                        if options.methods and label not in options.methods:
                            continue
                        for variant in _variants(doc, phase_keys + ("methods", label), entry):
                            groups.append(_plan_group(context, GroupSpot(
                                phase_name, dataset, label, entry, budget_value, budget_keys, k, seeds, variant,
                                search_seed)))
    if not groups:
        raise UserError(f"{doc.path}: no experiment matches the chosen phases, methods and datasets")
    check_groups(doc, groups)
    return StudyPlan(study, options.results_dir or study.results_dir, groups, context.data.lines())


def phase_datasets(own: list[str] | None, study_wide: list[str], chosen: list[str] | None) -> list[str]:
    """--datasets picks among the datasets a phase names for itself (a phase made for one dataset
    is not run on another); a phase on the study's datasets runs the chosen ones instead."""
    if own and chosen:
        return [dataset for dataset in own if dataset in chosen]
    return chosen or own or study_wide


def _variants(doc, entry_keys: tuple, entry: dict) -> list[Variant]:
    def known_setting(name):
        if name in STUDY_OWNED_SETTINGS:
            return f"{name!r} is set by the study itself and cannot be swept"
        if name not in TRAIN_FIELDS and name not in METHOD_FIELDS:
            return f"unknown setting {name!r} (see `balora train --help`)"
        if name in entry or (name == "learning_rate" and "learning_rates" in entry):
            return f"{name!r} is both set and swept in this entry; keep one"
        return None

    sweep_keys = entry_keys + ("sweep",)
    return expand_sweep(entry.get("sweep"), lambda keys, message: doc.error(sweep_keys + keys, message),
                        known_setting, typed_setting)


def _default_of(name: str):
    for cls in (TrainConfig, *all_option_classes()):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if name in fields:
            return fields[name].default
    return None


def _plan_group(context: PlanContext, spot: GroupSpot) -> Group:
    doc, study, options, counter = context.doc, context.study, context.options, context.counter
    phase_name, dataset, label, entry, variant = spot.phase, spot.dataset, spot.label, spot.entry, spot.variant
    budget_keys, shots, entry_keys = spot.budget_keys, spot.shots, spot.entry_keys
    if not re.fullmatch(r"[A-Za-z0-9_.+=]+", str(label)):
        raise doc.error(entry_keys, f"method label {label!r} may only hold letters, digits and _ . + =")
    own = {k: v for k, v in entry.items() if k not in METHOD_KEYS}
    _check_settings(doc, entry_keys, own)
    method = entry.get("peft_method", label)
    if method not in METHODS:
        raise doc.error(entry_keys + ("peft_method",) if "peft_method" in entry else entry_keys,
                        f"unknown method {method!r} (set peft_method; valid: {', '.join(METHODS)})")
    phase = study.phases[phase_name]
    read = {f.name for cls in METHODS[method].option_classes for f in dataclasses.fields(cls)}
    for name in own:
        if name in METHOD_FIELDS and name not in read:
            raise doc.error(entry_keys + (name,), f"{name!r} does not apply to method {method!r}")
    for name in variant.values:
        if name in METHOD_FIELDS and name not in read:
            raise doc.error(entry_keys + ("sweep", name), f"{name!r} does not apply to method {method!r}")
    fixed = {name: value for name, value in variant.values.items() if not isinstance(value, Relative)}
    # Study-wide method settings (e.g. lora_target_modules) reach only the methods that read them.
    study_wide = {**study.defaults, **study.settings_of(dataset), **study.dataset_defaults.get(dataset, {}),
                  **phase["settings"]}
    shared = {k: v for k, v in study_wide.items() if k not in METHOD_FIELDS or k in read}
    settings = {**shared, **own, **fixed, **options.overrides, "peft_method": method,
                "dataset": study.kind_of(dataset)}
    if shots is not None:
        settings["train_samples"] = shots
    num_labels = checked_data(context, spot, settings).num_labels
    eval_tasks = tuple(phase["eval_tasks"] if "eval_tasks" in phase else study.eval_tasks)
    if eval_tasks and num_labels is not None:
        where = ("phases", phase_name, "eval_tasks") if "eval_tasks" in phase else ("eval_tasks",)
        raise doc.error(where, f"eval_tasks runs lm-eval on language models; {dataset} trains a classifier "
                        f"({label} in phase {phase_name})")
    budget, budget_value = None, spot.budget_value
    if budget_value is not None:
        reference = {**study_wide, **options.overrides}  # what "LoRA at rank r" means here
        budget = resolve_budget(doc, budget_keys, budget_value, reference, counter, num_labels)
        settings.update(budget_settings(doc, entry_keys, budget_keys, method, budget, settings, counter, num_labels))
    try:  # relative values read the finished configuration, budgets' ranks included
        swept, swept_text = variant.resolve(settings, _default_of)
    except ValueError as err:
        raise doc.error(entry_keys + ("sweep",), str(err)) from None
    check_swept_types(doc, entry_keys, swept, swept_text)
    settings.update({name: value for name, value in swept.items() if name not in options.overrides})
    label = variant.label(str(label), swept)
    grid = entry.get("learning_rates") or study.learning_rates.get(method) or [
        settings.get("learning_rate") or learning_rate_of(METHODS[method])]
    if "learning_rate" in swept:  # a swept rate is a configuration of its own, not a grid to select from
        grid = [float(swept["learning_rate"])]
    settings.pop("learning_rate", None)
    _validate(doc, study, phase_name, dataset, entry_keys, settings, grid)
    key = f"{dataset}-{phase_name}-{label}" + (f"-b{budget}" if budget else "") + (f"-k{shots}" if shots else "")
    counts = None
    if context.count:
        try:
            counts = counter.counts(settings, num_labels)
        except UserError as err:
            raise doc.error(budget_keys if budget is not None else entry_keys, str(err)) from None
    return Group(key=key, phase=phase_name, dataset=dataset, label=str(label), method=method, budget=budget,
                 train_samples=settings.get("train_samples"), settings=settings, learning_rates=tuple(grid),
                 seeds=spot.seeds, line=doc.line(*entry_keys), counts=counts,
                 entry_label=entry_keys[-1] if variant.values else None, swept=swept, swept_text=swept_text,
                 search_seed=spot.search_seed, max_grid_extensions=study.max_grid_extensions if study.grow_grids else 0,
                 evaluate_test=study.evaluate_test, eval_tasks=eval_tasks)


def _check_settings(doc, keys: tuple, settings: dict) -> None:
    """Names and value types, at the line that holds each; numbers written as text become numbers."""
    for name in list(settings):
        if name in STUDY_OWNED_SETTINGS:
            raise doc.error(keys + (name,), f"{name!r} is set by the study itself and cannot be given here")
        if name not in TRAIN_FIELDS and name not in METHOD_FIELDS:
            raise doc.error(keys + (name,), f"unknown setting {name!r} (see `balora train --help`)")
        try:
            settings[name] = typed_setting(name, settings[name])
        except ValueError as err:
            raise doc.error(keys + (name,), str(err)) from None


def search_seed_of(study: StudyFile, phase_name: str, chosen_seeds: list[int] | None) -> int | None:
    """The phase's search seed, else the study's; None (the first of the seeds) when neither sets one
    or when --seeds replaced the file's seeds (a reduced run searches at its own first seed)."""
    if chosen_seeds:
        return None
    return study.phases[phase_name].get("search_seed", study.search_seed)


def _check_seeds(doc, keys: tuple, seeds: tuple, name: str = "seeds") -> None:
    for seed in seeds:
        try:
            TrainConfig(experiment_name="study-check", seed=seed)
        except ConfigError as err:
            raise doc.error(keys, str(err).replace("--seed", name)) from None


def _check_selection(doc, chosen, known, what: str) -> None:
    unknown = [name for name in chosen or [] if name not in known]
    if unknown:
        raise UserError(f"{doc.path}: no {what} named {unknown[0]!r} (known: {', '.join(known)})")


def _validate(doc, study, phase_name, dataset, entry_keys, settings, grid) -> None:
    train_kwargs, method_kwargs = split_settings(settings)
    try:
        for lr in grid:
            TrainConfig(experiment_name="study-check", learning_rate=lr, **train_kwargs)
        build_options(**method_kwargs)
    except ConfigError as err:
        raise doc.error(where_set(doc, study, phase_name, dataset, entry_keys, err.field), str(err)) from None
    except (UserError, TypeError) as err:
        raise doc.error(entry_keys, str(err)) from None
