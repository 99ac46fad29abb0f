"""The functions behind `balora <command>`; each docstring is that command's --help."""

from __future__ import annotations

from balora.config import TrainConfig


def train(config: TrainConfig, **method_options) -> None:
    """Fine-tune a model on a text-classification dataset with one method.

    Results go to <results_dir>/<experiment_name>/: config.json, training_log.txt,
    metrics.jsonl, results_final.json, test_predictions.csv and model_checkpoint/.
    """
    from balora.train import train as run_training

    run_training(config, {type(option): option for option in method_options.values()})


def datasets() -> None:
    """List the datasets balora knows by name."""
    from balora.data.registry import CSV_DATASET, DATASETS

    for spec in DATASETS.values():
        columns = spec.text_column + (f" + {spec.text_pair_column}" if spec.text_pair_column else "")
        print(f"{spec.name:28s} {spec.num_labels:2d} classes  text: {columns:22s} metric: {spec.metric}")
    print(f"{CSV_DATASET:28s} any CSV: --train_file, --text_column [--text_pair_column] [--label_column]")


def methods() -> None:
    """List the fine-tuning methods."""
    from balora.methods import METHODS

    for method in METHODS.values():
        print(f"{method.name:14s} {method.summary}")


def download(dataset: str, data_dir: str = "data") -> None:
    """Write a dataset from the Hugging Face Hub to the local layout --data_dir reads (needs network).

    Args:
        dataset: Dataset name, as in `balora datasets`.
        data_dir: Folder to write <dataset>_dataset/<dataset>_<split>.csv into.
    """
    from balora.data.download import download_dataset

    for path in download_dataset(dataset, data_dir):
        print(f"wrote {path}")


COMMANDS = {"train": train, "datasets": datasets, "methods": methods, "download": download}
