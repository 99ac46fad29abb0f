"""Datasets: registry of known tasks, loading, split rules, tokenisation."""

from balora.data.registry import DATASETS, DatasetSpec, dataset_names, get_dataset_spec

__all__ = ["DATASETS", "DatasetSpec", "TaskData", "dataset_names", "get_dataset_spec", "load_task_data"]


def __getattr__(name: str):
    # Loading needs pandas; the registry alone (what `--help` and a study's checks read) must not.
    if name in ("TaskData", "load_task_data"):
        from balora.data import loading

        return getattr(loading, name)
    raise AttributeError(f"module 'balora.data' has no attribute {name!r}")
