"""Stopping training cleanly: SIGINT/SIGTERM become a request checked between chunks.

>>> with StopRequest() as stop:
...     stop.signum is None
True
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from ..errors import TokvecError

SIGNAL_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


class TrainingInterrupted(TokvecError):
    """Training stopped on request; a checkpoint was written and ``resume`` continues it."""

    def __init__(self, message: str, signum: int | None = None) -> None:
        super().__init__(message)
        self.signum = signum


class StopRequest:
    """While installed (main thread only), SIGINT/SIGTERM set ``signum``; a second one aborts."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNAL_NAMES:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def interrupted_message(signum: int | None, fraction_done: float, checkpoint: Any) -> str:
    """The one line a user reads after an interrupt: what happened and how to go on."""
    why = SIGNAL_NAMES.get(signum, "stop request") if signum else "stop request"
    return (f"interrupted by {why} at {fraction_done:.1%}; checkpoint written to {checkpoint}; "
            "run the same command with --resume to continue")
