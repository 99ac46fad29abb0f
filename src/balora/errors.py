"""Errors that reach the user as one line instead of a traceback."""

import errno


class UserError(Exception):
    """Bad input: the CLI prints the message on one line and exits with code 2."""

    exit_code = 2


class ConfigError(UserError):
    """A setting is invalid; the message names the flag."""

    def __init__(self, field: str, message: str):
        super().__init__(f"--{field}: {message}")
        self.field = field


class TrainingFailure(Exception):
    """Training went wrong after it started (e.g. a non-finite loss); exit code 1."""

    exit_code = 1


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, with the line that says what it left behind; exit code 130."""


class StorageFailure(TrainingFailure):
    """A state file could not be written (disk full, read-only folder, quota): one line, exit code 1."""


# A write that fails for one of these is the storage's doing, not a bug: reported in one line.
_STORAGE_ERRNOS = frozenset(getattr(errno, name) for name in ("ENOSPC", "EROFS", "EDQUOT", "EACCES", "EPERM", "EFBIG")
                            if hasattr(errno, name))


def storage_problem(err: BaseException, folder=None) -> str | None:
    """'cannot write in <folder>: no space left on device' for a storage error, else None."""
    if not isinstance(err, OSError) or err.errno not in _STORAGE_ERRNOS:
        return None
    import os

    where = os.path.dirname(err.filename) if isinstance(err.filename, str) else None
    return f"cannot write in {where or folder}: {(err.strerror or str(err)).lower()}"
