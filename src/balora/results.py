"""One folder per experiment, written atomically, never overwritten by accident.

Layout of ``<results_dir>/<experiment_name>/``:
  status.json         running | interrupted | failed | completed (+ error); written first, updated last
  config.json         every resolved setting
  training_log.txt    what the console showed
  metrics.jsonl       one record per logged step and per evaluation
  results_final.json  metrics, parameter counts, timings, memory, versions, git commit
  model_checkpoint/   the trained adapter (+ head) or full model, and the tokenizer
  checkpoints/        Trainer checkpoints, kept only while the experiment is unfinished
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from balora.config import bookkeeping_settings
from balora.errors import UserError

# Written into a checkpoint folder once everything of it is saved (balora.training.callbacks.MethodState).
CHECKPOINT_COMPLETE_FILE = "balora_checkpoint_complete"

# Settings that may differ between an interrupted run and its --resume: the bookkeeping ones.
RESUME_INSENSITIVE = bookkeeping_settings()


def process_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600) and the rename keeps that mode: give it the mode
        # an ordinary open() would, so colleagues can read a shared results folder.
        os.fchmod(fd, 0o666 & ~process_umask())
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def read_results_file(path: Path) -> Any:
    """A JSON file a reader relies on (results_final.json, ...): unreadable is one line naming it."""
    try:
        return read_json(path)
    except (OSError, ValueError) as err:
        reason = err.strerror if isinstance(err, OSError) else f"not valid JSON ({err})"
        raise UserError(f"cannot read {path}: {reason}") from None


def git_commit(start: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=start or Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def library_versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("balora", "torch", "transformers", "peft", "datasets", "accelerate", "scikit-learn"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions


def _step_of(line: str) -> int | None:
    try:
        step = json.loads(line).get("step")
    except (ValueError, AttributeError):
        return None  # a cut line stays for the reader to report
    return step if isinstance(step, int) else None


class ExperimentDir:
    def __init__(self, results_dir: str | Path, name: str):
        self.path = Path(results_dir) / name
        self.created_now = False

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def model_checkpoint(self) -> Path:
        return self.path / "model_checkpoint"

    def status(self) -> str | None:
        """completed, failed, interrupted (Ctrl-C), running (or its process died), or None.

        results_final.json, written atomically once everything else is saved, is the commit point:
        a run killed after it, before status.json said so, is complete."""
        if not self.path.exists():
            return None
        if self.committed():
            return "completed"
        try:
            return read_json(self.file("status.json"))["status"]
        except (OSError, ValueError, KeyError):
            return "running"  # a folder without a readable status was interrupted early

    def committed(self) -> bool:
        return self.file("results_final.json").is_file()

    def finish_commit(self) -> dict:
        """Complete the bookkeeping of a run that was stopped at its commit point; its results."""
        results = read_json(self.file("results_final.json"))
        shutil.rmtree(self.checkpoints, ignore_errors=True)
        if self.status_record().get("status") != "completed":
            self.set_status("completed")
        return results

    def check_can_start(self, overwrite: bool, resume: bool, config: dict) -> str:
        """Decide between new / overwrite / resume, or refuse with one clear line.

        Called with the experiment's lock held, so ``running`` means that its process ended
        without a word (killed, out of memory, machine down): it is resumable like an interrupt.
        """
        status = self.status()
        if status is None:
            if resume:
                raise UserError(f"--resume: no experiment at {self.path} to resume")
            return "new"
        if overwrite:
            return "overwrite"
        if status == "completed" and resume and self.status_record().get("status") != "completed":
            return "finished"  # stopped between its results and its status: nothing to train again
        if status == "completed":
            raise UserError(f"experiment {self.path} is already finished; pass --overwrite to replace it")
        if status == "failed":
            error = self.status_record().get("error") or "no error recorded"
            raise UserError(f"experiment {self.path} failed ({error}); pass --overwrite to start again")
        if not resume:
            how = ("was interrupted" if status == "interrupted"
                   else "is unfinished: its process ended without finishing (killed?)")
            raise UserError(f"experiment {self.path} {how}; pass --resume to continue it "
                            "or --overwrite to start again")
        saved = read_json(self.file("config.json")) if self.file("config.json").exists() else {}
        changed = sorted(k for k in config if k not in RESUME_INSENSITIVE and k in saved and saved[k] != config[k])
        if changed:
            raise UserError(f"--resume: settings differ from the interrupted run: {', '.join(changed)}")
        return "resume"

    def start(self, mode: str, config: dict) -> None:
        if mode == "overwrite":
            shutil.rmtree(self.path)
        self.created_now = mode != "resume"
        self.path.mkdir(parents=True, exist_ok=True)
        if mode == "resume":
            checkpoint = self.latest_checkpoint()
            self.forget_records_after(int(checkpoint.split("-")[-1]) if checkpoint else -1)
        atomic_write_json(self.file("config.json"), config)
        self.set_status("running")

    def forget_records_after(self, step: int) -> None:
        """Drop the records of steps a resume redoes (those after its checkpoint), so that none is
        recorded twice; records without a step are kept."""
        for path in self.path.glob("*.jsonl"):
            lines = path.read_text().splitlines(keepends=True)
            kept = [line for line in lines if _step_of(line) is None or _step_of(line) <= step]
            if len(kept) != len(lines):
                atomic_write_text(path, "".join(kept))

    def discard_if_new(self) -> None:
        """Remove a folder this run created, so that bad input leaves nothing half-written."""
        if self.created_now and self.path.exists():
            shutil.rmtree(self.path)

    def status_record(self) -> dict:
        try:
            return read_json(self.file("status.json"))
        except (OSError, ValueError):
            return {}

    def set_status(self, status: str, **extra) -> None:
        atomic_write_json(self.file("status.json"), {"status": status, "updated": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra})

    def append_record(self, record: dict, file_name: str = "metrics.jsonl") -> None:
        """One whole line: a write that fails (disk full) takes back what it wrote of it."""
        line = (json.dumps(record, default=float) + "\n").encode()
        fd = os.open(self.file(file_name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
            try:
                while line:
                    line = line[os.write(fd, line):]
            except OSError:
                os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)

    def write_json(self, name: str, data: Any) -> None:
        atomic_write_json(self.file(name), data)

    def storage_full(self) -> bool:
        """Whether the experiment's file system is (all but) full: libraries that fail to write
        there (torch.save) may say so only as an unexplained RuntimeError."""
        try:
            return shutil.disk_usage(self.path).free < 2**20
        except OSError:
            return False

    def drop_unfinished_checkpoints(self) -> None:
        """Remove checkpoints whose save was cut short (never resumed from) and a model being saved:
        a full disk gets back the room to record why the run failed, and nothing half-written stays."""
        shutil.rmtree(self.path / "model_checkpoint.tmp", ignore_errors=True)
        for path in self.checkpoints.glob("checkpoint-*") if self.checkpoints.is_dir() else ():
            if not ((path / CHECKPOINT_COMPLETE_FILE).is_file() or (path / "trainer_state.json").is_file()):
                shutil.rmtree(path, ignore_errors=True)

    def latest_checkpoint(self) -> str | None:
        """The newest checkpoint that was saved to the end: a process killed while saving leaves a
        newer folder without the marker (or, from before the marker, without trainer_state.json,
        which the Trainer writes after the weights, optimizer and RNG states)."""
        if not self.checkpoints.is_dir():
            return None
        steps = sorted((p for p in self.checkpoints.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
                       key=lambda p: int(p.name.split("-")[-1]), reverse=True)
        for complete in (CHECKPOINT_COMPLETE_FILE, "trainer_state.json"):
            saved = next((p for p in steps if (p / complete).is_file()), None)
            if saved is not None:
                return str(saved)
        return None
