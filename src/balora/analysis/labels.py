"""Labels of groups compared by experiment name: the method, plus only the settings that tell a
group apart from another group of the same method on the same data.

A setting that differs only between datasets (each dataset's own --max_length, its classes) tells
nothing: the table and the figures already show the dataset and the training-set size. Values are
shortened (a model path to its last part, a list joined by "+") so a label fits a legend.
"""

from __future__ import annotations

from pathlib import PurePosixPath

IMPLIED_BY_THE_CELL = {"dataset", "train_samples"}  # shown beside the label already


def short_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return "+".join(short_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    if "/" in text and len(text) > 24:  # a model or file path: its last part names it
        return PurePosixPath(text.rstrip("/")).name or text
    return text


def distinguishing_settings(configs: list[dict], ignored: set[str]) -> list[str]:
    """The settings that differ between configurations on the same data (same dataset and size)."""
    cells: dict[tuple, list[dict]] = {}
    for config in configs:
        cells.setdefault((config.get("dataset"), config.get("train_samples")), []).append(config)
    names = sorted({k for config in configs for k in config} - ignored - IMPLIED_BY_THE_CELL)
    return [name for name in names
            if any(len({repr(c.get(name)) for c in cell}) > 1 for cell in cells.values())]


def group_label(method: str, config: dict, settings: list[str]) -> str:
    """``lora (lora_r=16, lora_alpha=32)``, settings by their flag names; the method alone when
    nothing tells its groups apart."""
    if not settings:
        return method
    return f"{method} (" + ", ".join(f"{k}={short_value(config.get(k))}" for k in settings) + ")"
