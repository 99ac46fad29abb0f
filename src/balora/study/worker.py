"""A worker process: runs one experiment of a study and writes how it ended.

``python -m balora.study.worker JOB.json OUTCOME.json`` (the local executor starts one per
experiment, so each trains in a fresh process with its own threads and GPUs; a Ray task or a
SLURM job does the same). The outcome file is written only once the experiment is over: a worker
killed before that leaves none, which the driver reads as a lost try and retries.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from balora.results import atomic_write_json, read_json


def placement(threads: int | None = None) -> dict:
    """Where this process runs, as study.json records it."""
    torch = sys.modules.get("torch")
    if torch is not None:
        threads = torch.get_num_threads()
    threads = threads or int(os.environ.get("OMP_NUM_THREADS", 0)) or None
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
    return {"host": socket.gethostname(), "gpus": gpus.split(",") if gpus else [], "threads": threads}


def run_job(job: dict) -> dict:
    """Run one experiment in this process; returns the outcome as plain values."""
    from balora.study.experiment import ExperimentJob, run_experiment

    started = time.perf_counter()
    try:
        outcome = run_experiment(ExperimentJob(**job))
        status, error, ran_now = outcome.status, outcome.error, outcome.ran_now
    except KeyboardInterrupt:  # the driver stopping the study (or Ctrl-C): train marked it interrupted
        status, error, ran_now = "interrupted", "interrupted; run the study again to resume", True
    return {"name": job["name"], "status": status, "error": error, "ran_now": ran_now,
            "placement": {**placement(), "seconds": round(time.perf_counter() - started, 1)}}


def main(argv: list[str]) -> int:
    from balora.processes import is_main_process

    job_path, outcome_path = argv
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped by the driver: end as on Ctrl-C
    outcome = run_job(read_json(job_path))
    if is_main_process():
        atomic_write_json(Path(outcome_path), outcome)
    return 130 if outcome["status"] == "interrupted" else 0


def worker_command(job_path: Path, outcome_path: Path, processes: int = 1) -> list[str]:
    """The command line of a worker; an experiment over several GPUs runs under torchrun."""
    if processes > 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                "-m", "balora.study.worker", str(job_path), str(outcome_path)]
    return [sys.executable, "-m", "balora.study.worker", str(job_path), str(outcome_path)]


def _die_with_parent() -> None:
    """Runs in the worker before it starts (Linux): the kernel kills it when the driver dies, so a
    killed driver leaves no orphan holding an experiment's lock; the rerun resumes that experiment."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def launch(job: dict, folder: Path, try_number: int, environment: dict[str, str], processes: int = 1,
           cores: tuple[int, ...] = ()) -> tuple[subprocess.Popen, Path]:
    """Start a worker for ``job``; its log and outcome go to ``folder`` (beside the results)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{job['name']}.try{try_number}"
    job_path, outcome_path = folder / f"{stem}.job.json", folder / f"{stem}.outcome.json"
    atomic_write_json(job_path, job)
    outcome_path.unlink(missing_ok=True)

    def prepare() -> None:
        _die_with_parent()
        if cores and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, cores)

    # A session of its own: Ctrl-C reaches the driver only, which then stops each worker once.
    with open(folder / f"{stem}.log", "ab") as log:
        process = subprocess.Popen(worker_command(job_path, outcome_path, processes), stdout=log,
                                   stderr=subprocess.STDOUT, env={**os.environ, **environment},
                                   preexec_fn=prepare, start_new_session=True)
    return process, outcome_path


def collect(process: subprocess.Popen, outcome_path: Path, name: str) -> dict:
    """The outcome of a worker that has ended; none written: the worker died (a lost try)."""
    if outcome_path.exists():
        return read_json(outcome_path)
    how = f"killed by signal {-process.returncode}" if process.returncode < 0 else f"exit code {process.returncode}"
    return {"name": name, "status": "lost", "error": f"the worker process died ({how})", "ran_now": True,
            "placement": {}}


def run_in_subprocess(job: dict, folder: str, try_number: int, environment: dict[str, str] | None = None) -> dict:
    """Run a job in a fresh worker process and wait for it (a Ray task does this)."""
    process, outcome_path = launch(job, Path(folder), try_number, environment or {})
    try:
        process.wait()
    except BaseException:
        process.send_signal(signal.SIGINT)
        process.wait()
        raise
    return collect(process, outcome_path, job["name"])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
