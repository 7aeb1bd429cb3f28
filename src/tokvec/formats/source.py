"""What every vector format shares: opening files (plain, gzip, bzip2 or xz), reading them in
blocks of whole lines, decoding words, the duplicate policy, checking words before writing,
atomic output.

Read positions are reported the way a user finds them again: ``path:LINE`` for text formats and
``path: row N`` for word2vec binary files, which have no lines.

>>> import numpy as np
>>> rows = Rows([b"cat", b"dog", b"cat"], np.eye(3, dtype=np.float32), np.array([2, 3, 4]))
>>> rows.finish(Path("v.txt"), "strict", "error")  # doctest: +ELLIPSIS
Traceback (most recent call last):
  ...
tokvec.errors.TokvecError: v.txt:4: duplicate word 'cat' (first on line 2); use ...
"""

from __future__ import annotations

import contextlib
import gzip
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..atomic import atomic_file
from ..errors import TokvecError
from ..textio import ENCODING_ERRORS, DecompressedStream, ReadError, byte_progress, open_checked

CHUNK_BYTES = 1 << 24
"""Bytes read at a time (16 MiB): large enough to amortise per-block work, small in memory."""
DUPLICATES = ("error", "first")
_SPACES = b" \t\n\r\x0b\x0c"


class Source:
    """A vector file opened for reading through :func:`tokvec.textio.open_checked` (gzip, bzip2
    and xz are recognised by their magic bytes and decompressed as read), with a byte progress
    bar that follows the file on disk."""

    def __init__(self, path: str | os.PathLike[str], progress: bool = False,
                 desc: str = "reading") -> None:
        self.path = Path(path)
        self._bar: Any = byte_progress([self.path], f"{desc} {self.path.name}", progress)
        try:
            self._stream: IO[bytes] = open_checked(self.path, progress=self._bar)
        except BaseException:
            self._bar.close()
            raise
        self.compressed = isinstance(self._stream, DecompressedStream)

    @property
    def size(self) -> int:
        """Bytes on disk (the compressed size for a compressed file)."""
        return os.fstat(self._stream.fileno()).st_size

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._bar.close()
        self._stream.close()

    def read(self, size: int = CHUNK_BYTES) -> bytes:
        """Up to ``size`` bytes (fewer only at the end, or just before a read failure)."""
        try:
            return self._stream.read(size)
        except OSError as exc:
            raise TokvecError(f"cannot read: {exc.strerror or exc}", path=self.path) from None

    def readline(self, limit: int = 1 << 20) -> bytes:
        try:
            return self._stream.readline(limit)
        except ReadError as exc:
            raise exc.at(1) from None
        except OSError as exc:
            raise TokvecError(f"cannot read: {exc.strerror or exc}", path=self.path) from None

    def line_blocks(self, first_line: int) -> Iterator[tuple[int, bytes]]:
        """Yield ``(number of the block's first line, block)``; blocks hold whole lines."""
        rest = b""
        line = first_line
        while True:
            try:
                data = self.read()
            except ReadError as exc:  # a damaged compressed file: the line it reached
                raise exc.at(line) from None
            if not data:
                if rest:
                    yield line, rest
                return
            data = rest + data if rest else data
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            block, rest = data[:cut + 1], data[cut + 1:]
            yield line, block
            line += block.count(b"\n")


class MatrixBuilder:
    """A float32 matrix filled block by block: preallocated to an estimate, grown by doubling.

    Nothing is allocated before the first row arrives, so a header announcing an absurd DIM
    costs no memory until a row of that width has actually been read.

    >>> b = MatrixBuilder(dim=2, capacity=1)
    >>> b.append(np.ones((3, 2), np.float32)); b.result().shape
    (3, 2)
    """

    def __init__(self, dim: int, capacity: int) -> None:
        self._dim, self._capacity = dim, max(1, capacity)
        self._matrix = np.empty((0, dim), np.float32)  # no memory, whatever the DIM
        self.count = 0

    def append(self, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        if self._capacity:
            self._matrix = np.empty((max(self._capacity, len(rows)), self._dim), np.float32)
            self._capacity = 0
        stop = self.count + len(rows)
        if stop > len(self._matrix):
            grown = np.empty((max(stop, 2 * len(self._matrix)), self._matrix.shape[1]),
                             np.float32)
            grown[:self.count] = self._matrix[:self.count]
            self._matrix = grown
        self._matrix[self.count:stop] = rows
        self.count = stop

    def result(self) -> np.ndarray:
        """The rows so far (copied when the spare capacity would waste over an eighth)."""
        used = self._matrix[:self.count]
        return used.copy() if len(self._matrix) - self.count > self.count // 8 else used


def show(raw: bytes, width: int = 40) -> str:
    """A short printable rendering of file bytes for error messages."""
    text = raw.decode("utf-8", errors="replace")
    return repr(text if len(text) <= width else text[:width] + "...")


def check_read_options(limit: int | None, encoding_errors: str, duplicates: str) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise TokvecError(f"limit must be a positive integer, got {limit!r}")
    if encoding_errors not in ENCODING_ERRORS:
        raise TokvecError(f"encoding_errors must be one of {ENCODING_ERRORS}, "
                          f"got {encoding_errors!r}")
    if duplicates not in DUPLICATES:
        raise TokvecError(f"duplicates must be one of {DUPLICATES}, got {duplicates!r}")


@dataclass
class Rows:
    """Words (still bytes) and vectors as read, with where each row came from.

    ``positions`` are line numbers (``unit="line"``) or 1-based row numbers (``unit="row"``).
    """

    words: list[bytes]
    matrix: np.ndarray
    positions: np.ndarray
    unit: str = "line"

    def error(self, path: Path, index: int, message: str) -> TokvecError:
        """An error about row ``index``, located by line or by row number."""
        where = int(self.positions[index])
        if self.unit == "line":
            return TokvecError(message, path=path, line=where)
        return TokvecError(f"row {where}: {message}", path=path)

    def finish(self, path: Path, encoding_errors: str, duplicates: str
               ) -> tuple[list[str], np.ndarray]:
        """Decode the words and apply the duplicate policy."""
        if not self.words:
            raise TokvecError("no vectors in the file", path=path)
        words = self._decode(path, encoding_errors)
        if len(set(words)) == len(words):
            return words, self.matrix
        first_seen: dict[str, int] = {}
        keep = np.ones(len(words), dtype=bool)
        for i, word in enumerate(words):
            earlier = first_seen.setdefault(word, i)
            if earlier == i:
                continue
            where = f"{self.unit} {int(self.positions[earlier])}"
            if duplicates == "error":
                raise self.error(path, i, f"duplicate word {word!r} (first on {where}); "
                                          "use duplicates='first' (--duplicates first) to keep "
                                          "the first and drop the rest")
            keep[i] = False
        dropped = np.flatnonzero(~keep)
        first = dropped[0]
        warnings.warn(f"{path}: dropped {dropped.size} duplicate word(s), keeping each first "
                      f"occurrence; first: {words[first]!r} on {self.unit} "
                      f"{int(self.positions[first])}", UserWarning, stacklevel=3)
        return [w for w, k in zip(words, keep, strict=True) if k], self.matrix[keep]

    def _decode(self, path: Path, errors: str) -> list[str]:
        try:  # all at once, the fast way
            words = b"\n".join(self.words).decode("utf-8", errors=errors).split("\n")
            if len(words) == len(self.words):  # else a word held a newline
                return words
        except UnicodeDecodeError:
            pass
        decoded = []
        for i, raw in enumerate(self.words):
            try:
                decoded.append(raw.decode("utf-8", errors=errors))
            except UnicodeDecodeError as exc:
                raise self.error(path, i, f"invalid UTF-8 in the word at byte {exc.start} "
                                          f"({show(raw)}); use encoding_errors='replace' "
                                          "(--encoding-errors replace) to substitute U+FFFD"
                                 ) from None
        return decoded


def check_writable(words: list[str], matrix: np.ndarray, forbidden: bytes = _SPACES,
                   what: str = "whitespace", fmt: str = "") -> list[bytes]:
    """Validate words and matrix for writing; return the words as UTF-8 bytes."""
    if matrix.ndim != 2 or matrix.shape[1] < 1:
        raise TokvecError(f"expected a 2-D matrix with at least one column, got shape "
                          f"{matrix.shape}")
    if len(words) != matrix.shape[0]:
        raise TokvecError(f"{len(words)} words but {matrix.shape[0]} matrix rows")
    if not words:
        raise TokvecError("no vectors to write")
    if len(set(words)) != len(words):
        seen: set[str] = set()
        for duplicate in words:
            if duplicate in seen:
                break
            seen.add(duplicate)
        raise TokvecError(f"duplicate word {duplicate!r}; a vector file maps each word once")
    encoded = []
    for i, word in enumerate(words):
        if not isinstance(word, str) or not word:
            raise TokvecError(f"word {i + 1} is empty or not a string: {word!r}")
        try:
            raw = word.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TokvecError(f"word {i + 1} ({word!r}) cannot be written as UTF-8: "
                              f"{exc.reason}") from None
        if any(c in raw for c in forbidden):
            raise TokvecError(f"word {i + 1} ({word!r}) contains {what}, which the {fmt} "
                              "format cannot represent")
        encoded.append(raw)
    return encoded


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Write to ``path`` atomically; a name ending in ``.gz`` is gzip-compressed."""
    if Path(path).is_dir():
        raise TokvecError("is a directory, expected a file name", path=path)
    with atomic_file(path, "wb") as raw:
        if os.fspath(path).endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0) as packed:
                yield packed
        else:
            yield raw


def row_progress(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar counting vectors written (rate and ETA on stderr)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="vec", unit_scale=True, disable=not enabled,
                leave=False, dynamic_ncols=True)
