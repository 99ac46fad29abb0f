"""A study's datasets, checked in the dry run with the settings that will reach each of them.

A dataset of one's own (``csv``, ``jsonl``) is only known from its files: its columns, its class
names and how many classes the head needs. So the planner reads it, once per distinct data
configuration, by the same code ``balora train`` loads it with, and a wrong path, a missing
column, a bad label or a k-shot size larger than a class is one line before anything trains.
Named datasets (sst2, alpaca) get their column settings checked; their rows are read at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from balora.config import TrainConfig
from balora.data.registry import FILE_DATASETS, check_file_flags, get_dataset_spec

COLUMN_SETTINGS = ("text_column", "text_pair_column", "label_column", "prompt_column", "response_column")
# The settings that decide what data an experiment reads, and so what its check reads.
DATA_SETTINGS = ("dataset", "data_dir", "train_file", "validation_file", "test_file", "text_column",
                 "text_pair_column", "label_column", "prompt_column", "response_column", "task", "train_samples",
                 "max_test_samples", "max_validation_samples", "allow_missing_classes")


@dataclass(frozen=True)
class CheckedData:
    """What the planner needs of a dataset: its spec (class names filled in) and the head's classes."""

    spec: Any  # balora.data.DatasetSpec
    num_labels: int | None  # None: prompt / response data (a language model, no new head)
    line: str | None = None  # the dry run's summary of files read (None for data read at run time)


@dataclass
class DataChecker:
    """Checks each distinct data configuration once; raises UserError (or ConfigError naming the setting)."""

    _checked: dict[str, CheckedData] = field(default_factory=dict)

    def check(self, name: str, settings: dict[str, Any]) -> CheckedData:
        from balora.tasks import task_for

        data_settings = {k: settings[k] for k in DATA_SETTINGS if k in settings}
        key = json.dumps(data_settings, sort_keys=True, default=str)
        if key not in self._checked:
            check_file_flags(settings["dataset"], *(settings.get(k) for k in ("train_file", "validation_file",
                                                                               "test_file")))
            spec = get_dataset_spec(settings["dataset"], *(settings.get(k) for k in COLUMN_SETTINGS))
            task = task_for(spec, settings.get("task"))
            line = None
            if spec.name in FILE_DATASETS:
                config = TrainConfig(experiment_name="study-check", **data_settings)
                data = task.load_data(spec, config)
                spec, sizes = data.spec, data.sizes()
                classes = f" ({', '.join(spec.label_names)})" if spec.label_names else ""
                line = (f"{name}: {data.source}; train {sizes['train']:,}, validation {sizes['validation']:,}, "
                        f"test {sizes['test']:,}; {task.describe(spec)}{classes}")
            num_labels = task.num_labels(spec)
            self._checked[key] = CheckedData(spec, None if num_labels is None else num_labels or 2, line)
        return self._checked[key]

    def lines(self) -> list[str]:
        """One line per distinct data configuration read from files, in the order first checked."""
        return list(dict.fromkeys(c.line for c in self._checked.values() if c.line))
