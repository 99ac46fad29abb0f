"""Write a Hub dataset to the local layout `<data_dir>/<name>_dataset/<name>_<split>.csv`."""

from __future__ import annotations

from pathlib import Path

from balora.data.loading import SPLITS, local_split_path, read_hub_splits
from balora.data.registry import get_dataset_spec
from balora.errors import UserError
from balora.results import atomic_write_text


def download_dataset(name: str, data_dir: str | Path) -> list[Path]:
    spec = get_dataset_spec(name)
    if spec.hub_path is None:
        raise UserError(f"{name} has no Hub source to download")
    frames = read_hub_splits(spec)  # one clear line if the Hub is out of reach
    written = []
    for split in SPLITS:
        frame = frames[split]
        if frame is None:
            continue
        path = local_split_path(data_dir, name, split)
        atomic_write_text(path, frame.to_csv(index=False))
        written.append(path)
    return written
