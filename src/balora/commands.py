"""The functions behind `balora <command>`; each docstring is that command's --help."""

from __future__ import annotations

from balora.config import TrainConfig
from balora.flags import accepted_flags
from balora.study.flags import StudyFlags


def train(config: TrainConfig, **method_options) -> None:
    """Fine-tune a model with one method: a classifier on labelled text, or a language model on prompt / response data.

    Classification (sst2, imdb, ..., a csv of text and labels) trains a task head with the adapter;
    prompt / response data (alpaca, samsum, jsonl, a csv with --prompt_column) trains a causal LM
    (task causal_lm: perplexity; generation: ROUGE on greedy outputs too). Results go to
    <results_dir>/<experiment_name>/: config.json, training_log.txt, metrics.jsonl,
    results_final.json, test_predictions.csv (classification) or test_generations.jsonl
    (generation), and model_checkpoint/.
    """
    from balora.train import train as run_training

    run_training(config, {type(option): option for option in method_options.values()})


# A `balora train` command line counts as it is: train's other flags are accepted (and noted when ignored).
TrainFlagsForCount = accepted_flags(
    "TrainFlagsForCount", TrainConfig, leave_out=("model_name_or_path", "peft_method", "dataset", "max_trainable_parameters"),
    doc="balora train's other flags: accepted, so that a train command line is counted as it is; only "
        "--prompt_column / --response_column change the counts (prompt / response data: a causal language model)")


def count(model_name_or_path: str | None = None, peft_method: str = "lora", dataset: str = "sst2",
          num_labels: int | None = None, max_trainable_parameters: int | None = None,
          train_flags: TrainFlagsForCount = None, **method_options) -> None:
    """Print the parameter counts and rank pattern a configuration would train, without training.

    Use it to match budgets before spending compute: the counts are those `balora train` reports
    with the same flags, and a whole `balora train` command line is accepted (`train` replaced by
    `count`). BA-LoRA's total is exact; its pattern is shown at equal importance (the gradient pass
    decides the real one). AdaLoRA shows the count it keeps and the peak it holds; plateau_lora the
    count it starts from and the most it may grow to.

    Args:
        model_name_or_path: Hugging Face model id or local folder (as for `balora train`; default: the
            packaged MiniLM for classification, SmolLM2-135M-Instruct for prompt / response data).
        peft_method: Fine-tuning method (see `balora methods`).
        dataset: The task head is sized for this dataset's classes (see `balora datasets`); prompt / response
            datasets (alpaca, samsum) count the causal language model, which has no new head.
        num_labels: Classes of the task head, overriding --dataset (needed for `csv`).
        max_trainable_parameters: Show the count against this cap; exit 2 when the configuration exceeds it.
    """
    import dataclasses

    from balora.count import count_train_command, ignored_train_flags

    train_flags = train_flags or TrainFlagsForCount()
    columns = {name: getattr(train_flags, name) for name in ("text_column", "prompt_column", "response_column")}
    model_name_or_path, num_labels = _model_and_head(model_name_or_path, dataset, num_labels, columns)
    # every flag's range is checked as `balora train` checks it, before anything loads
    config = TrainConfig(**{**dataclasses.asdict(train_flags), "experiment_name": train_flags.experiment_name or "count",
                            "dataset": dataset, "peft_method": peft_method, "model_name_or_path": model_name_or_path,
                            "max_trainable_parameters": max_trainable_parameters})
    count_train_command(config, {type(o): o for o in method_options.values()}, num_labels,
                        ignored_train_flags(train_flags))


def memory(methods: list[str], model_name_or_path: str | None = None, dataset: str = "sst2",
           num_labels: int | None = None, memory_limit_gb: float | None = None, max_length: int = 128,
           max_batch_size: int = 1024, output_dir: str = "analysis") -> None:
    """Measure the largest training batch that fits a memory limit, per method (e.g. full vs LoRA vs QLoRA).

    For each method, one real AdamW training step on sequences of --max_length tokens (the
    optimizer state already created) is measured at the batch sizes a search picks: it predicts
    the answer from the line through its measurements and confirms it exactly (the batch fits, the
    next one does not). Each measurement runs in a fresh process. Prints a table and writes
    memory_batch_sizes.md and memory_batch_sizes.png (peak memory against batch size, with the
    limit) to --output_dir.

    Args:
        methods: Methods to measure, each a method name with optional flags, e.g. full lora "lora --quantization nf4".
        model_name_or_path: Hugging Face model id or local folder (as for `balora train`; default: the
            packaged MiniLM for classification, SmolLM2-135M-Instruct for prompt / response data).
        dataset: The task head is sized for this dataset's classes (see `balora datasets`); prompt / response
            datasets (alpaca, samsum) measure the causal language model, its loss on every token.
        num_labels: Classes of the task head, overriding --dataset (needed for `csv`).
        memory_limit_gb: Memory limit in GB (10^9 bytes); default: the GPU's memory (required on a machine without
            a GPU).
        max_length: Tokens per sequence of the measured batches.
        max_batch_size: Largest batch size tried.
        output_dir: Folder for the table and the plot.
    """
    from balora.memory.command import run_memory_command

    model_name_or_path, num_labels = _model_and_head(model_name_or_path, dataset, num_labels)
    for path in run_memory_command(methods, model_name_or_path, num_labels, memory_limit_gb, max_length,
                                   max_batch_size, output_dir):
        print(f"wrote {path}")


def _memory_needs(given: set[str]) -> list[str]:
    from balora.memory.command import missing_without_a_gpu

    return missing_without_a_gpu(given)


memory.also_required = _memory_needs  # named with a missing --methods, in one line


def _model_and_head(model_name_or_path: str | None, dataset: str, num_labels: int | None,
                    columns: dict[str, str | None] | None = None) -> tuple[str, int | None]:
    """The model a command without a training set looks at, and its head's classes (None: a causal
    LM with its own head), from --dataset (and its columns) as `balora train` would decide them."""
    from balora.data import get_dataset_spec
    from balora.data.registry import CSV_DATASET
    from balora.errors import ConfigError, UserError
    from balora.modeling import check_model_source
    from balora.packaged_models import packaged_default

    if num_labels is not None and (isinstance(num_labels, bool) or num_labels < 1):
        raise ConfigError("num_labels", f"must be a whole number >= 1 (got {num_labels})")
    columns = {name: value for name, value in (columns or {}).items() if value is not None}
    if dataset == CSV_DATASET and "prompt_column" not in columns:
        # the text column does not change the model; whether the file holds prompt / response pairs does
        columns.setdefault("text_column", "text")
    spec = get_dataset_spec(dataset, **columns)
    model_name_or_path = model_name_or_path or packaged_default(spec.is_text_to_text)
    check_model_source(model_name_or_path)
    if num_labels is None and not spec.is_text_to_text:
        if not spec.num_labels:
            raise UserError(f"--dataset {dataset}: the number of classes is only known from the data; pass --num_labels")
        num_labels = spec.num_labels
    return model_name_or_path, num_labels


def datasets() -> None:
    """List the datasets balora knows by name."""
    from balora.data.listing import dataset_listing

    print("\n".join(dataset_listing()))


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


def study(study_file: str, /, flags: StudyFlags) -> None:
    """Run a whole study file: every phase, dataset, budget, method, learning rate and seed.

    Experiments are named deterministically (<dataset>-<phase>-<label>[-b<budget>][-k<shots>]-lr<lr>-s<seed>)
    and run through `balora train`'s code path: one after another in this process (--executor serial,
    the default), or spread over worker processes (local), a Ray cluster (ray) or SLURM jobs (slurm).
    Finished ones are read back, an interrupted one resumes, so rerunning the same command continues a
    stopped study. A failure is recorded in <results_dir>/study.json and the rest goes on (exit code 1 at
    the end). A method with a learning-rate grid runs every rate at the first seed, keeps the best on
    validation and runs the other seeds at it. The whole file is checked before anything trains.

    Args:
        study_file: The study file (YAML; see configs/ and docs/guide.md).
    """
    from balora.study import print_plan, run_study_command

    if flags.dry_run:
        print_plan(study_file, flags.plan_options())
    else:
        run_study_command(study_file, flags)


def compare(experiment_names: list[str] | None = None, study: str | None = None, output_dir: str = "analysis",
            results_dir: str | None = None, seeds: list[int] | None = None, datasets: list[str] | None = None,
            train_samples: int | None = None) -> None:
    """Comparison tables and figures from finished experiments.

    Writes comparison_table.csv and comparison_table.md (per method and dataset: adapter
    parameters, test accuracy / macro F1 / MCC as mean ± std over seeds, n, wall time, and the
    difference to LoRA at the same budget with a paired t-test over seeds, 95% intervals over seeds
    and over test examples, Holm-corrected p-values and a verdict), power.md (seeds a difference
    needs, from the measured spread), performance_plot.png,
    rank_allocation_heatmap.png, training_curves.png and confusion_matrices.png; for a study's
    sweeps, sweep_<dataset>_<phase>_<label>.png (validation metric vs step per swept value).

    Args:
        experiment_names: Experiments to compare (runs differing only by seed are pooled).
        study: Compare a study's experiments instead, at each method's selected learning rate.
        output_dir: Folder for the tables and figures.
        results_dir: Folder holding the experiments (default: results, or the study's).
        seeds: With --study: the seeds it ran with (as given to `balora study --seeds`).
        datasets: With --study: only these of its datasets (as given to `balora study --datasets`).
        train_samples: With --study: the examples per class it ran with (as given to `balora study`).
    """
    from balora.analysis.collect import groups_from_names, groups_from_study
    from balora.analysis.compare import compare as write_comparison
    from balora.errors import UserError

    if (experiment_names is None) == (study is None):
        raise UserError("compare: give either --experiment_names or --study")
    if study is not None:
        from balora.study import plan_from_file
        from balora.study.plan import StudyOptions

        # A reduced run's names hold its seeds and k: the same overrides find its experiments.
        overrides = {"train_samples": train_samples} if train_samples is not None else {}
        options = StudyOptions(results_dir=results_dir, seeds=seeds, datasets=datasets, overrides=overrides)
        groups, missing = groups_from_study(plan_from_file(study, options, count=False))
        if missing:
            print(f"not finished, left out: {len(missing)} ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})")
    else:
        groups = groups_from_names(results_dir or "results", experiment_names)
    for path in write_comparison(groups, output_dir):
        print(f"wrote {path}")


def plot_ranks(model_path: str, output: str = "rank_heatmap.png") -> None:
    """Heatmap of a saved adapter's rank per layer and module (AdaLoRA: initial and final).

    Args:
        model_path: A saved PEFT LoRA or AdaLoRA adapter, e.g. results/<experiment>/model_checkpoint.
        output: PNG file to write.
    """
    from balora.analysis.plots import rank_heatmaps
    from balora.analysis.ranks import adapter_ranks, adapter_title, rank_grid

    ranks = adapter_ranks(model_path)
    panels = [(f"{adapter_title(model_path)}\n{stage} ranks ({sum(r.values())} in all)", rank_grid(r)) for stage, r in
              (("initial", ranks.get("initial")), ("final", ranks["final"])) if r]
    print(f"wrote {rank_heatmaps(panels, output)}")


def plot_curves(experiments: list[str], output: str = "training_curves.png", results_dir: str = "results") -> None:
    """Training and validation loss per step and the validation metric per epoch of experiments.

    Args:
        experiments: Experiment names (in --results_dir) or experiment folders.
        output: PNG file to write.
        results_dir: Folder holding the experiments.
    """
    from pathlib import Path

    from balora.analysis.plots import read_curves, training_curves
    from balora.errors import UserError
    from balora.record import read_results_record

    curves = []
    for experiment in experiments:
        path = Path(experiment) if (Path(experiment) / "metrics.jsonl").exists() else Path(results_dir) / experiment
        if not (path / "config.json").exists():
            raise UserError(f"--experiments: no experiment {experiment!r} (looked in {path})")
        final = path / "results_final.json"
        metric = read_results_record(final).headline_metric if final.exists() else "accuracy"
        curves.append((path.name, *read_curves(path), metric))
    print(f"wrote {training_curves(curves, output)}")


def push(experiment: str, repo_id: str, private: bool = False) -> None:
    """Upload an experiment's saved model (adapter, tokenizer, model card) and results_final.json to the Hub.

    Needs network and a Hugging Face token (`hf auth login` or HF_TOKEN). The model card, README.md
    in model_checkpoint/, is written at training time; an older run gets one first.

    Args:
        experiment: The experiment folder, <results_dir>/<experiment_name>.
        repo_id: Hub model repository to create or update, e.g. your-name/smollm2-lora-alpaca.
        private: Create the repository private.
    """
    from balora.push import push_experiment

    print(f"pushed to {push_experiment(experiment, repo_id, private)}")


def harness_eval(experiment: str, tasks: str, limit: int | None = None, num_fewshot: int | None = None,
                 batch_size: int = 8, include_path: str | None = None) -> None:
    """Run lm-evaluation-harness tasks on an experiment's model, adapted and untuned (needs balora[eval]).

    The base model is loaded with the experiment's adapter applied and evaluated, then evaluated again
    with the adapter switched off. Between the two, the log-likelihoods of the task's first inputs under
    both are compared: identical ones mean the adapter is not applied, and the command stops (exit 1).
    Writes eval_<task>.json into the experiment folder and prints a line per task. Offline, use local
    task YAML (dataset_path: json, dataset_kwargs: data_files) in a folder given by --include_path.

    Args:
        experiment: The experiment folder, <results_dir>/<experiment_name>.
        tasks: lm-eval task names, comma-separated.
        limit: Evaluate at most this many examples per task.
        num_fewshot: Few-shot examples per prompt (default: the task's own).
        batch_size: Examples per forward pass.
        include_path: Folder of your own lm-eval task YAML files.
    """
    from balora.harness import run_eval

    for path in run_eval(experiment, tasks, limit, num_fewshot, batch_size, include_path):
        print(f"wrote {path}")


COMMANDS = {"train": train, "count": count, "memory": memory, "study": study, "compare": compare,
            "plot": {"ranks": plot_ranks, "curves": plot_curves},
            "datasets": datasets, "methods": methods, "download": download, "push": push,
            "eval": harness_eval}
