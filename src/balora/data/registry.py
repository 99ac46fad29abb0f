"""What balora knows about each named dataset: columns, labels, Hub location, headline metric."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from balora.errors import UserError


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    text_column: str
    label_names: tuple[str, ...]
    hub_path: str | None = None
    hub_config: str | None = None
    text_pair_column: str | None = None
    label_column: str = "label"
    metric: str = "accuracy"  # the validation metric that picks the best epoch
    clean_text: bool = False  # TweetEval's user handles, URLs and HTML entities
    # local split name -> Hub split name, where they differ (MNLI's matched sets)
    hub_split_names: dict[str, str] = field(default_factory=dict)
    # Text-to-text datasets (tasks causal_lm / generation): the user turn is ``prompt_column`` (or a
    # fixed ``instruction`` with ``prompt_column`` as its input), the answer ``response_column``.
    task: str = "classification"
    prompt_column: str | None = None
    context_column: str | None = None  # Alpaca's optional "input" beside the instruction
    response_column: str | None = None
    instruction: str | None = None
    data_file: str | None = None  # one file holding every row (Alpaca's JSON), under <name>_dataset/

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def is_text_to_text(self) -> bool:
        return self.task != "classification"

    @property
    def is_pair_task(self) -> bool:
        return self.text_pair_column is not None


_GLUE = "nyu-mll/glue"

TWEET_EVAL_LABELS: dict[str, tuple[str, ...]] = {
    "emoji": tuple(str(i) for i in range(20)),
    "emotion": ("anger", "joy", "optimism", "sadness"),
    "hate": ("non-hate", "hate"),
    "irony": ("non_irony", "irony"),
    "offensive": ("non-offensive", "offensive"),
    "sentiment": ("negative", "neutral", "positive"),
    **{
        f"stance_{topic}": ("none", "against", "favor")
        for topic in ("abortion", "atheism", "climate", "feminist", "hillary")
    },
}

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec("sst2", "sentence", ("negative", "positive"), _GLUE, "sst2"),
        DatasetSpec("imdb", "text", ("negative", "positive"), "stanfordnlp/imdb"),
        DatasetSpec("ag_news", "text", ("World", "Sports", "Business", "Sci/Tech"), "fancyzhx/ag_news"),
        DatasetSpec("cola", "sentence", ("unacceptable", "acceptable"), _GLUE, "cola",
                    metric="matthews_correlation"),
        DatasetSpec("qnli", "question", ("entailment", "not_entailment"), _GLUE, "qnli",
                    text_pair_column="sentence"),
        DatasetSpec("mnli", "premise", ("entailment", "neutral", "contradiction"), _GLUE, "mnli",
                    text_pair_column="hypothesis",
                    hub_split_names={"validation": "validation_matched", "test": "test_matched"}),
        DatasetSpec("alpaca", "instruction", (), "yahma/alpaca-cleaned", task="causal_lm", metric="perplexity",
                    prompt_column="instruction", context_column="input", response_column="output",
                    data_file="alpaca_data_cleaned.json"),
        DatasetSpec("samsum", "dialogue", (), "knkarthick/samsum", task="generation", metric="perplexity",
                    prompt_column="dialogue", response_column="summary",
                    instruction="Summarize this dialogue in one or two sentences."),
        *[
            DatasetSpec(f"tweet_eval_{config}", "text", labels, "cardiffnlp/tweet_eval", config,
                        clean_text=True)
            for config, labels in TWEET_EVAL_LABELS.items()
        ],
    ]
}

CSV_DATASET = "csv"
JSONL_DATASET = "jsonl"
FILE_DATASETS = (CSV_DATASET, JSONL_DATASET)


def check_file_flags(name: str, train_file: str | None, validation_file: str | None, test_file: str | None) -> None:
    """--train_file and its kin name the files of `csv` / `jsonl` data; with a named dataset they
    would be ignored without a word, and the run would train on something else."""
    given = [flag for flag, value in (("--train_file", train_file), ("--validation_file", validation_file),
                                      ("--test_file", test_file)) if value is not None]
    if given and name not in FILE_DATASETS:
        kind = "jsonl" if str(train_file or validation_file or test_file).endswith(".jsonl") else "csv"
        raise UserError(f"{given[0]} applies to --dataset csv or jsonl, not to {name!r}; add --dataset {kind}")


def dataset_names() -> list[str]:
    return [*DATASETS, *FILE_DATASETS]


def get_dataset_spec(
    name: str,
    text_column: str | None = None,
    text_pair_column: str | None = None,
    label_column: str | None = None,
    prompt_column: str | None = None,
    response_column: str | None = None,
) -> DatasetSpec:
    """The spec of a named dataset, with any column overrides applied.

    For ``csv`` the label names are not known yet; the loader fills them in from the data.
    ``csv`` with --prompt_column, and ``jsonl``, hold prompt / response pairs (task causal_lm).
    """
    classification_columns = [flag for flag, value in (("--text_column", text_column), ("--text_pair_column",
                               text_pair_column), ("--label_column", label_column)) if value is not None]
    if classification_columns and (name == JSONL_DATASET or prompt_column is not None or (
            name in DATASETS and DATASETS[name].is_text_to_text)):
        raise UserError(f"{classification_columns[0]} applies to classification data, not to the prompt / response "
                        f"dataset {name!r} (its columns: --prompt_column, --response_column)")
    if name == JSONL_DATASET or (name == CSV_DATASET and prompt_column is not None):
        if prompt_column is None or response_column is None:
            raise UserError(f"--prompt_column and --response_column are required with --dataset {name} "
                            "(prompt / response files)")
        return DatasetSpec(name, prompt_column, (), task="causal_lm", metric="perplexity",
                           prompt_column=prompt_column, response_column=response_column)
    if name in DATASETS and DATASETS[name].is_text_to_text:
        spec = DATASETS[name]
        return replace(spec, prompt_column=prompt_column or spec.prompt_column,
                       response_column=response_column or spec.response_column)
    if prompt_column is not None or response_column is not None:
        raise UserError(f"--prompt_column / --response_column apply to prompt / response data "
                        f"(alpaca, samsum, jsonl, csv), not to the classification dataset {name!r}")
    overrides = {
        key: value
        for key, value in dict(text_column=text_column, text_pair_column=text_pair_column,
                               label_column=label_column).items()
        if value is not None
    }
    if name == CSV_DATASET:
        if text_column is None:
            raise UserError("--text_column is required with --dataset csv")
        return DatasetSpec(CSV_DATASET, text_column, label_names=(), **{
            k: v for k, v in overrides.items() if k != "text_column"})
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; valid datasets: {', '.join(dataset_names())}")
    return replace(DATASETS[name], **overrides)
