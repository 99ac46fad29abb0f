"""What the driver asks of an executor, and the outcome it reads back."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from balora.study.experiment import ExperimentJob, Outcome, finished_record


class Executor(Protocol):
    def open(self) -> None:
        """Start (or reach) the engine and check it can run what is asked: a UserError here is
        one line before anything runs."""

    def free(self) -> int:
        """How many more experiments may start now."""

    def submit(self, job: ExperimentJob, try_number: int) -> str:
        """Start one experiment; returns where it runs, as the progress line shows it."""

    def wait(self) -> list[Outcome]:
        """Block until at least one started experiment has ended; their outcomes."""

    def stop(self) -> list[Outcome]:
        """Interrupt what runs (each marks itself interrupted, to resume later); their outcomes."""

    def close(self) -> None: ...


def outcome_from(report: dict, results_dir: str) -> Outcome:
    """An outcome a worker wrote as plain values, with its results read from the folder."""
    results = finished_record(results_dir, report["name"]) if report["status"] == "completed" else None
    return Outcome(report["name"], report["status"], results, report.get("error"), report.get("ran_now", False),
                   report.get("placement") or {})


def logs_folder(results_dir: str) -> Path:
    """Workers' logs, job files and outcomes, beside the experiments they ran."""
    return Path(results_dir) / ".study_workers"
