"""`balora memory`: the largest batch that fits a memory limit, per method, measured."""

from __future__ import annotations

import dataclasses
import math
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from balora.errors import ConfigError, TrainingFailure, UserError
from balora.memory.finder import BatchSearch, largest_fitting_batch

GB = 10**9


@dataclass(frozen=True)
class MethodUnderTest:
    label: str  # as the user wrote it, e.g. "lora --quantization nf4"
    peft_method: str
    settings: dict  # method flags that differ from their defaults


def parse_method_item(item: str) -> MethodUnderTest:
    """``"lora --quantization nf4 --lora_r 16"`` -> the method and its changed flags (checked as `balora train` does)."""
    from balora.flags import OneLineParser, add_dataclass_flags
    from balora.methods import get_method, refuse_flags_of_other_methods

    words = shlex.split(item)
    if not words:
        raise UserError("--methods: an empty method entry")
    method = get_method(words[0])
    parser = OneLineParser(prog=f"--methods {words[0]!r}", add_help=False)
    classes = method.option_classes
    for cls in classes:
        add_dataclass_flags(parser, cls)
    namespace, unknown = parser.parse_known_args(words[1:])
    if unknown:
        refuse_flags_of_other_methods(method, unknown)
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    options = {cls: cls(**{f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls)}) for cls in classes}
    changed = {f.name: getattr(options[cls], f.name) for cls in classes for f in dataclasses.fields(cls)
               if getattr(options[cls], f.name) != f.default}
    return MethodUnderTest(" ".join(words), method.name, changed)


def default_limit_bytes(memory_limit_gb: float | None) -> int:
    if memory_limit_gb is not None:
        if not (math.isfinite(memory_limit_gb) and memory_limit_gb > 0):
            raise ConfigError("memory_limit_gb", f"must be a finite positive number of GB (got {memory_limit_gb})")
        return int(memory_limit_gb * GB)
    if not gpu_available():
        raise UserError("--memory_limit_gb is required on a machine without a GPU (the default is the GPU's memory)")
    import torch

    return torch.cuda.get_device_properties(0).total_memory


def gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def missing_without_a_gpu(given: set[str]) -> list[str]:
    """What `balora memory` needs on this machine beyond its required flags, named with the missing
    ones in one message: the limit, where no GPU's memory can be its default."""
    if "memory_limit_gb" in given or gpu_available():
        return []
    return ["--memory_limit_gb (no GPU here whose memory would be the default)"]


def check_output_dir(output_dir: str) -> None:
    """Refuse, before anything is measured, a folder that cannot be created or written."""
    path = Path(output_dir)
    for ancestor in (path, *path.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ConfigError("output_dir", f"cannot write {output_dir}: {ancestor} is a file, not a folder")
            if not os.access(ancestor, os.W_OK | os.X_OK):
                raise ConfigError("output_dir", f"cannot write {output_dir}: {ancestor} is not writable")
            return


def search_method(method: MethodUnderTest, model: str, num_labels: int | None, max_length: int, limit: int,
                  max_batch_size: int, say) -> BatchSearch:
    from balora.memory.step import MeasurementFailed, StepSpec, measure_in_subprocess

    def measure(batch_size: int) -> int | None:
        try:
            peak = measure_in_subprocess(StepSpec(model, num_labels, method.peft_method, method.settings, batch_size,
                                                  max_length))
        except MeasurementFailed as err:
            raise MeasurementFailed(f"measuring {method.label!r} at batch size {batch_size} failed: {err}") from None
        say(f"  {method.label}: batch {batch_size:>5}: " + ("out of memory" if peak is None else f"{peak / GB:.3f} GB"))
        return peak

    return largest_fitting_batch(measure, limit, max_batch_size)


def table_lines(results: list[tuple[MethodUnderTest, BatchSearch]], limit: int) -> list[str]:
    lines = [f"| method | largest batch within {limit / GB:g} GB | peak at it (GB) | first batch over | measured |",
             "|---|---|---|---|---|"]
    for method, search in results:
        best = search.largest_fitting
        largest = "none" if best is None else f"{best}" + (" (cap)" if search.reached_cap else "")
        peak = "—" if best is None else f"{search.measured[best] / GB:.3f}"
        over = "—" if search.first_over is None else str(search.first_over)
        lines.append(f"| {method.label} | {largest} | {peak} | {over} | {', '.join(map(str, search.measured))} |")
    return lines


def check_inputs(methods: list[str], memory_limit_gb: float | None, max_length: int, max_batch_size: int,
                 output_dir: str) -> tuple[list[MethodUnderTest], int]:
    """Every input checked before anything is measured: numbers, method entries, the output folder,
    the plot libraries. Returns the entries and the limit in bytes."""
    from balora.memory.plot import require_plot_libraries

    if not methods:
        raise UserError("memory: give --methods, e.g. --methods full lora \"lora --quantization nf4\"")
    for name, value in (("max_length", max_length), ("max_batch_size", max_batch_size)):
        if value < 1:
            raise ConfigError(name, f"must be a whole number >= 1 (got {value})")
    limit = default_limit_bytes(memory_limit_gb)
    entries = [parse_method_item(item) for item in methods]
    check_output_dir(output_dir)
    require_plot_libraries()
    return entries, limit


def run_memory_command(methods: list[str], model_name_or_path: str, num_labels: int | None,
                       memory_limit_gb: float | None, max_length: int, max_batch_size: int, output_dir: str,
                       say=print) -> list[Path]:
    """Measures every entry, writes what was measured; an entry that fails to measure is named in
    the error (exit 1) after the others are written."""
    from balora.memory.plot import memory_plot
    from balora.memory.step import MeasurementFailed
    from balora.modeling import training_device
    from balora.results import atomic_write_text

    entries, limit = check_inputs(methods, memory_limit_gb, max_length, max_batch_size, output_dir)
    device = training_device()
    where = ("GPU allocator peak" if device.type == "cuda"
             else "CPU: the model's tensors + the anonymous resident memory the steps added")
    say(f"Peak memory of one AdamW training step (optimizer state already created; sequences of {max_length} "
        f"tokens) on {device.type}: {where}")
    results, failures = [], []
    for entry in entries:
        try:
            results.append((entry, search_method(entry, model_name_or_path, num_labels, max_length, limit,
                                                 max_batch_size, say)))
        except MeasurementFailed as err:
            say(f"  {err}")
            failures.append((entry, str(err)))
    written = []
    if results:
        lines = table_lines(results, limit) + [f"| {entry.label} | failed | — | — | — |" for entry, _ in failures]
        for line in lines:
            say(line)
        output = Path(output_dir)
        output.mkdir(parents=True, exist_ok=True)
        table_path = output / "memory_batch_sizes.md"
        notes = "".join(f"\n{cause}\n" for _, cause in failures)
        atomic_write_text(table_path, "\n".join(lines) + f"\n\nModel {model_name_or_path}; {where}; sequences of "
                          f"{max_length} tokens.\n" + notes)
        title = f"Peak memory of a training step: {Path(model_name_or_path).name}, {max_length} tokens, {device.type}"
        written = [table_path, memory_plot([(m.label, s) for m, s in results], limit, title, where,
                                           output / "memory_batch_sizes.png")]
    if failures:
        for path in written:
            say(f"wrote {path}")
        kept = f"; the others' measurements are written ({', '.join(map(str, written))})" if written else ""
        raise TrainingFailure("; ".join(cause for _, cause in failures) + kept)
    return written
