"""Sizes in bytes: the base model as loaded, the adapter as saved, and the peak of training.

Peak training memory is the allocator's peak on a GPU (``torch.cuda.max_memory_allocated`` after a
reset). On a CPU it is the peak of the process's anonymous resident memory (heap and mmapped
tensors; not the library code that the first step pages in) above its size just before training,
sampled by a thread about every millisecond; memory freed before the start is handed back to the
OS first, so it is not counted as held. The kernel's VmHWM could be reset through
/proc/self/clear_refs but counts file-backed pages too, and ``ru_maxrss`` cannot be reset at all:
it is only the fallback off Linux, and the results say which measure was used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from balora.record_sections import MemorySummary

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


def _return_freed_memory() -> None:
    """Hand memory freed earlier (model loading, a gradient pass) back to the OS, so the resident
    size at the start counts what the process holds, not what glibc's heap cached."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


_PAGE = None


def anonymous_resident_bytes() -> int | None:
    """Resident memory not backed by files (/proc/self/statm: resident - shared), or None off Linux."""
    global _PAGE
    try:
        fields = Path("/proc/self/statm").read_text().split()
    except OSError:
        return None
    if _PAGE is None:
        import os

        _PAGE = os.sysconf("SC_PAGE_SIZE")
    return (int(fields[1]) - int(fields[2])) * _PAGE


class _Sampler:
    """The largest anonymous resident size seen, sampled every millisecond or so by a thread (the
    kernel's own high-water mark also counts the library code the first training step pages in)."""

    def __init__(self, interval: float = 0.001):
        import threading

        self.interval, self.peak = interval, anonymous_resident_bytes() or 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, anonymous_resident_bytes() or 0)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, anonymous_resident_bytes() or 0)


@dataclass
class PeakMemory:
    """Started just before training (or the measured span), stopped after: the most memory it added."""

    device: str
    baseline_bytes: int
    measure: str
    sampler: _Sampler | None = None

    @classmethod
    def start(cls, device: torch.device | str, baseline_bytes: int | None = None) -> PeakMemory:
        """``baseline_bytes``: count from this size (e.g. the process before the model was loaded)."""
        device = torch.device(device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            return cls("cuda", 0, "cuda_max_memory_allocated")
        _return_freed_memory()
        now = anonymous_resident_bytes()
        if now is None:
            return cls("cpu", 0, "cpu_ru_maxrss_whole_process")
        return cls("cpu", now if baseline_bytes is None else baseline_bytes, "cpu_anonymous_resident_peak_above_start",
                   _Sampler())

    def report(self) -> dict:
        """``peak_bytes``: the GPU allocator's peak (model included), or on a CPU the peak above the baseline."""
        if self.sampler is not None:
            self.sampler.stop()
        return self.so_far()

    def so_far(self) -> dict:
        """As report(), without stopping: the peak up to now (recorded with each checkpoint)."""
        if self.device == "cuda":
            peak = torch.cuda.max_memory_allocated()
        elif self.sampler is not None:
            peak = max(self.sampler.peak, anonymous_resident_bytes() or 0) - self.baseline_bytes
        else:
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return {"measure": self.measure, "peak_bytes": max(0, peak), "process_bytes_at_start": self.baseline_bytes}


def memory_summary(base_bytes: int, saved: tuple[str, int] | None, trainable: int, peak: dict,
                   quantization: dict) -> MemorySummary:
    """The memory block of results_final.json."""
    return MemorySummary(**quantization, base_model_bytes=base_bytes, adapter_file=saved[0] if saved else None,
                         adapter_bytes=saved[1] if saved else None, trainable_parameters=trainable,
                         peak_training_bytes=peak["peak_bytes"], peak_measure=peak["measure"],
                         process_bytes_at_training_start=peak["process_bytes_at_start"])


def memory_line(memory: MemorySummary) -> str:
    """Console line: base as loaded, adapter as saved, peak of training."""
    quantization = "full precision" if memory.quantization == "none" else memory.quantization
    base = f"base {memory.base_model_bytes / MB:.1f} MB as loaded ({quantization})"
    adapter = f"{memory.adapter_file} {memory.adapter_bytes / MB:.2f} MB" if memory.adapter_bytes else "nothing saved"
    where = "GPU allocated" if memory.peak_on_cuda else "resident above the start"
    return f"Memory: {base}; {adapter}; training peak {memory.peak_training_bytes / MB:.0f} MB ({where})"
