"""Console lines that also go to the experiment's training_log.txt (main process only)."""

from __future__ import annotations

import sys
from pathlib import Path

from balora.processes import is_main_process


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 seed``, ``2 seeds``, ``1,000 examples``."""
    return f"{count:,} {noun if count == 1 else plural_form or noun + 's'}"


def write_line(line: str) -> None:
    """``line`` on stdout, on a line of its own: a progress bar being drawn on the terminal (the
    Trainer's, generation's) is lifted off first and redrawn below it, so the two never share a line."""
    tqdm = sys.modules.get("tqdm.std")  # no bar can be running unless tqdm was imported
    if tqdm is not None and any(hasattr(bar, "start_t") for bar in list(tqdm.tqdm._instances)):
        tqdm.tqdm.write(line, file=sys.stdout)
        sys.stdout.flush()
    else:
        print(line, file=sys.stdout, flush=True)


class Console:
    def __init__(self, quiet: bool = False):
        self.log_path: Path | None = None
        self.pending: list[str] = []  # lines printed before the experiment folder exists
        self.quiet = quiet  # log to the file only
        self.silent = not is_main_process()

    def attach(self, log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "a") as handle:
            handle.writelines(line + "\n" for line in self.pending)
        self.pending.clear()

    def say(self, line: str) -> None:
        if self.silent:
            return
        if not self.quiet:
            write_line(line)
        if self.log_path is None:
            self.pending.append(line)
        else:
            with open(self.log_path, "a") as handle:
                handle.write(line + "\n")
