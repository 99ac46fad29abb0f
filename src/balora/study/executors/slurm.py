"""SLURM jobs through submitit, one per experiment as it becomes ready (a job array would need
every experiment known up front; a study's other seeds appear only once its rate is chosen).
--workers caps the jobs in flight; the jobs' logs go beside the results."""

from __future__ import annotations

import math
import time

from balora.study.executors.base import logs_folder, outcome_from
from balora.study.executors.engines import require
from balora.study.experiment import ExperimentJob, Outcome


def slurm_job(job: dict) -> dict:
    """Runs inside the SLURM job (a fresh process already): the experiment itself."""
    from balora.study.worker import run_job

    return run_job(job)


class SlurmExecutor:
    def __init__(self, results_dir: str, workers: int | None, gpus_per_experiment: float | None,
                 partition: str | None = None, time_minutes: int = 60, gpus_per_task: int | None = None,
                 cluster: str | None = None):
        self.submitit = require("submitit", "slurm", "slurm")
        self.results_dir, self.slots = results_dir, workers or 8
        self.gpus = gpus_per_task if gpus_per_task is not None else math.ceil(gpus_per_experiment or 0)
        self.partition, self.time_minutes, self.cluster = partition, time_minutes, cluster
        self.jobs: dict[str, object] = {}  # experiment name -> submitit job

    def open(self) -> None:
        self.executor = self.submitit.AutoExecutor(folder=str(logs_folder(self.results_dir) / "slurm" / "%j"),
                                                   cluster=self.cluster)
        partition = {"slurm_partition": self.partition} if self.partition else {}
        self.executor.update_parameters(timeout_min=self.time_minutes, gpus_per_node=self.gpus, name="balora-study",
                                        **partition)

    def free(self) -> int:
        return self.slots - len(self.jobs)

    def submit(self, job: ExperimentJob, try_number: int) -> str:
        submitted = self.executor.submit(slurm_job, job.as_dict())
        self.jobs[job.name] = submitted
        return f"job {submitted.job_id}"

    def wait(self) -> list[Outcome]:
        while True:
            ended = [name for name, job in self.jobs.items() if job.done()]
            if ended:
                return [self._collect(name) for name in ended]
            time.sleep(1.0)

    def _collect(self, name: str, stopped: bool = False) -> Outcome:
        job = self.jobs.pop(name)
        try:
            return outcome_from(job.result(), self.results_dir)
        except Exception as err:  # the job failed, timed out or was preempted without a result
            return Outcome(name, "interrupted" if stopped else "lost",
                           error=f"SLURM job {job.job_id} ended without a result ({type(err).__name__})", ran_now=True)

    def stop(self) -> list[Outcome]:
        for job in self.jobs.values():
            job.cancel(check=False)
        return [self._collect(name, stopped=True) for name in list(self.jobs)]

    def close(self) -> None:
        if self.jobs:
            self.stop()
