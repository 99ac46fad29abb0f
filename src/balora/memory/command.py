"""`balora memory`: the largest batch that fits a memory limit, per method, measured."""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from pathlib import Path

from balora.errors import UserError
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
        if not memory_limit_gb > 0:
            raise UserError(f"--memory_limit_gb must be positive (got {memory_limit_gb})")
        return int(memory_limit_gb * GB)
    import torch

    if not torch.cuda.is_available():
        raise UserError("--memory_limit_gb is required on a machine without a GPU (the default is the GPU's memory)")
    return torch.cuda.get_device_properties(0).total_memory


def search_method(method: MethodUnderTest, model: str, num_labels: int | None, max_length: int, limit: int,
                  max_batch_size: int, say) -> BatchSearch:
    from balora.memory.step import StepSpec, measure_in_subprocess

    def measure(batch_size: int) -> int | None:
        peak = measure_in_subprocess(StepSpec(model, num_labels, method.peft_method, method.settings, batch_size,
                                              max_length))
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


def run_memory_command(methods: list[str], model_name_or_path: str, num_labels: int | None,
                       memory_limit_gb: float | None, max_length: int, max_batch_size: int, output_dir: str,
                       say=print) -> list[Path]:
    from balora.memory.plot import memory_plot
    from balora.modeling import training_device
    from balora.results import atomic_write_text

    if not methods:
        raise UserError("memory: give --methods, e.g. --methods full lora \"lora --quantization nf4\"")
    entries = [parse_method_item(item) for item in methods]  # every entry checked before any measuring
    limit = default_limit_bytes(memory_limit_gb)
    if max_batch_size < 1:
        raise UserError(f"--max_batch_size must be >= 1 (got {max_batch_size})")
    device = training_device()
    where = ("GPU allocator peak" if device.type == "cuda"
             else "CPU: the model's tensors + the anonymous resident memory the steps added")
    say(f"Peak memory of one AdamW training step (optimizer state already created; sequences of {max_length} "
        f"tokens) on {device.type}: {where}")
    results = [(entry, search_method(entry, model_name_or_path, num_labels, max_length, limit, max_batch_size, say))
               for entry in entries]
    lines = table_lines(results, limit)
    for line in lines:
        say(line)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    table_path = output / "memory_batch_sizes.md"
    atomic_write_text(table_path, "\n".join(lines) + f"\n\nModel {model_name_or_path}; {where}; sequences of "
                      f"{max_length} tokens.\n")
    title = f"Peak memory of a training step: {Path(model_name_or_path).name}, {max_length} tokens, {device.type}"
    plot_path = memory_plot([(m.label, s) for m, s in results], limit, title, where, output / "memory_batch_sizes.png")
    return [table_path, plot_path]
