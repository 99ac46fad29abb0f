"""Where a study's experiments may run on one machine: pure arithmetic, no devices touched.

A *slot* is room for one experiment: some CPU cores (split evenly between the workers, so two
workers do not fight over the same cores) and, on a GPU machine, the GPUs it sees through
``CUDA_VISIBLE_DEVICES``. A fraction of a GPU per experiment packs several small experiments on
one GPU (0.25: four); more than one runs each experiment under torchrun on that many GPUs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from balora.errors import UserError


@dataclass(frozen=True)
class Slot:
    index: int
    cores: tuple[int, ...]
    gpus: tuple[str, ...] = ()
    processes: int = 1  # torchrun processes (one per GPU) when an experiment spans several GPUs

    @property
    def threads(self) -> int:
        return max(1, len(self.cores) // self.processes)

    def environment(self) -> dict[str, str]:
        """What the worker's environment says of its share (torch reads OMP_NUM_THREADS; an
        empty CUDA_VISIBLE_DEVICES hides every GPU from a CPU worker)."""
        return {"CUDA_VISIBLE_DEVICES": ",".join(self.gpus), "OMP_NUM_THREADS": str(self.threads),
                "MKL_NUM_THREADS": str(self.threads)}

    def describe(self) -> str:
        return f"GPU {','.join(self.gpus)}" if self.gpus else f"{self.threads} thread{'s' * (self.threads > 1)}"


def check_gpus_per_experiment(value: float | None) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0:
        raise UserError(f"--gpus_per_experiment: must be 0 or more (got {value:g})")
    if 0 < value < 1 and abs(1 / value - round(1 / value)) > 1e-6:
        raise UserError(f"--gpus_per_experiment: a fraction must divide one GPU evenly, e.g. 0.5 or 0.25 "
                        f"(got {value:g})")
    if value > 1 and value != int(value):
        raise UserError(f"--gpus_per_experiment: above 1 it must be a whole number of GPUs (got {value:g})")


def local_slots(workers: int | None, cores: list[int], gpus: list[str],
                gpus_per_experiment: float | None) -> list[Slot]:
    """The slots of this machine: ``workers`` of them (default: as many as the GPUs hold, or one
    on a CPU), each with its cores and GPUs. Asking for GPUs a machine lacks is a UserError."""
    check_gpus_per_experiment(gpus_per_experiment)
    if workers is not None and workers < 1:
        raise UserError(f"--workers: must be at least 1 (got {workers})")
    share = 1.0 if gpus_per_experiment is None and gpus else (gpus_per_experiment or 0.0)
    if share and not gpus:
        raise UserError(f"--gpus_per_experiment {share:g}: this machine has no GPU (CUDA_VISIBLE_DEVICES and "
                        "torch see none); use 0 to train on the CPU")
    if share == 0:
        gpu_sets, processes = [()] * (workers or 1), 1
    elif share < 1:
        per_gpu = round(1 / share)
        # GPU by GPU in turn: fewer workers than slots spread over the GPUs before doubling up.
        gpu_sets, processes = [(gpu,) for _ in range(per_gpu) for gpu in gpus], 1
    else:
        size = int(share)
        gpu_sets, processes = [tuple(gpus[i:i + size]) for i in range(0, len(gpus) - size + 1, size)], size
        if not gpu_sets:
            raise UserError(f"--gpus_per_experiment {size}: this machine has {len(gpus)} GPU(s)")
    if workers is not None and workers > len(gpu_sets):
        raise UserError(f"--workers {workers}: the GPUs hold {len(gpu_sets)} experiments at a time at "
                        f"--gpus_per_experiment {share:g}")
    count = workers or len(gpu_sets)
    per_worker = max(1, len(cores) // count)
    return [Slot(i, tuple(cores[(i * per_worker) % len(cores):][:per_worker]) or tuple(cores[:per_worker]),
                 gpu_sets[i], processes) for i in range(count)]
