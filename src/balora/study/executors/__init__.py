"""Where a study's experiments run: ``--executor serial|local|ray|slurm``.

An executor only places the experiments the driver hands it and reports how each ended; the
driver (balora.study.runner) owns the order, the selection and the retries. Every executor
writes straight into the shared results folder, and every experiment runs under its lock.
"""

from __future__ import annotations

from balora.study.executors.base import Executor, outcome_from
from balora.study.executors.serial import SerialExecutor

EXECUTORS = ("serial", "local", "ray", "slurm")


def make_executor(name: str, results_dir: str, workers: int | None = None, gpus_per_experiment: float | None = None,
                  ray_address: str | None = None, slurm: dict | None = None) -> Executor:
    """The executor a `balora study --executor NAME` asks for (its engine is imported only now)."""
    if name == "serial":
        return SerialExecutor()
    if name == "local":
        from balora.study.executors.local import LocalExecutor

        return LocalExecutor(results_dir, workers, gpus_per_experiment)
    if name == "ray":
        from balora.study.executors.ray_cluster import RayExecutor

        return RayExecutor(results_dir, workers, gpus_per_experiment, ray_address)
    from balora.study.executors.slurm import SlurmExecutor

    return SlurmExecutor(results_dir, workers, gpus_per_experiment, **(slurm or {}))


__all__ = ["EXECUTORS", "Executor", "SerialExecutor", "make_executor", "outcome_from"]
