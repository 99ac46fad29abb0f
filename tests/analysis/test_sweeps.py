"""`balora compare` on a study's sweeps: curves by swept value, peak bars for categorical settings,
and the swept values as table columns."""

from __future__ import annotations

import json

import pandas as pd

from analysis.fake_runs import fake_run
from balora.analysis.collect import RunGroup, load_run
from balora.analysis.compare import compare
from balora.analysis.sweeps import peak_values, seed_curves, sweep_families
from balora.analysis.table import comparison_table, markdown_table

PNG = b"\x89PNG\r\n\x1a\n"


def stepwise_run(results_dir, name, seed, accuracies):
    """A finished run evaluated every 10 steps with the given validation accuracies."""
    path = fake_run(results_dir, name, seed=seed, accuracy=max(accuracies))
    records = [{"type": "eval", "split": "validation", "step": 10 * (i + 1), "epoch": (i + 1) / len(accuracies),
                "loss": 1.0 - a, "accuracy": a} for i, a in enumerate(accuracies)]
    (path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return load_run(results_dir, name)


def swept_group(tmp_path, phase, setting, value, text, curves):
    label = f"lora-{setting}={text}"
    runs = [stepwise_run(tmp_path, f"ag-{phase}-{label}-s{seed}", seed, accuracies)
            for seed, accuracies in zip((42, 43), curves)]
    return RunGroup(label=label, dataset="sst2", method="lora", train_samples=None, budget=None, runs=runs,
                    phase=phase, entry_label="lora", swept={setting: value}, swept_text={setting: text})


def sweep_groups(tmp_path):
    return [
        swept_group(tmp_path, "dropout", "lora_dropout", 0.0, "0", [[0.5, 0.7, 0.8], [0.6, 0.7, 0.9]]),
        swept_group(tmp_path, "dropout", "lora_dropout", 0.1, "0.1", [[0.4, 0.6, 0.7], [0.4, 0.8, 0.7]]),
        swept_group(tmp_path, "scope", "lora_target_modules", ["value"], "value", [[0.5, 0.6, 0.6], [0.5, 0.6, 0.7]]),
        swept_group(tmp_path, "scope", "lora_target_modules", ["query", "value"], "query+value",
                    [[0.6, 0.7, 0.8], [0.6, 0.8, 0.8]]),
    ]


def test_curves_are_the_mean_over_seeds_with_the_spread(tmp_path):
    group = sweep_groups(tmp_path)[0]
    curve = seed_curves(group, "accuracy")
    assert curve["step"].tolist() == [10, 20, 30]
    assert curve["mean"].round(6).tolist() == [0.55, 0.7, 0.85]
    assert curve["low"].tolist() == [0.5, 0.7, 0.8] and curve["high"].tolist() == [0.6, 0.7, 0.9]
    assert peak_values(group, "accuracy") == [0.8, 0.9]


def test_one_family_per_swept_entry_and_categorical_settings(tmp_path):
    families = sweep_families(sweep_groups(tmp_path))
    assert [(f.phase, f.settings, len(f.groups), f.categorical) for f in families] == [
        ("dropout", ["lora_dropout"], 2, False), ("scope", ["lora_target_modules"], 2, True)]
    assert [families[1].value_label(g) for g in families[1].groups] == ["value", "query+value"]


def test_compare_writes_a_figure_per_sweep_and_the_swept_values_as_columns(tmp_path):
    groups = sweep_groups(tmp_path / "runs")
    written = compare(groups, tmp_path / "out", say=lambda line: None)
    figures = {p.name for p in written if p.name.startswith("sweep_")}
    assert figures == {"sweep_sst2_dropout_lora.png", "sweep_sst2_scope_lora.png"}
    assert all((tmp_path / "out" / name).read_bytes().startswith(PNG) for name in figures)
    table = pd.read_csv(tmp_path / "out" / "comparison_table.csv")
    assert table["swept_lora_dropout"].tolist()[:2] == [0, 0.1]
    assert table["swept_lora_target_modules"].tolist()[2:] == ["value", "query+value"]
    assert table["validation_peak_mean"].round(6).tolist() == [0.85, 0.75, 0.65, 0.8]
    markdown = markdown_table(comparison_table(groups))
    assert "| lora_dropout | lora_target_modules |" in markdown and "peak validation" in markdown
