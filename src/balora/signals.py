"""Ctrl-C and SIGTERM during `balora train`: honoured in every phase, never lost.

A signal raises KeyboardInterrupt as usual, and is also remembered: a library may swallow the
KeyboardInterrupt (datasets' fingerprint hashing has a bare ``except:``), so ``check_interrupt()``
at each phase boundary raises it again. SIGTERM, a scheduler's request to stop, acts as Ctrl-C.
While the model trains, the first signal lets the current step end, saves a checkpoint and stops
(`--resume` continues from it); a second one stops at once.
"""

from __future__ import annotations

import functools
import signal
import threading

from balora.errors import Interrupted

_active: list[Interrupts] = []  # the run in progress in this process, innermost last


class Interrupts:
    def __init__(self):
        self.received: int | None = None
        self.deferring = False  # training: stop at the step's end with a checkpoint
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():  # only there may handlers be set
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._handle)
        _active.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _active.remove(self)
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number, frame) -> None:
        first = self.received is None
        self.received = number
        if not (self.deferring and first):
            raise KeyboardInterrupt

    def check(self) -> None:
        if self.received is not None:
            raise KeyboardInterrupt


def check_interrupt() -> None:
    """Raise KeyboardInterrupt if a signal arrived since the run began (even if it was swallowed)."""
    if _active:
        _active[-1].check()


class training_phase:
    """While the Trainer runs, a signal ends it after the current step, with a checkpoint there
    (balora.training.callbacks.StopOnSignal); a second signal stops at once."""

    def __enter__(self):
        if _active:
            _active[-1].deferring = True

    def __exit__(self, *exc):
        if _active:
            _active[-1].deferring = False
        if exc[0] is None:
            check_interrupt()


def interrupt_received() -> bool:
    return bool(_active) and _active[-1].received is not None


def honours_interrupts(func):
    """Run ``func`` with the handlers set. An interrupt that its own handling did not describe came
    before the experiment was started: nothing was written."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        with Interrupts():
            try:
                return func(*args, **kwargs)
            except Interrupted:
                raise
            except KeyboardInterrupt:
                raise Interrupted("interrupted before the experiment started: nothing was written") from None

    return run
