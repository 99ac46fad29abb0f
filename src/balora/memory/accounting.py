"""Sizes in bytes: the base model as loaded, the adapter as saved, and the peak of training.

Peak training memory is the allocator's peak on a GPU (``torch.cuda.max_memory_allocated`` after a
reset). On a CPU it is the resident set's high-water mark above the resident size just before
training: Linux resets the mark when "5" is written to /proc/self/clear_refs, so model loading and
earlier phases do not count (freed heap memory is trimmed first, so it is not counted as held).
``ru_maxrss`` cannot be reset and would report the whole process's
peak; it is the fallback where /proc is not available, and the result says which was used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

MB = 2**20
SAVED_WEIGHT_FILES = ("adapter_model.safetensors", "model.safetensors")


def _quant_tensors(param) -> list[torch.Tensor]:
    """The tensors bitsandbytes keeps beside a packed weight: 4-bit block scales (nested ones under
    double quantisation) and the quantile code; LLM.int8's per-row scales."""
    state = getattr(param, "quant_state", None)
    tensors = []
    while state is not None:
        tensors += [t for t in (state.absmax, state.code, getattr(state, "offset", None)) if isinstance(t, torch.Tensor)]
        state = getattr(state, "state2", None)
    scales = getattr(param, "SCB", None)
    if isinstance(scales, torch.Tensor):
        tensors.append(scales)
    return tensors


def model_bytes(model: nn.Module) -> int:
    """Bytes of every parameter and buffer as held, quantized where quantized (with their quant state)."""
    seen, total = set(), 0
    tensors = []
    for param in model.parameters():
        tensors += [param.data, *_quant_tensors(param)]
    tensors += list(model.buffers())
    for tensor in tensors:
        key = (tensor.data_ptr(), tensor.numel(), tensor.dtype)
        if tensor.numel() and key not in seen:
            seen.add(key)
            total += tensor.numel() * tensor.element_size()
    return total


def saved_weights(checkpoint: Path) -> tuple[str, int] | None:
    """(file name, bytes) of the weights a saved checkpoint holds: the adapter, or a whole model."""
    for name in SAVED_WEIGHT_FILES:
        path = Path(checkpoint) / name
        if path.exists():
            return name, path.stat().st_size
    return None


def _proc_status_kb(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else None


def _return_freed_memory() -> None:
    """Hand memory freed earlier (model loading, a gradient pass) back to the OS, so the resident
    size at the start counts what the process holds, not what glibc's heap cached."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_resident_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class PeakMemory:
    """Started just before training, read just after: the most memory training added."""

    device: str
    baseline_bytes: int
    measure: str

    @classmethod
    def start(cls, device: torch.device | str) -> PeakMemory:
        device = torch.device(device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            return cls("cuda", torch.cuda.memory_allocated(device), "cuda_max_memory_allocated")
        _return_freed_memory()
        rss = _proc_status_kb("VmRSS")
        if rss is not None and _reset_resident_peak():
            return cls("cpu", rss * 1024, "cpu_resident_peak_above_start")
        return cls("cpu", 0, "cpu_ru_maxrss_whole_process")

    def peak_bytes(self) -> int:
        """Peak memory held during the measured span (on a GPU, the whole allocation, model included)."""
        if self.device == "cuda":
            return torch.cuda.max_memory_allocated()
        if self.measure == "cpu_resident_peak_above_start":
            return (_proc_status_kb("VmHWM") or 0) * 1024
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def report(self) -> dict:
        """``peak_bytes``: the GPU allocator's peak, or on a CPU the resident peak above the size at the start."""
        peak = self.peak_bytes()
        added = peak - self.baseline_bytes if self.device == "cpu" else peak
        return {"measure": self.measure, "peak_bytes": max(0, added), "process_bytes_at_start": self.baseline_bytes}


def memory_summary(base_bytes: int, saved: tuple[str, int] | None, trainable: int, peak: dict, quantization: dict) -> dict:
    """The memory block of results_final.json."""
    return {**quantization, "base_model_bytes": base_bytes, "adapter_file": saved[0] if saved else None,
            "adapter_bytes": saved[1] if saved else None, "trainable_parameters": trainable,
            "peak_training_bytes": peak["peak_bytes"], "peak_measure": peak["measure"],
            "process_bytes_at_training_start": peak["process_bytes_at_start"]}


def memory_line(memory: dict) -> str:
    """Console line: base as loaded, adapter as saved, peak of training."""
    base = f"base {memory['base_model_bytes'] / MB:.1f} MB as loaded ({memory['quantization']})"
    adapter = f"{memory['adapter_file']} {memory['adapter_bytes'] / MB:.2f} MB" if memory["adapter_bytes"] else "nothing saved"
    where = "GPU allocated" if memory["peak_measure"].startswith("cuda") else "resident above the start"
    return f"Memory: {base}; {adapter}; training peak {memory['peak_training_bytes'] / MB:.0f} MB ({where})"
