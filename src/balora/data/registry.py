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

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

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
        *[
            DatasetSpec(f"tweet_eval_{config}", "text", labels, "cardiffnlp/tweet_eval", config,
                        clean_text=True)
            for config, labels in TWEET_EVAL_LABELS.items()
        ],
    ]
}

CSV_DATASET = "csv"


def dataset_names() -> list[str]:
    return [*DATASETS, CSV_DATASET]


def get_dataset_spec(
    name: str,
    text_column: str | None = None,
    text_pair_column: str | None = None,
    label_column: str | None = None,
) -> DatasetSpec:
    """The spec of a named dataset, with any column overrides applied.

    For ``csv`` the label names are not known yet; the loader fills them in from the data.
    """
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
