"""Errors that reach the user as one line instead of a traceback."""


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
