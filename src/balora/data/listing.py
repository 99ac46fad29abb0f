"""`balora datasets`: the named datasets as one aligned table, then the two forms of your own data."""

from __future__ import annotations

from balora.data.registry import CSV_DATASET, DATASETS, JSONL_DATASET

HEADER = ("name", "task", "text", "metric")


def dataset_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for spec in DATASETS.values():
        if spec.is_text_to_text:
            text = f"{spec.prompt_column} -> {spec.response_column}"
            metric = spec.metric + (", ROUGE-1/2/L" if spec.task == "generation" else "")
            rows.append((spec.name, spec.task, text, metric))
        else:
            text = spec.text_column + (f" + {spec.text_pair_column}" if spec.text_pair_column else "")
            rows.append((spec.name, f"{spec.num_labels} classes", text, spec.metric))
    return rows


def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows as lines, every column as wide as its widest cell (the last one as it is)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[-1]]).rstrip() for row in rows]


def dataset_listing() -> list[str]:
    own = [(CSV_DATASET, "a CSV file: --train_file, --text_column [--text_pair_column] [--label_column]; "
                         "or --prompt_column --response_column (causal_lm)"),
           (JSONL_DATASET, "a JSON Lines file: --train_file, --prompt_column, --response_column (causal_lm)")]
    return [*aligned([HEADER, *dataset_rows()]), "", "Your own data:", *aligned([("  " + n, t) for n, t in own])]
