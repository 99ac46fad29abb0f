"""The functions behind `balora <command>`; each docstring is that command's --help."""

from __future__ import annotations

from balora.config import DEFAULT_MODEL, TrainConfig


def train(config: TrainConfig, **method_options) -> None:
    """Fine-tune a model on a text-classification dataset with one method.

    Results go to <results_dir>/<experiment_name>/: config.json, training_log.txt,
    metrics.jsonl, results_final.json, test_predictions.csv and model_checkpoint/.
    """
    from balora.train import train as run_training

    run_training(config, {type(option): option for option in method_options.values()})


def count(model_name_or_path: str = DEFAULT_MODEL, peft_method: str = "lora", dataset: str = "sst2",
          num_labels: int | None = None, **method_options) -> None:
    """Print the parameter counts and rank pattern a configuration would train, without training.

    Use it to match budgets before spending compute: the counts are those `balora train` reports
    with the same flags. BA-LoRA's total is exact; its pattern is shown at equal importance (the
    gradient pass decides the real one). AdaLoRA shows the count it keeps and the peak it holds;
    plateau_lora the count it starts from and the most it may grow to.

    Args:
        model_name_or_path: Hugging Face model id or local folder (as for `balora train`).
        peft_method: Fine-tuning method (see `balora methods`).
        dataset: The task head is sized for this dataset's classes (see `balora datasets`).
        num_labels: Classes of the task head, overriding --dataset (needed for `csv`).
    """
    from balora.count import count_configuration, print_counts
    from balora.data import get_dataset_spec
    from balora.errors import UserError

    if num_labels is None:
        spec = get_dataset_spec(dataset)
        if not spec.num_labels:
            raise UserError(f"--dataset {dataset}: the number of classes is only known from the data; pass --num_labels")
        num_labels = spec.num_labels
    config = TrainConfig(experiment_name="count", dataset=dataset, peft_method=peft_method,
                         model_name_or_path=model_name_or_path)
    print_counts(count_configuration(config, {type(o): o for o in method_options.values()}, num_labels))


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


COMMANDS = {"train": train, "count": count, "datasets": datasets, "methods": methods, "download": download}
