"""Datasets: registry of known tasks, loading, split rules, tokenisation."""

from balora.data.loading import TaskData, load_task_data
from balora.data.registry import DATASETS, DatasetSpec, dataset_names, get_dataset_spec

__all__ = ["DATASETS", "DatasetSpec", "TaskData", "dataset_names", "get_dataset_spec", "load_task_data"]
