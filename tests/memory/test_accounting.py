"""Size accounting and the peak-memory measure on plain tensors and a tiny model."""

import pytest
import torch

from balora.memory.accounting import PeakMemory, memory_line, memory_summary, model_bytes, saved_weights

from conftest import tiny_bert


def test_model_bytes_counts_parameters_and_buffers_once():
    model = tiny_bert()
    expected = sum(p.numel() * p.element_size() for p in model.parameters())
    expected += sum(b.numel() * b.element_size() for b in model.buffers())
    assert model_bytes(model) == expected
    model.bert.embeddings.word_embeddings.weight.data = model.bert.embeddings.word_embeddings.weight.data.half()
    assert model_bytes(model) == expected - 30522 * 32 * 2


def test_saved_weights_prefers_the_adapter_file(tmp_path):
    assert saved_weights(tmp_path) is None
    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    assert saved_weights(tmp_path) == ("model.safetensors", 10)
    (tmp_path / "adapter_model.safetensors").write_bytes(b"x" * 3)
    assert saved_weights(tmp_path) == ("adapter_model.safetensors", 3)


def test_cpu_peak_sees_a_transient_allocation_above_the_start():
    peak = PeakMemory.start("cpu")
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
    del block
    report = peak.report()
    assert report["measure"] == "cpu_anonymous_resident_peak_above_start"
    assert report["peak_bytes"] == pytest.approx(64 * 2**20, rel=0.25)


def test_memory_summary_and_line():
    memory = memory_summary(50 * 2**20, ("adapter_model.safetensors", 2**20), 1234,
                            {"measure": "cpu_anonymous_resident_peak_above_start", "peak_bytes": 300 * 2**20,
                             "process_bytes_at_start": 0}, {"quantization": "nf4"})
    assert memory.adapter_bytes == 2**20 and memory.quantization == "nf4"
    assert memory_line(memory) == ("Memory: base 50.0 MB as loaded (nf4); adapter_model.safetensors 1.00 MB; "
                                   "training peak 300 MB (resident above the start)")


def test_an_unquantized_base_reads_full_precision_not_none():
    memory = memory_summary(50 * 2**20, ("adapter_model.safetensors", 2**20), 1234,
                            {"measure": "cpu_anonymous_resident_peak_above_start", "peak_bytes": 0,
                             "process_bytes_at_start": 0}, {"quantization": "none"})
    assert "base 50.0 MB as loaded (full precision);" in memory_line(memory)
