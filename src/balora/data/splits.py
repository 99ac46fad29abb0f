"""Split rules, as pure functions on DataFrames.

Carving uses a fixed seed (42), independent of the experiment's seed, so every experiment on
a dataset is evaluated on the same validation and test examples.
"""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

from balora.errors import UserError

CARVE_FRACTION = 0.1
CARVE_SEED = 42


def has_labels(frame: pd.DataFrame | None, label_column: str) -> bool:
    """False for a missing split and for GLUE-style test sets whose labels are all -1."""
    return frame is not None and len(frame) > 0 and bool((frame[label_column] >= 0).any())


def carve(frame: pd.DataFrame, size: int, label_column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``size`` rows off ``frame``, stratified by label; returns (rest, carved)."""
    labels = frame[label_column]
    # Stratification needs two examples of every class; tiny CSVs fall back to a plain split.
    stratify = labels if labels.value_counts().min() >= 2 and size >= labels.nunique() else None
    rest, carved = train_test_split(frame, test_size=size, stratify=stratify, random_state=CARVE_SEED)
    return rest.reset_index(drop=True), carved.reset_index(drop=True)


def resolve_splits(
    train: pd.DataFrame,
    validation: pd.DataFrame | None,
    test: pd.DataFrame | None,
    label_column: str,
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Fill in missing or unlabeled validation/test splits with 10% of train each.

    Returns the three splits and, per split, where it came from.
    """
    carve_size = max(1, round(CARVE_FRACTION * len(train)))
    origin = {"train": "train", "validation": "validation", "test": "test"}
    if not has_labels(test, label_column):
        train, test = carve(train, carve_size, label_column)
        origin["test"] = f"carved from train ({carve_size} rows, stratified, seed {CARVE_SEED})"
    if not has_labels(validation, label_column):
        train, validation = carve(train, carve_size, label_column)
        origin["validation"] = f"carved from train ({carve_size} rows, stratified, seed {CARVE_SEED})"
    splits = {"train": train, "validation": validation, "test": test}
    for name, frame in splits.items():
        if len(frame) == 0:
            raise UserError(f"the {name} split is empty")
    return splits, origin


def sample_per_class(frame: pd.DataFrame, per_class: int, label_column: str, seed: int) -> pd.DataFrame:
    """k-shot: ``per_class`` examples of every class present, drawn with ``seed``, shuffled."""
    counts = frame[label_column].value_counts().sort_index()
    short = counts[counts < per_class]
    if len(short):
        label, have = short.index[0], short.iloc[0]
        raise UserError(
            f"--train_samples {per_class} is more than class {label} has in the training split ({have}); "
            f"the smallest class has {counts.min()}"
        )
    sampled = frame.groupby(label_column, group_keys=False).sample(n=per_class, random_state=seed)
    return sampled.sample(frac=1.0, random_state=seed).reset_index(drop=True)
