"""``study.json``: what a study's runs came to, kept safe from crashes, full disks and changed studies.

The experiment folders are the truth (each one's status.json and results_final.json); study.json
is their summary plus each group's learning-rate selection. So a study.json that cannot be read
(cut short by a crash or a full disk) is rebuilt from the folders, the damaged file kept beside it
as study.json.broken, and a finished experiment's record is never rewritten as anything else.
"""

from __future__ import annotations

import fcntl
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from balora.errors import StorageFailure, UserError, storage_problem
from balora.experiment_lock import require_writable_folder
from balora.results import ExperimentDir, atomic_write_json, read_json

LOCK_NAME = ".study.json.lock"


def warn(line: str) -> None:
    print(f"warning: {line}", file=sys.stderr, flush=True)


def experiment_entry(folder: ExperimentDir) -> dict | None:
    """An experiment folder's study.json record, from its own files; None if it is not one."""
    status = folder.status()
    if status is None or not (folder.file("config.json").is_file() or folder.committed()):
        return None
    try:
        config = read_json(folder.file("config.json"))
    except (OSError, ValueError):
        config = {}
    match = re.fullmatch(r"(.+)-lr[^-]+-s\d+", folder.path.name)
    entry = {"group": match.group(1) if match else None, "learning_rate": config.get("learning_rate"),
             "seed": config.get("seed"), "status": status}
    error = folder.status_record().get("error") if status != "completed" else None
    return {**entry, **({"error": error} if error else {})}


def rebuilt_state(results_dir: Path) -> dict:
    """study.json as the experiment folders tell it. Learning-rate selections are not kept: the
    study's next run records them again from the finished searches."""
    experiments = {}
    for path in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        entry = experiment_entry(ExperimentDir(results_dir, path.name))
        if entry is not None:
            experiments[path.name] = entry
    return {"experiments": experiments, "groups": {}}


def read_or_rebuild(path: Path, say=warn) -> dict:
    """The saved state; a damaged file is kept as study.json.broken and the state rebuilt."""
    if not path.exists():
        return {}
    try:
        saved = read_json(path)
        if isinstance(saved, dict):
            return saved
        reason = "not a JSON object"
    except UnicodeDecodeError as err:
        reason = str(err)
    except ValueError as err:
        reason = f"not valid JSON: {err}"
    broken = path.with_name(path.name + ".broken")
    path.replace(broken)
    say(f"{path} is damaged ({reason}); rebuilt from the experiment folders, the damaged file kept as {broken}")
    return rebuilt_state(path.parent)


@dataclass
class StudyState:
    """``study.json``: every experiment's status and every group's learning-rate selection."""

    path: Path
    study_file: str
    experiments: dict[str, dict] = field(default_factory=dict)
    groups: dict[str, dict] = field(default_factory=dict)

    changed: set[tuple[str, str]] = field(default_factory=set)  # (section, key) this process wrote

    @classmethod
    def load(cls, path: Path, study_file: str) -> StudyState:
        """The state of earlier runs of the study, so that a partial rerun (--methods ...) keeps the rest.
        A results folder that cannot be written is refused here, before any experiment starts."""
        require_writable_folder(path.parent)
        try:
            with _guard(path):
                saved = read_or_rebuild(path)
        except StorageFailure as err:  # nothing has started yet: exit 2, as for bad input
            raise UserError(str(err)) from None
        return cls(path, study_file, saved.get("experiments", {}), saved.get("groups", {}))

    def record(self, section: str, key: str, entry: dict) -> None:
        if section == "experiments" and entry.get("status") != "completed":
            # A finished experiment stays finished, whatever a changed study says of it now.
            finished = experiment_entry(ExperimentDir(self.path.parent, key))
            if finished is not None and finished["status"] == "completed":
                entry = {**{k: v for k, v in entry.items() if k != "error"}, "status": "completed"}
        getattr(self, section)[key] = entry
        self.changed.add((section, key))
        self.save()

    def save(self) -> None:
        """Merge this process's entries into the file as it is now: another study process on the
        same results folder writes its own entries, and neither may drop the other's."""
        with _guard(self.path):
            on_disk = read_or_rebuild(self.path)
            merged = {"experiments": on_disk.get("experiments", {}), "groups": on_disk.get("groups", {})}
            for section, key in self.changed:
                merged[section][key] = getattr(self, section)[key]
            self.experiments, self.groups = merged["experiments"], merged["groups"]
            atomic_write_json(self.path, {"study_file": self.study_file,
                                          "updated": time.strftime("%Y-%m-%dT%H:%M:%S"), **merged})


class _guard:
    """study.json's lock (another study process on the same folder); a storage failure is one line."""

    def __init__(self, path: Path):
        self.path = path
        self.handle = None

    def __enter__(self):
        try:
            self.handle = open(self.path.with_name(LOCK_NAME), "a")
        except OSError as err:
            raise _storage_failure(err, self.path) from None
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, kind, err, traceback):
        self.handle.close()
        if isinstance(err, OSError) and storage_problem(err) is not None:
            raise _storage_failure(err, self.path) from None


def _storage_failure(err: OSError, path: Path) -> Exception:
    problem = storage_problem(err, path.parent)
    return StorageFailure(f"{problem} (writing {path.name})") if problem else err
