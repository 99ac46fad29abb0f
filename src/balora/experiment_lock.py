"""One writer per experiment folder: an OS lock held for the whole life of a run.

The lock is ``flock`` on ``<results_dir>/.<experiment_name>.lock``, a file that also says who
holds it. The operating system drops the lock when the holding process ends for any reason
(``kill -9`` included), so a lock is never stale. The file sits beside the experiment folder
rather than inside it, so it can be taken before the folder is touched; the holder removes it
when done (a process that locked a file since removed notices and takes the new one), and a
killed holder's file is simply taken over by the next run.

Within one process the lock is re-entrant: the study runner holds it around the status check
and `balora train`'s code path takes it again inside.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from balora.errors import UserError


class ExperimentBusy(UserError):
    """Another live process is running this experiment."""


_held: dict[Path, list] = {}  # lock file -> [descriptor, depth, results folder made now?], this process's


def lock_file(results_dir: str | Path, name: str) -> Path:
    return Path(results_dir) / f".{name}.lock"


def require_writable_folder(folder: Path) -> bool:
    """--results_dir must be a folder this process can create files in; say so before any work.
    Returns whether it was created now."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--results_dir {folder}: exists and is not a folder")
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--results_dir {folder}: cannot create it ({err.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"--results_dir {folder}: this process may not write there")
    return created


def describe_holder(path: Path, attempts: int = 40) -> str:
    """Who holds the lock. The holder writes this just after locking, so a file found empty or
    half-written is read again for a moment before giving up."""
    for _ in range(attempts):
        try:
            holder = json.loads(path.read_text())
            return f"pid {holder['pid']} on {holder['host']}, since {holder['since']}"
        except (OSError, ValueError, KeyError):
            time.sleep(0.025)
    return "holder unknown"


class ExperimentLock:
    def __init__(self, results_dir: str | Path, name: str):
        self.folder = Path(results_dir)
        self.path = lock_file(results_dir, name)
        self.name = name

    def acquire(self) -> None:
        key = self.path.absolute()
        if key in _held:
            _held[key][1] += 1
            return
        created_folder = require_writable_folder(self.folder)
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as err:
                if created_folder:  # refused before anything started: leave nothing behind
                    self.folder.rmdir()
                raise UserError(f"--results_dir {self.folder}: cannot write there ({err.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ExperimentBusy(f"experiment {self.folder / self.name} is being run by another process "
                                     f"({describe_holder(self.path)}); wait for it to end") from None
            if self._still_named(fd):
                break
            os.close(fd)  # the holder removed this file as we opened it: lock the one there now
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode() + b"\n", 0)
        _held[key] = [fd, 1, created_folder]

    def _still_named(self, fd: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def release(self) -> None:
        key = self.path.absolute()
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _held[key]
            self.path.unlink(missing_ok=True)  # still locked: a newcomer cannot have taken it yet
            os.close(entry[0])  # closing the descriptor drops the flock
            if entry[2]:  # a results folder made for a run that wrote nothing goes too
                try:
                    self.folder.rmdir()
                except OSError:
                    pass

    def __enter__(self) -> ExperimentLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
