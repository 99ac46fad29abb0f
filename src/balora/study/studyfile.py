"""Reading a study file: YAML whose every value remembers the line it came from.

Errors in a study must point at the line to fix, so the file is composed into YAML nodes (which
carry their position) and turned into plain dicts and lists alongside a map from key path to line.
The schema is checked here; what the values mean (methods, budgets, settings) is checked by
``plan.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from balora.config import bookkeeping_settings
from balora.errors import UserError

TOP_LEVEL_KEYS = {
    "name": "study name (also the default results folder: results/<name>)",
    "results_dir": "folder that holds the study's experiments",
    "datasets": "dataset names, as in `balora datasets`; or name -> {dataset: csv|jsonl|<name>, settings} "
                "for data of your own",
    "seeds": "random seeds; every configuration runs once per seed",
    "search_seed": "the seed a learning-rate grid is searched at (default: the first of seeds); "
                   "seeds then run at the chosen rate",
    "grow_grids": "true (default): a search whose best validation score is at an edge of its grid adds the next "
                  "rate beyond it, at the grid's spacing, until the best is inside; false: grids stay as written",
    "max_grid_extensions": "rates a grid may grow by at most (default 3)",
    "evaluate_test": "selected (default): search runs skip the test split, the chosen rate's run is tested "
                     "after the selection from its saved model; all: every run scores the test split",
    "defaults": "`balora train` settings applied to every experiment",
    "dataset_defaults": "dataset name -> `balora train` settings of its experiments (over defaults)",
    "learning_rates": "learning-rate grid per method (method name -> list)",
    "phases": "phase name -> methods, budgets, train_samples, settings",
    "max_trainable_parameters": "refuse the study if a configuration trains more (adapter + head)",
    "eval_tasks": "lm-eval tasks run on each finished experiment, as `balora eval --tasks` (decoders)",
    "eval_limit": "examples per eval task (default: all)",
    "eval_include_path": "folder of your own lm-eval task YAML, as `balora eval --include_path`",
}
PHASE_KEYS = {
    "methods": "label -> settings of one method (peft_method, learning_rates, any train flag)",
    "budgets": "adapter-parameter budgets: numbers, or {lora_rank: r} for what LoRA at rank r costs",
    "train_samples": "k-shot sizes (examples per class) to sweep",
    "settings": "`balora train` settings for every experiment of the phase",
    "seeds": "seeds of this phase (default: the study's)",
    "search_seed": "the seed this phase searches its learning-rate grids at (default: the study's)",
    "datasets": "datasets of this phase (default: the study's)",
    "eval_tasks": "lm-eval tasks of this phase's experiments (default: the study's)",
}
METHOD_KEYS = {"peft_method", "learning_rates", "sweep"}  # sweep: see balora.study.sweeps
# The study decides these for every experiment; a study file may not set them.
# (Its axes, seed and dataset, and the bookkeeping that names and controls each run.)
STUDY_OWNED_SETTINGS = bookkeeping_settings("run") | {"seed", "dataset"}


@dataclass
class Located:
    """Plain YAML data plus the line of every key path (1-based), for error messages."""

    data: Any
    lines: dict[tuple, int]
    path: str

    def line(self, *keys) -> int:
        """The line of the deepest known key path along ``keys``."""
        while keys and keys not in self.lines:
            keys = keys[:-1]
        return self.lines.get(keys, 1)

    def error(self, keys: tuple, message: str) -> UserError:
        return UserError(f"{self.path} line {self.line(*keys)}: {message}")


def _plain(node: yaml.Node, keys: tuple, lines: dict[tuple, int]):
    lines.setdefault(keys, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            lines[keys + (key,)] = key_node.start_mark.line + 1
            if key in result:
                raise UserError(f"line {key_node.start_mark.line + 1}: key {key!r} appears twice")
            result[key] = _plain(value_node, keys + (key,), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, keys + (i,), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def read_located_yaml(path: str | Path) -> Located:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"study file not found: {path}")
    try:
        node = yaml.compose(path.read_text())
        lines: dict[tuple, int] = {}
        data = {} if node is None else _plain(node, (), lines)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    except UserError as err:
        raise UserError(f"{path} {err}") from None
    return Located(data, lines, str(path))


@dataclass
class StudyFile:
    """A study file whose shape has been checked (names and values are checked by the planner)."""

    source: Located
    name: str
    results_dir: str
    datasets: list[str]
    seeds: list[int]
    defaults: dict[str, Any]
    dataset_defaults: dict[str, dict[str, Any]]
    learning_rates: dict[str, list[float]]
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The mapping form of `datasets`: the study's name for a dataset -> {"dataset": kind, settings...}
    dataset_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    eval_tasks: list[str] = field(default_factory=list)  # a phase's own eval_tasks is in its mapping
    eval_limit: int | None = None
    eval_include_path: str | None = None  # absolute: workers may start elsewhere
    search_seed: int | None = None  # None: each phase's first seed
    grow_grids: bool = True
    max_grid_extensions: int = 3
    evaluate_test: str = "selected"

    def kind_of(self, name: str) -> str:
        """What `balora train --dataset` gets for the study's dataset ``name`` (csv for a CSV of one's own)."""
        return self.dataset_sources.get(name, {}).get("dataset", name)

    def settings_of(self, name: str) -> dict[str, Any]:
        """The settings the mapping form gives the dataset ``name`` (files, columns), without its kind."""
        return {k: v for k, v in self.dataset_sources.get(name, {}).items() if k != "dataset"}


def _check_keys(doc: Located, keys: tuple, mapping: Any, what: str, allowed: dict | None = None) -> dict:
    """A mapping (None reads as empty); `allowed=None` leaves its keys to the planner (methods, flags)."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise doc.error(keys, f"{what} must be a mapping of key: value")
    for key in mapping:
        if allowed is not None and key not in allowed:
            raise doc.error(keys + (key,), f"unknown key {key!r} in {what}; known: {', '.join(allowed)}")
    return mapping


def _list_of(doc: Located, keys: tuple, value: Any, kind: type, what: str) -> list:
    values = value if isinstance(value, list) else [value]
    for i, item in enumerate(values):
        if kind is float and isinstance(item, str):
            try:
                item = values[i] = float(item)  # YAML reads 2e-3 (no dot) as a string
            except ValueError:
                pass
        if isinstance(item, bool) or not isinstance(item, (int, float) if kind is float else kind):
            raise doc.error(keys + ((i,) if isinstance(value, list) else ()),
                            f"{what} must be {'numbers' if kind is float else kind.__name__ + 's'} (got {item!r})")
    if not values:
        raise doc.error(keys, f"{what} is empty")
    return values


def _one_seed(doc: Located, keys: tuple, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.error(keys, f"search_seed is one whole number (got {value!r})")
    return value


def _grid_settings(doc: Located, top: dict) -> dict[str, Any]:
    """grow_grids, max_grid_extensions and evaluate_test, each checked at its line."""
    found = {}
    if "grow_grids" in top:
        if not isinstance(top["grow_grids"], bool):
            raise doc.error(("grow_grids",), f"grow_grids is true or false (got {top['grow_grids']!r})")
        found["grow_grids"] = top["grow_grids"]
    if "max_grid_extensions" in top:
        value = top["max_grid_extensions"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise doc.error(("max_grid_extensions",), f"max_grid_extensions is a whole number, 0 or more (got {value!r})")
        found["max_grid_extensions"] = value
    if "evaluate_test" in top:
        if top["evaluate_test"] not in ("selected", "all"):
            raise doc.error(("evaluate_test",), f"evaluate_test is selected or all (got {top['evaluate_test']!r})")
        found["evaluate_test"] = top["evaluate_test"]
    return found


def _datasets(doc: Located, value: Any) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """A list of names, or a mapping that names each dataset and says what it is: the mapping's
    entries are `balora train` settings (files, columns) plus `dataset`, the kind (default: the name)."""
    if not isinstance(value, dict):
        return _list_of(doc, ("datasets",), value, str, "datasets"), {}
    if not value:
        raise doc.error(("datasets",), "datasets is empty")
    sources = {}
    for name, entry in value.items():
        keys = ("datasets", name)
        if not isinstance(name, str):
            raise doc.error(keys, f"a dataset's name is a text (got {name!r})")
        entry = dict(_check_keys(doc, keys, entry, f"dataset {name!r}"))
        kind = entry.setdefault("dataset", name)
        if not isinstance(kind, str):
            raise doc.error(keys + ("dataset",), f"dataset is a name as in `balora datasets` (got {kind!r})")
        sources[name] = entry
    return list(sources), sources


def _eval_tasks(doc: Located, keys: tuple, value: Any) -> list[str]:
    """lm-eval task names; an empty list (a phase without evals) is allowed."""
    if value == [] or value is None:
        return []
    names = _list_of(doc, keys, value, str, "eval_tasks")
    for i, name in enumerate(names):
        if not name.strip() or "," in name:
            raise doc.error(keys + ((i,) if isinstance(value, list) else ()),
                            f"eval_tasks names one lm-eval task per entry (got {name!r})")
    return names


def _eval_settings(doc: Located, top: dict) -> dict[str, Any]:
    limit = top.get("eval_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise doc.error(("eval_limit",), f"eval_limit is a whole number of examples >= 1 (got {limit!r})")
    folder = top.get("eval_include_path")
    if folder is not None:
        if not isinstance(folder, str) or not Path(folder).expanduser().is_dir():
            raise doc.error(("eval_include_path",), f"eval_include_path {folder!r}: no such folder")
        folder = str(Path(folder).expanduser().resolve())
    return {"eval_tasks": _eval_tasks(doc, ("eval_tasks",), top.get("eval_tasks")), "eval_limit": limit,
            "eval_include_path": folder}


def parse_study(path: str | Path) -> StudyFile:
    doc = read_located_yaml(path)
    top = _check_keys(doc, (), doc.data, "the study", TOP_LEVEL_KEYS)
    for required in ("name", "phases"):
        if required not in top:
            raise doc.error((), f"the study needs a {required!r} key ({TOP_LEVEL_KEYS[required]})")
    name = str(top["name"])
    defaults = _check_keys(doc, ("defaults",), top.get("defaults"), "defaults")
    if "max_trainable_parameters" in top:  # a study-wide cap: every experiment's --max_trainable_parameters
        cap = _list_of(doc, ("max_trainable_parameters",), top["max_trainable_parameters"], int,
                       "max_trainable_parameters")
        if len(cap) != 1 or cap[0] < 1 or "max_trainable_parameters" in defaults:
            raise doc.error(("max_trainable_parameters",), "max_trainable_parameters is one positive whole "
                            "number, set once (here or in defaults)")
        defaults = {**defaults, "max_trainable_parameters": cap[0]}
    per_dataset = _check_keys(doc, ("dataset_defaults",), top.get("dataset_defaults"), "dataset_defaults")
    for dataset, settings in per_dataset.items():
        per_dataset[dataset] = _check_keys(doc, ("dataset_defaults", dataset), settings,
                                           f"dataset_defaults of {dataset!r}")
    grids = _check_keys(doc, ("learning_rates",), top.get("learning_rates"), "learning_rates")
    phases = _check_keys(doc, ("phases",), top["phases"], "phases")
    if not phases:
        raise doc.error(("phases",), "the study has no phases")
    for phase_name, phase in phases.items():
        keys = ("phases", phase_name)
        phase = _check_keys(doc, keys, phase, f"phase {phase_name!r}", PHASE_KEYS)
        if not phase.get("methods"):
            raise doc.error(keys, f"phase {phase_name!r} needs 'methods' ({PHASE_KEYS['methods']})")
        methods = _check_keys(doc, keys + ("methods",), phase["methods"], f"methods of {phase_name!r}")
        for label, entry in methods.items():
            entry_keys = keys + ("methods", label)
            entry = phase["methods"][label] = _check_keys(doc, entry_keys, entry, f"method {label!r}")
            if "learning_rates" in entry:
                entry["learning_rates"] = _list_of(doc, entry_keys + ("learning_rates",), entry["learning_rates"],
                                                   float, "a learning-rate grid")
        for list_key, kind in (("seeds", int), ("train_samples", int), ("datasets", str)):
            if list_key in phase:
                phase[list_key] = _list_of(doc, keys + (list_key,), phase[list_key], kind, list_key)
        if "eval_tasks" in phase:
            phase["eval_tasks"] = _eval_tasks(doc, keys + ("eval_tasks",), phase["eval_tasks"])
        if "search_seed" in phase:
            phase["search_seed"] = _one_seed(doc, keys + ("search_seed",), phase["search_seed"])
        phase["settings"] = _check_keys(doc, keys + ("settings",), phase.get("settings"), "settings")
        phases[phase_name] = phase
    datasets, dataset_sources = _datasets(doc, top.get("datasets", ["sst2"]))
    return StudyFile(
        source=doc,
        name=name,
        results_dir=str(top.get("results_dir") or Path("results") / name),
        datasets=datasets,
        seeds=_list_of(doc, ("seeds",), top.get("seeds", [42]), int, "seeds"),
        defaults=defaults,
        dataset_defaults=per_dataset,
        learning_rates={method: _list_of(doc, ("learning_rates", method), grid, float, "a learning-rate grid")
                        for method, grid in grids.items()},
        phases=phases,
        dataset_sources=dataset_sources,
        **_eval_settings(doc, top),
        search_seed=_one_seed(doc, ("search_seed",), top["search_seed"]) if "search_seed" in top else None,
        **_grid_settings(doc, top),
    )

