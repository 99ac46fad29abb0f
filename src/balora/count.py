"""`balora count`: what a configuration would train, without data or training.

The model is built by the method's own ``prepare`` (in dry-run mode, through
``balora.preparation``), so the counts are those of the model training would start from, by
construction.
"""

from __future__ import annotations

import dataclasses

from balora.config import TrainConfig
from balora.counting import cap_line, check_trainable_cap
from balora.memory.accounting import MB
from balora.methods.lora.model import ranks_by_layer
from balora.preparation import CountReport, count_configuration

# Train flags that change what is counted: prompt / response columns make a CSV a causal language model.
COUNTED_DATA_FLAGS = ("prompt_column", "response_column")


def ignored_train_flags(train_flags) -> list[str]:
    """The train flags given (changed from their defaults) that do not change the counts."""
    return [f"--{f.name}" for f in dataclasses.fields(train_flags)
            if f.name not in COUNTED_DATA_FLAGS and getattr(train_flags, f.name) != f.default]


def count_train_command(config: TrainConfig, options: dict[type, object], num_labels: int | None, ignored: list[str],
                        say=print) -> CountReport:
    """Count, print and check the cap of a configuration given as `balora train` would take it."""
    if ignored:
        say(f"note: {', '.join(ignored)}: training and data flags, accepted and ignored (they do not change the counts)")
    report = count_configuration(config, options, num_labels)
    for line in count_lines(report, config.max_trainable_parameters):
        say(line)
    check_trainable_cap(f"{config.peft_method} on {config.model_name_or_path}", report.parameters,
                        config.max_trainable_parameters)
    return report


def count_lines(report: CountReport, cap: int | None = None) -> list[str]:
    counts = report.parameters
    head = f"{report.num_labels} classes" if report.num_labels is not None else "causal language model"
    lines = [f"Method {report.method} on {report.model_name_or_path} ({head})"]
    if report.rank_pattern:
        lines += [f"  {line}" for line in ranks_by_layer(report.rank_pattern)]
    lines += [f"  {note}" for note in report.notes]
    lines.append(f"Adapter parameters:   {counts.adapter:>12,}")
    if counts.peak_adapter != counts.adapter:
        lines.append(f"Peak during training: {counts.peak_adapter:>12,}")
    lines += [f"Head parameters:      {counts.head:>12,}", f"Trainable parameters: {counts.trainable:>12,}",
              f"Total parameters:     {counts.total:>12,}"]
    if report.base_model_bytes is not None:
        lines += [f"Base model as loaded: {report.base_model_bytes / MB:>12,.2f} MB ({report.quantization['quantization']})",
                  f"Adapter as saved:     {report.adapter_bytes_estimate / MB:>12,.2f} MB (trainable weights; "
                  "the file adds a small header)"]
    if cap is not None:
        lines.append(f"Cap:                  {cap:>12,}  ({cap_line(counts, cap)})")
    return lines


def print_counts(report: CountReport, cap: int | None = None) -> None:
    for line in count_lines(report, cap):
        print(line)


__all__ = ["CountReport", "count_configuration", "count_lines", "count_train_command", "print_counts"]
