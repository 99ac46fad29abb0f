"""N worker processes on this machine, each experiment in a fresh one with its share of the
cores and, on a GPU machine, its GPUs (``CUDA_VISIBLE_DEVICES``; fractions pack several small
experiments on one GPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from balora.study.executors.base import logs_folder, outcome_from
from balora.study.experiment import ExperimentJob, Outcome
from balora.study.placement import Slot, local_slots
from balora.study.worker import collect, launch


def visible_gpus() -> list[str]:
    """The GPUs this process may use: CUDA_VISIBLE_DEVICES as set, else those torch counts."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [gpu for gpu in listed.split(",") if gpu.strip() and gpu.strip() != "-1"]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


def usable_cores() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))


class LocalExecutor:
    def __init__(self, results_dir: str, workers: int | None, gpus_per_experiment: float | None,
                 gpus: list[str] | None = None, cores: list[int] | None = None):
        self.results_dir = results_dir
        self.workers, self.gpus_per_experiment = workers, gpus_per_experiment
        self.gpus, self.cores = gpus, cores
        self.slots: list[Slot] = []
        self.running: dict[int, tuple[subprocess.Popen, Path, str]] = {}  # slot index -> worker

    def open(self) -> None:
        gpus = visible_gpus() if self.gpus is None else self.gpus
        self.slots = local_slots(self.workers, self.cores or usable_cores(), gpus, self.gpus_per_experiment)

    def free(self) -> int:
        return len(self.slots) - len(self.running)

    def submit(self, job: ExperimentJob, try_number: int) -> str:
        slot = next(s for s in self.slots if s.index not in self.running)
        process, outcome_path = launch(job.as_dict(), logs_folder(self.results_dir), try_number, slot.environment(),
                                       slot.processes, slot.cores)
        self.running[slot.index] = (process, outcome_path, job.name)
        return f"worker {slot.index} ({slot.describe()})"

    def wait(self) -> list[Outcome]:
        while True:
            ended = [index for index, (process, _, _) in self.running.items() if process.poll() is not None]
            if ended:
                return [self._collect(index) for index in ended]
            time.sleep(0.2)

    def _collect(self, index: int) -> Outcome:
        process, outcome_path, name = self.running.pop(index)
        return outcome_from(collect(process, outcome_path, name), self.results_dir)

    def stop(self) -> list[Outcome]:
        for process, _, _ in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # the run checkpoints nothing more, marks itself interrupted
        deadline = time.monotonic() + 60
        for process, _, _ in self.running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return [self._collect(index) for index in list(self.running)]

    def close(self) -> None:
        if self.running:
            self.stop()
