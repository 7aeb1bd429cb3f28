"""The one error type tokvec raises for bad input, and how it names the culprit.

Every problem a user can cause (a missing file, a malformed line, a nonsense flag value) is raised
as :class:`TokvecError`. The CLI turns it into one line on stderr and a non-zero exit; library
users catch it like any exception.

>>> str(TokvecError("expected 3 fields, got 2", path="pairs.tsv", line=7))
'pairs.tsv:7: expected 3 fields, got 2'
"""

from __future__ import annotations

import os


class TokvecError(Exception):
    """A user-facing error: bad input, a bad option, or a file that cannot be used."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None,
                 line: int | None = None) -> None:
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.path or ""
        if where and self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}" if where else self.message


class TrainingDiverged(TokvecError):
    """The loss became NaN or infinite: training stopped and nothing past the last good save
    was written.

    >>> err = TrainingDiverged("the loss became nan", step=12, kept="runs/m/checkpoint")
    >>> first, *rest = str(err).split("; ")
    >>> first
    'training diverged at step 12: the loss became nan'
    >>> rest
    ['kept runs/m/checkpoint', 'lower the learning rate']
    """

    def __init__(self, problem: str, step: int, kept: str | None) -> None:
        saved = f"kept {kept}" if kept else "nothing was saved"
        super().__init__(f"training diverged at step {step}: {problem}; {saved}; "
                         "lower the learning rate")
        self.step = step


class DiskFull(TokvecError):
    """A write failed because the file system is full (or the user's quota is spent).

    >>> str(DiskFull("runs/m"))
    'runs/m: cannot write: no space left on device'
    """

    def __init__(self, path: str | os.PathLike[str] | None, detail: str = "") -> None:
        super().__init__(f"cannot write: no space left on device{detail}", path=path)


def check(condition: bool, message: str) -> None:
    """Raise :class:`TokvecError` with ``message`` unless ``condition`` holds.

    >>> check(3 > 0, "dim must be positive")
    """
    if not condition:
        raise TokvecError(message)
