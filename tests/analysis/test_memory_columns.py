"""The comparison table's memory columns: base as loaded, adapter as saved, training peak."""

from __future__ import annotations

import json

from balora.analysis.collect import groups_from_names
from balora.analysis.table import comparison_table, markdown_table
from analysis.fake_runs import fake_run

MB = 2**20


def with_memory(path, base_mb: float, adapter_mb: float, peak_mb: float, quantization: str):
    results = json.loads((path / "results_final.json").read_text())
    results["memory"] = {"quantization": quantization, "base_model_bytes": base_mb * MB,
                         "adapter_file": "adapter_model.safetensors", "adapter_bytes": adapter_mb * MB,
                         "trainable_parameters": 1000, "peak_training_bytes": peak_mb * MB,
                         "peak_measure": "cpu_anonymous_resident_peak_above_start",
                         "process_bytes_at_training_start": 0}
    results["peak_memory"] = {"cpu_max_rss_mb": peak_mb + 100}
    (path / "results_final.json").write_text(json.dumps(results))
    return path.name


def test_memory_columns_come_from_results_and_older_runs_show_a_dash(tmp_path):
    names = [with_memory(fake_run(tmp_path, "lora_nf4_s42", "lora", 42, quantization="nf4"), 51.4, 0.29, 300, "nf4"),
             with_memory(fake_run(tmp_path, "lora_nf4_s43", "lora", 43, quantization="nf4"), 51.4, 0.29, 500, "nf4"),
             fake_run(tmp_path, "old_s42", "adalora", 42).name]
    table = comparison_table(groups_from_names(tmp_path, names))
    quantized = table[table["quantization"] == "nf4"].iloc[0]
    assert quantized["base_model_mb"] == 51.4 and quantized["peak_training_mb"] == 400
    assert quantized["process_peak_mb"] == 500  # the whole process's peak, mean over seeds
    text = markdown_table(table)
    assert "| 51.4 / 0.29 | 400 |" in text
    assert "| — / — | — |" in text
