"""Reading text corpora line by line with clear errors.

Lines are streamed (never the whole file in memory). Invalid UTF-8 either stops with the file
and line number (``errors="strict"``, the default) or is replaced by U+FFFD (``errors="replace"``).
Binary files (NUL bytes) are refused.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "c.txt")
>>> _ = open(path, "w").write("one line\\ntwo\\n")
>>> list(iter_lines(path))
[(1, 'one line'), (2, 'two')]
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import TokvecError

ENCODING_ERRORS = ("strict", "replace")


def open_checked(path: str | os.PathLike[str], mode: str = "rb"):
    """Open ``path`` for reading, turning OS errors into one clear :class:`TokvecError`."""
    p = Path(path)
    try:
        if p.is_dir():
            raise TokvecError("is a directory, expected a file", path=p)
        return open(p, mode)
    except FileNotFoundError:
        raise TokvecError("no such file", path=p) from None
    except PermissionError:
        raise TokvecError("permission denied", path=p) from None
    except OSError as exc:
        raise TokvecError(f"cannot open: {exc.strerror or exc}", path=p) from None


def iter_lines(path: str | os.PathLike[str], errors: str = "strict",
               skip_blank: bool = False, progress: Any = None) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line of a UTF-8 file, newline stripped.

    ``progress`` (a tqdm bar counting bytes) is advanced as lines are read.
    """
    if errors not in ENCODING_ERRORS:
        raise TokvecError(f"encoding errors must be one of {ENCODING_ERRORS}, got {errors!r}")
    with open_checked(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if progress is not None:
                progress.update(len(raw))
            if b"\x00" in raw:
                raise TokvecError("binary data (NUL byte); expected UTF-8 text", path, number)
            try:
                text = raw.decode("utf-8", errors=errors)
            except UnicodeDecodeError as exc:
                raise TokvecError(
                    f"invalid UTF-8 at byte {exc.start} (use --encoding-errors replace to "
                    "substitute U+FFFD)", path, number) from None
            text = text.rstrip("\r\n")
            if skip_blank and not text.strip():
                continue
            yield number, text


def iter_line_batches(path: str | os.PathLike[str], batch_lines: int = 4096,
                      errors: str = "strict", progress: Any = None) -> Iterator[list[str]]:
    """Yield lists of up to ``batch_lines`` lines (blank lines dropped); for batched encoding."""
    batch: list[str] = []
    for _, text in iter_lines(path, errors=errors, skip_blank=True, progress=progress):
        batch.append(text)
        if len(batch) >= batch_lines:
            yield batch
            batch = []
    if batch:
        yield batch


def require_nonempty(path: str | os.PathLike[str]) -> None:
    """Refuse a missing or empty (or whitespace-only) input file with one clear error."""
    with open_checked(path) as handle:
        chunk = handle.read(1 << 16)
        while chunk:
            if chunk.strip():
                return
            chunk = handle.read(1 << 16)
    raise TokvecError("file is empty (no text to read)", path=path)


def byte_progress(paths: list[str] | list[Path], desc: str, enabled: bool = True) -> Any:
    """A tqdm bar over the total size of ``paths`` in bytes (rate and ETA included)."""
    from tqdm.auto import tqdm

    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += os.path.getsize(p)
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                disable=not enabled, leave=False, dynamic_ncols=True)
