"""Write a Hub dataset to the local layout `<data_dir>/<name>_dataset/<name>_<split>.csv`."""

from __future__ import annotations

from pathlib import Path

from balora.hub import HubUnreachable
from balora.data.loading import SPLITS, hub_splits, local_split_path
from balora.data.registry import get_dataset_spec
from balora.errors import UserError
from balora.results import atomic_write_text


def download_dataset(name: str, data_dir: str | Path) -> list[Path]:
    spec = get_dataset_spec(name)
    if spec.hub_path is None:
        raise UserError(f"{name} has no Hub source to download")
    try:
        frames = hub_splits(spec)
    except HubUnreachable as err:  # the advice to run `balora download` would send the user in a circle
        raise UserError(f"could not download {name}: {err.reason}. `balora download` needs the Hub: run it on "
                        f"a machine that reaches it and copy {Path(data_dir) / (name + '_dataset')} here, "
                        "or train on your own files with --dataset csv / jsonl") from None
    written = []
    for split in SPLITS:
        frame = frames[split]
        if frame is None:
            continue
        path = local_split_path(data_dir, name, split)
        atomic_write_text(path, frame.to_csv(index=False))
        written.append(path)
    return written
