"""A resumed run's peak memory is the most any of its processes held, not the resumed one's alone."""

from __future__ import annotations

import json

import pytest

from helpers import interrupt_training_after, run_train


def test_a_resumed_run_reports_the_peak_of_all_its_processes(tmp_path, tiny_data_dir, tiny_model_dir, monkeypatch):
    restore = interrupt_training_after(monkeypatch, 1.2)
    with pytest.raises(KeyboardInterrupt):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=2)
    restore()
    saved = tmp_path / "tiny" / "checkpoints" / "checkpoint-9" / "balora_peak_memory.json"
    peaks = json.loads(saved.read_text())  # each checkpoint records the peaks so far
    assert peaks["training"]["peak_bytes"] >= 0 and peaks["process"]["cpu_max_rss_mb"] > 0
    # the first process held more than the resumed one will
    peaks["training"]["peak_bytes"] = 10**13
    peaks["process"]["cpu_max_rss_mb"] = 10.0**7
    saved.write_text(json.dumps(peaks))

    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=2, resume=True)
    assert results.memory.peak_training_bytes == 10**13
    assert results.peak_memory.cpu_max_rss_mb == 10.0**7
