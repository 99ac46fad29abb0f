"""`balora datasets` prints one aligned table: every column starts at the same place on every line."""

from __future__ import annotations

from balora.cli import main
from balora.data.registry import DATASETS


def test_balora_datasets_is_aligned(capsys):
    assert main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[:lines.index("")]
    assert table[0].split() == ["name", "task", "text", "metric"] and len(table) == len(DATASETS) + 1
    starts = {(line.index("text") if i == 0 else None) for i, line in enumerate(table[:1])}
    for spec in DATASETS.values():
        line = next(row for row in table if row.split()[0] == spec.name)
        cells = [c for c in line.split("  ") if c.strip()]
        columns = tuple(line.index(cell.strip()) for cell in cells)
        starts.add(columns[2])
        assert columns[1] == table[0].index("task") and columns[3] == table[0].index("metric"), line
    assert len(starts) == 1
    assert any(line.strip().startswith("csv ") for line in lines) and any("jsonl" in line for line in lines)
