"""Load a dataset's splits from local CSVs or the Hugging Face Hub, validated and split.

Every split comes out with the same three columns: ``text``, ``text_pair`` (pair tasks only)
and ``label`` (integers 0..num_labels-1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from balora.data.registry import CSV_DATASET, DatasetSpec
from balora.data.splits import CARVE_SEED, carve, has_labels, resolve_splits, sample_per_class
from balora.data.text_cleaning import clean_tweet
from balora.errors import UserError

SPLITS = ("train", "validation", "test")


@dataclass
class TaskData:
    spec: DatasetSpec
    splits: dict[str, pd.DataFrame]
    source: str  # where the rows came from, for the record
    split_origin: dict[str, str]
    notes: list[str] = field(default_factory=list)  # what the data line says besides the sizes (a default cap)

    def sizes(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.splits.items()}


def local_split_path(data_dir: str | Path, name: str, split: str) -> Path:
    return Path(data_dir) / f"{name}_dataset" / f"{name}_{split}.csv"


def resolve_data_dir(data_dir: str | None) -> str | None:
    return data_dir or os.environ.get("BALORA_DATA_DIR") or None


def read_csv(path: Path) -> pd.DataFrame:
    try:
        # keep_default_na=False: a review that reads "NA" is text, not a missing value.
        return pd.read_csv(path, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {path}: {str(err).splitlines()[0]}") from None


def read_local_splits(spec: DatasetSpec, data_dir: str) -> dict[str, pd.DataFrame | None]:
    train_path = local_split_path(data_dir, spec.name, "train")
    if not train_path.is_file():
        raise UserError(f"missing data file: expected {train_path} (layout <data_dir>/<name>_dataset/<name>_<split>.csv)")
    return {
        split: read_csv(path) if (path := local_split_path(data_dir, spec.name, split)).is_file() else None
        for split in SPLITS
    }


def read_csv_files(train_file: str | None, validation_file: str | None, test_file: str | None):
    if not train_file:
        raise UserError("--train_file is required with --dataset csv")
    files = dict(zip(SPLITS, (train_file, validation_file, test_file)))
    frames = {}
    for split, path in files.items():
        if path is None:
            frames[split] = None
        elif not Path(path).is_file():
            raise UserError(f"missing data file: --{split}_file {path} does not exist")
        else:
            frames[split] = read_csv(Path(path))
    return frames


def hub_splits(spec: DatasetSpec) -> dict[str, pd.DataFrame | None]:
    """The dataset's splits from the Hub; HubUnreachable (in seconds) when it cannot be read."""
    from balora.hub import load_hub_dataset

    loaded = load_hub_dataset(spec.hub_path, spec.hub_config)
    return {
        split: loaded[hub_split].to_pandas() if (hub_split := spec.hub_split_names.get(split, split)) in loaded else None
        for split in SPLITS
    }


def read_hub_splits(spec: DatasetSpec) -> dict[str, pd.DataFrame | None]:
    from balora.hub import HubUnreachable

    try:
        return hub_splits(spec)
    except HubUnreachable as err:
        raise UserError(
            f"could not load {spec.name} from the Hugging Face Hub: {err.reason}; pass --data_dir DIR "
            f"holding {spec.name}_dataset/{spec.name}_train.csv, or set BALORA_DATA_DIR "
            f"(`balora download --dataset {spec.name} --data_dir DIR` writes it when online)"
        ) from None


def renamed_columns(frame: pd.DataFrame, wanted: dict[str, str], where: str) -> pd.DataFrame:
    """The columns ``wanted`` maps to (pipeline name -> the file's name), renamed; a missing one is one line."""
    for column in wanted.values():
        if column not in frame.columns:
            raise UserError(
                f"missing column {column!r} in {where}; columns are {', '.join(map(str, frame.columns))}"
            )
    return pd.DataFrame({new: frame[old] for new, old in wanted.items()})


def normalise_columns(frame: pd.DataFrame, spec: DatasetSpec, where: str) -> pd.DataFrame:
    wanted = {"text": spec.text_column, "label": spec.label_column}
    if spec.text_pair_column:
        wanted["text_pair"] = spec.text_pair_column
    out = renamed_columns(frame, wanted, where)
    for column in ("text", "text_pair"):
        if column in out:
            out[column] = out[column].astype(str)
            if spec.clean_text:
                out[column] = out[column].map(clean_tweet)
    return out


def label_names_from_data(frames: dict[str, pd.DataFrame | None]) -> tuple[str, ...]:
    """For ``csv``: integer labels keep their values; string labels are numbered in sorted order.

    A split labelled -1 throughout is unlabelled (as GLUE's test sets) and names no class.
    """
    labels = pd.concat([f["label"] for f in frames.values()
                        if f is not None and not (pd.to_numeric(f["label"], errors="coerce") == -1).all()])
    numeric = pd.to_numeric(labels, errors="coerce")
    if numeric.notna().all():
        if len(numeric) and numeric.min() < 0:
            raise UserError(f"labels of a csv dataset are 0, 1, 2, ... or class names; found {numeric.min():g} "
                            f"({int((numeric < 0).sum())} rows)")
        return tuple(str(i) for i in range(int(numeric.max()) + 1)) if len(numeric) else ()
    return tuple(sorted(labels.astype(str).unique()))


def check_classes(train: pd.DataFrame, spec: DatasetSpec, allow_missing: bool) -> None:
    """A classifier needs examples of two classes at least, and of every class it is told exists:
    without them a run "succeeds" at 100% on a task it never saw."""
    present = set(train["label"].unique())
    if len(present) < 2:
        only = spec.label_names[int(next(iter(present)))] if present else "none"
        raise UserError(f"the train split of {spec.name} holds a single class ({only!r}); a classifier "
                        "needs examples of at least two")
    missing = [name for i, name in enumerate(spec.label_names) if i not in present]
    if missing and not allow_missing:
        raise UserError(f"the train split of {spec.name} has no example of class {missing[0]!r} "
                        f"({len(missing)} of {spec.num_labels} classes missing); pass --allow_missing_classes "
                        "to train anyway")


def encode_labels(frame: pd.DataFrame, spec: DatasetSpec, where: str) -> pd.DataFrame:
    names = {name: i for i, name in enumerate(spec.label_names)}
    raw = frame["label"]
    numeric = pd.to_numeric(raw, errors="coerce")
    if spec.name == CSV_DATASET and numeric.isna().any() and raw.astype(str).isin(names).all():
        numeric = raw.astype(str).map(names)
    if numeric.isna().any():
        bad = raw[numeric.isna()].iloc[0]
        raise UserError(f"non-numeric label {bad!r} in column {spec.label_column!r} of {where}")
    if (numeric != numeric.round()).any():
        raise UserError(f"non-integer label in column {spec.label_column!r} of {where}")
    labels = numeric.astype(int)
    unlabeled = (labels == -1).all()  # GLUE test sets: treated as missing, never as a class
    outside = labels[(labels < 0) | (labels >= spec.num_labels)]
    if len(outside) and not unlabeled:
        raise UserError(
            f"labels outside 0..{spec.num_labels - 1} in {where}: found {outside.iloc[0]} "
            f"({len(outside)} rows)"
        )
    return frame.assign(label=labels)


def load_task_data(
    spec: DatasetSpec,
    data_dir: str | None = None,
    train_files: tuple[str | None, str | None, str | None] = (None, None, None),
    train_samples: int | None = None,
    seed: int = 42,
    max_test_samples: int | None = None,
    allow_missing_classes: bool = False,
    max_validation_samples: int | None = None,
) -> TaskData:
    """Read, validate, split and (optionally) k-shot sample a dataset."""
    data_dir = resolve_data_dir(data_dir)
    if spec.name == CSV_DATASET:
        raw, source = read_csv_files(*train_files), f"csv:{train_files[0]}"
    elif data_dir:
        raw, source = read_local_splits(spec, data_dir), f"local:{Path(data_dir) / (spec.name + '_dataset')}"
    else:
        raw, source = read_hub_splits(spec), f"hub:{spec.hub_path}/{spec.hub_config or ''}".rstrip("/")
    if raw["train"] is None:
        raise UserError(f"{spec.name} has no train split in {source}")
    if len(raw["train"]) == 0:
        raise UserError(f"the train split of {spec.name} ({source}) is empty: no rows under its header")

    frames = {split: normalise_columns(f, spec, f"{spec.name} {split} ({source})") if f is not None else None
              for split, f in raw.items()}
    if spec.name == CSV_DATASET:
        spec = replace(spec, label_names=label_names_from_data(frames))
    frames = {split: encode_labels(f, spec, f"{spec.name} {split}") if f is not None else None
              for split, f in frames.items()}
    if not has_labels(frames["train"], "label"):
        raise UserError(f"the train split of {spec.name} is empty or has no labels")

    splits, origin = resolve_splits(frames["train"], frames["validation"], frames["test"], "label")
    for split, cap in (("test", max_test_samples), ("validation", max_validation_samples)):
        if cap is not None and cap < len(splits[split]):
            _, splits[split] = carve(splits[split], cap, "label")
            origin[split] += f"; {cap} drawn from it (stratified, seed {CARVE_SEED})"
    if train_samples is not None:
        splits["train"] = sample_per_class(splits["train"], train_samples, "label", seed)
        origin["train"] = f"{train_samples} per class from train (seed {seed})"
    check_classes(splits["train"], spec, allow_missing_classes)
    # --train_samples counts per class here and in all for prompt / response data: the line says which
    notes = [f"{train_samples} per class (--train_samples)"] if train_samples is not None else []
    return TaskData(spec=spec, splits=splits, source=source, split_origin=origin, notes=notes)
