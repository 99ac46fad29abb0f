"""Console lines that also go to the experiment's training_log.txt (main process only)."""

from __future__ import annotations

import sys
from pathlib import Path

from balora.processes import is_main_process


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 seed``, ``2 seeds``, ``1,000 examples``."""
    return f"{count:,} {noun if count == 1 else plural_form or noun + 's'}"


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
            print(line, file=sys.stdout, flush=True)
        if self.log_path is None:
            self.pending.append(line)
        else:
            with open(self.log_path, "a") as handle:
                handle.write(line + "\n")
