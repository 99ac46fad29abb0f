"""One experiment after another in the driver's own process: `balora study` as it always ran."""

from __future__ import annotations

import time

from balora.study.experiment import ExperimentJob, Outcome, run_experiment


class SerialExecutor:
    def __init__(self):
        self.job: ExperimentJob | None = None

    def open(self) -> None:
        pass

    def free(self) -> int:
        return 0 if self.job else 1

    def submit(self, job: ExperimentJob, try_number: int) -> str:
        self.job = job
        return "here"

    def wait(self) -> list[Outcome]:
        from balora.study.worker import placement

        job, started = self.job, time.perf_counter()
        try:
            outcome = run_experiment(job)  # Ctrl-C goes up to the driver: the run marked itself interrupted
        finally:
            self.job = None
        outcome.placement = {**placement(), "seconds": round(time.perf_counter() - started, 1)}
        return [outcome]

    def stop(self) -> list[Outcome]:
        return []

    def close(self) -> None:
        pass
