"""Ray core tasks: one per experiment, asking the cluster for its CPUs and GPUs (Ray sets each
task's CUDA_VISIBLE_DEVICES). The task runs the experiment in a fresh worker process on the node
Ray picks; the results folder must be shared by every node (see docs/guide.md)."""

from __future__ import annotations

import os

from balora.errors import UserError
from balora.study.executors.base import logs_folder, outcome_from
from balora.study.executors.engines import require
from balora.study.experiment import ExperimentJob, Outcome


def ray_task(job: dict, folder: str, try_number: int, threads: int) -> dict:
    """Runs inside a Ray worker: the experiment in its own process, on the GPUs Ray gave this task."""
    from balora.study.worker import run_in_subprocess

    environment = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                   "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "")}
    return run_in_subprocess(job, folder, try_number, environment)


def plan_resources(resources: dict, workers: int | None, gpus_per_experiment: float | None) -> tuple[int, int, float]:
    """(experiments at a time, CPUs per experiment, GPUs per experiment) on a cluster with these
    resources; asking for more than the cluster has is a UserError, since Ray would wait forever."""
    gpus, cpus = float(resources.get("GPU", 0)), float(resources.get("CPU", 0))
    per_gpu = (1.0 if gpus else 0.0) if gpus_per_experiment is None else gpus_per_experiment
    if per_gpu > 0 and gpus < per_gpu:
        raise UserError(f"--executor ray: each experiment asks for {per_gpu:g} GPU(s) and the Ray cluster has "
                        f"{gpus:g}; nothing was run (--gpus_per_experiment 0 trains on CPUs)")
    if cpus < 1:
        raise UserError("--executor ray: the Ray cluster has no CPU; nothing was run")
    count = workers or (int(gpus // per_gpu) if per_gpu else int(cpus))
    return count, max(1, int(cpus // count)), per_gpu


class RayExecutor:
    def __init__(self, results_dir: str, workers: int | None, gpus_per_experiment: float | None,
                 address: str | None = None, init_options: dict | None = None):
        self.ray = require("ray", "ray", "ray")
        self.results_dir, self.workers, self.gpus_per_experiment = results_dir, workers, gpus_per_experiment
        self.address, self.init_options = address, init_options or {}
        self.started_here = False
        self.refs: dict = {}  # object ref -> (experiment name, where)
        self.slots = 0

    def open(self) -> None:
        ray = self.ray
        if self.address is None and not ray.is_initialized():
            # The local Ray balora would start has this machine's resources: refuse before starting it.
            from balora.study.executors.local import usable_cores, visible_gpus

            plan_resources({"CPU": self.init_options.get("num_cpus", len(usable_cores())),
                            "GPU": self.init_options.get("num_gpus", len(visible_gpus()))},
                           self.workers, self.gpus_per_experiment)
        if not ray.is_initialized():
            options = self.init_options if self.address is None else {}  # a running cluster has its own
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                         **options)
            except (ConnectionError, RuntimeError, ValueError, Exception) as err:  # Ray raises bare Exceptions
                first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise UserError(f"--executor ray: Ray did not start or could not be reached "
                                f"(--ray_address {self.address or 'none: a local Ray'}): {first_line}") from None
            self.started_here = True
        try:
            self.slots, self.threads, gpus = plan_resources(ray.cluster_resources(), self.workers,
                                                            self.gpus_per_experiment)
        except UserError:
            self.close()
            raise
        self.task = ray.remote(ray_task).options(num_cpus=self.threads, num_gpus=gpus, max_retries=0)

    def free(self) -> int:
        return self.slots - len(self.refs)

    def submit(self, job: ExperimentJob, try_number: int) -> str:
        ref = self.task.remote(job.as_dict(), str(logs_folder(self.results_dir)), try_number, self.threads)
        self.refs[ref] = job.name
        return "ray"

    def wait(self) -> list[Outcome]:
        ready, _ = self.ray.wait(list(self.refs), num_returns=1)
        return [self._collect(ref) for ref in ready]

    def _collect(self, ref, stopped: bool = False) -> Outcome:
        name = self.refs.pop(ref)
        try:
            return outcome_from(self.ray.get(ref), self.results_dir)
        except self.ray.exceptions.RayError as err:  # the Ray worker died, or the node did
            status = "interrupted" if stopped else "lost"
            return Outcome(name, status, error=f"the Ray task ended without a result ({type(err).__name__})",
                           ran_now=True)

    def stop(self) -> list[Outcome]:
        for ref in self.refs:
            self.ray.cancel(ref)  # a KeyboardInterrupt in the task: it interrupts its worker process
        return [self._collect(ref, stopped=True) for ref in list(self.refs)]

    def close(self) -> None:
        if self.started_here:
            self.ray.shutdown()
            self.started_here = False
