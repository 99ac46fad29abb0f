"""Prompt / response data (instruction tuning, summarisation): read, validated, split, sampled.

Every split comes out with three text columns: ``prompt`` (the user's request, or the text a fixed
instruction is about), ``context`` (Alpaca's optional input; "" when absent) and ``response``.
How they become one token sequence is the task's business (balora.tasks.prompts), since it
depends on the tokenizer's chat template.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from balora.data.loading import (SPLITS, TaskData, read_csv_files, read_hub_splits, read_local_splits,
                                 renamed_columns)
from balora.data.registry import CSV_DATASET, JSONL_DATASET, DatasetSpec
from balora.data.splits import CARVE_FRACTION, CARVE_SEED
from balora.errors import UserError
from balora.jsonl import parse_records, type_name

# A validation split carved from train is scored every epoch (every --eval_steps); 10% of Alpaca is
# 5,092 examples, hours a epoch on a CPU for a 100-example run. Without --max_validation_samples it is
# capped at this many (a seeded draw), which is plenty to pick an epoch by perplexity.
CARVED_VALIDATION_CAP = 500


def read_json_records(path: Path) -> pd.DataFrame:
    """A JSON list of records (Alpaca) or JSON Lines (one record a line)."""
    try:
        text = path.read_text()
        if not text.lstrip().startswith("["):
            return pd.DataFrame(parse_records(text, str(path)))
        records = json.loads(text)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {path}: {str(err).splitlines()[0]}") from None
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise UserError(f"{path}, record {number}: expected a JSON object {{...}}, got {type_name(record)}")
    return pd.DataFrame(records)


def read_files(spec: DatasetSpec, files: tuple[str | None, str | None, str | None]) -> dict:
    if spec.name == CSV_DATASET:
        return read_csv_files(*files)
    if not files[0]:
        raise UserError(f"--train_file is required with --dataset {spec.name}")
    frames = {}
    for split, path in zip(SPLITS, files):
        if path is not None and not Path(path).is_file():
            raise UserError(f"missing data file: --{split}_file {path} does not exist")
        frames[split] = read_json_records(Path(path)) if path else None
    return frames


def read_raw(spec: DatasetSpec, data_dir: str | None, files) -> tuple[dict, str]:
    if spec.name in (CSV_DATASET, JSONL_DATASET):
        return read_files(spec, files), f"{spec.name}:{files[0]}"
    if not data_dir:
        return read_hub_splits(spec), f"hub:{spec.hub_path}"
    folder = Path(data_dir) / f"{spec.name}_dataset"
    if spec.data_file:
        path = folder / spec.data_file
        if not path.is_file():
            raise UserError(f"missing data file: expected {path}")
        return {"train": read_json_records(path), "validation": None, "test": None}, f"local:{path}"
    return read_local_splits(spec, data_dir), f"local:{folder}"


def normalise(frame: pd.DataFrame, spec: DatasetSpec, where: str) -> pd.DataFrame:
    wanted = {"prompt": spec.prompt_column, "response": spec.response_column}
    if spec.context_column:
        wanted["context"] = spec.context_column
    out = renamed_columns(frame, wanted, where).fillna("").astype(str)
    if "context" not in out:
        out["context"] = ""
    for new in ("prompt", "response"):
        empty = int((out[new].str.strip() == "").sum())
        if empty:
            raise UserError(f"{empty} rows of {where} have an empty {wanted[new]!r}; remove them or fill them in")
    return out.reset_index(drop=True)


def draw(frame: pd.DataFrame, size: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rest, ``size`` rows drawn at random with ``seed``)."""
    drawn = frame.sample(n=size, random_state=seed)
    return frame.drop(drawn.index).reset_index(drop=True), drawn.reset_index(drop=True)


def load_text_pairs(spec: DatasetSpec, data_dir: str | None = None,
                    files: tuple[str | None, str | None, str | None] = (None, None, None),
                    train_samples: int | None = None, seed: int = 42, max_test_samples: int | None = None,
                    max_validation_samples: int | None = None) -> TaskData:
    """Read and validate; a missing validation or test split is 10% of train (seed 42);
    ``train_samples`` draws that many training examples (seeded by ``seed``)."""
    raw, source = read_raw(spec, data_dir, files)
    if raw["train"] is None or len(raw["train"]) == 0:
        raise UserError(f"the train split of {spec.name} ({source}) is missing or empty")
    frames = {split: normalise(f, spec, f"{spec.name} {split} ({source})") if f is not None and len(f) else None
              for split, f in raw.items()}
    train, origin = frames["train"], {split: split for split in SPLITS}
    carve_size = max(1, round(CARVE_FRACTION * len(train)))
    for split in ("test", "validation"):
        if frames[split] is None:
            if len(train) <= carve_size:
                raise UserError(f"{spec.name}: {len(train)} training rows are too few to carve a {split} split from")
            train, frames[split] = draw(train, carve_size, CARVE_SEED)
            origin[split] = f"carved from train ({carve_size} rows, seed {CARVE_SEED})"
    frames["train"] = train
    notes = []
    if max_validation_samples is None and origin["validation"] != "validation" and (
            len(frames["validation"]) > CARVED_VALIDATION_CAP):
        max_validation_samples = CARVED_VALIDATION_CAP
        notes.append(f"validation capped at {CARVED_VALIDATION_CAP} of the {len(frames['validation']):,} carved "
                     "(--max_validation_samples changes it)")
    for split, cap in (("test", max_test_samples), ("validation", max_validation_samples)):
        if cap is not None and cap < len(frames[split]):
            _, frames[split] = draw(frames[split], cap, CARVE_SEED)
            origin[split] += f"; {cap} drawn from it (seed {CARVE_SEED})"
    if train_samples is not None:
        if train_samples > len(train):
            raise UserError(f"--train_samples {train_samples} is more than the {len(train):,} training rows of {spec.name}")
        _, frames["train"] = draw(train, train_samples, seed)
        origin["train"] = f"{train_samples} drawn from train (seed {seed})"
        notes.append(f"{train_samples} in all (--train_samples)")
    return TaskData(spec=spec, splits=frames, source=source, split_origin=origin, notes=notes)


__all__ = ["load_text_pairs"]
