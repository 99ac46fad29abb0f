"""Which number format the matrix products run in, and how many threads run them.

``auto`` picks bf16 autocast only where the hardware computes bf16 natively (CPUs with AVX-512
BF16 or AMX, GPUs that report bf16 support); elsewhere bf16 is emulated and slower than fp32.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from balora.errors import UserError
from balora.processes import this_process

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_NATIVE_BF16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16() -> bool:
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return bool(_NATIVE_BF16_CPU_FLAGS & cpu_flags()) or torch.backends.cpu.get_cpu_capability() == "AMX"


def resolve_precision(requested: str) -> str:
    """fp32, bf16 or fp16: what --precision means on this machine."""
    if requested == "auto":
        return "bf16" if native_bf16() else "fp32"
    if requested == "fp16" and not torch.cuda.is_available():
        raise UserError("--precision fp16: needs a CUDA GPU (this machine has none); use bf16 or fp32")
    return requested


def precision_autocast(device_type: str, requested: str):
    """The autocast the Trainer runs its passes in under --precision ``requested``, for the passes
    it does not run (untuned scores, generation)."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(resolve_precision(requested))
    return torch.autocast(device_type, dtype=dtype, enabled=dtype is not None)


def trainer_precision_arguments(precision: str) -> dict:
    """TrainingArguments for a resolved precision: autocast during training and evaluation."""
    on_cpu = not torch.cuda.is_available()
    return {"bf16": precision == "bf16", "fp16": precision == "fp16",
            # Without a GPU the Trainer must be told the CPU is meant: it refuses bf16 otherwise, and
            # under torchrun only then do the processes train as one (gloo) data-parallel group; at
            # fp32 without it, each process trained on all the data by itself.
            "use_cpu": on_cpu}


# oneDNN, which runs the CPU's bf16 matrix products, keeps a compiled kernel with its buffers for every
# shape of product it has met: up to 1,024 in its own primitive cache and 1,024 in PyTorch's ideep
# layer, megabytes each at a batch of 32. Every padded batch length is a new shape, and so is every
# distinct adapter rank, so a method with mixed ranks (BA-LoRA, AdaLoRA, EVA) filled them several times
# faster than uniform LoRA: BA-LoRA's training peak on SST-2 was 711 MB against LoRA's 468 at equal
# size, with no tensor more alive. 32 entries hold what one layer's products reuse from the last.
KERNEL_CACHE_ENTRIES = 32
KERNEL_CACHE_VARIABLES = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")


def bound_kernel_caches(entries: int = KERNEL_CACHE_ENTRIES) -> None:
    """Cap the CPU kernel caches at ``entries`` shapes each (a value the user set is kept). Both are
    read when first used, so this must run before the process's first bf16 product; a GPU ignores them."""
    for variable in KERNEL_CACHE_VARIABLES:
        os.environ.setdefault(variable, str(entries))


def match_threads_to_cores() -> int:
    """One torch thread per core this process may run on (a taskset, a container's cpuset,
    torchrun's share), not per core of the machine: more threads than cores only contend."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    local = this_process().local_world_size  # torchrun: processes share this machine's cores
    threads = max(1, cores // max(1, local))
    if "OMP_NUM_THREADS" not in os.environ:  # an explicit setting is the user's choice
        torch.set_num_threads(threads)
    return torch.get_num_threads()
