"""word2vec text, GloVe and fastText ``.vec``: one word and its values per line.

=============  ================================================================================
``word2vec``   header ``COUNT DIM``, then ``word v1 ... vDIM`` per line (word2vec.c ``-binary 0``,
               gensim ``save_word2vec_format(binary=False)``)
``fasttext``   the same layout; fastText ends each line with a space before the newline
``glove``      no header; DIM is the number of values on the first line
=============  ================================================================================

Reading: fields are separated by runs of ASCII whitespace, so a word may hold any other character
(fastText words can contain a no-break space). Blank lines are skipped. A line with more fields
than expected whose surplus leading fields are not numbers is read as one word containing spaces
(GloVe 840B has a few, such as ``. . .``). A value is anything Python's ``float()`` accepts that
fits a float32. Numbers are parsed by compiled code on 16 MiB blocks
(:mod:`tokvec.formats.kernels`).

Writing prints each value with the fewest digits that read back as the same float32, so a text
round trip is exact, bit for bit.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "v.txt")
>>> write_text(path, ["cat", "dog"], np.array([[0.5, -1], [0.25, 3e-7]], np.float32), "word2vec")
>>> print(open(path).read(), end="")
2 2
cat 0.5 -1
dog 0.25 3e-07
>>> rows = read_text(path, "word2vec", limit=None)
>>> rows.words, rows.matrix.tolist(), rows.positions.tolist()
([b'cat', b'dog'], [[0.5, -1.0], [0.25, 3.000000106112566e-07]], [2, 3])
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..errors import TokvecError
from .kernels import LINE_BLANK, LINE_SLOW, format_block, parse_block
from .source import (
    MatrixBuilder,
    Rows,
    Source,
    check_writable,
    open_output,
    row_progress,
    show,
)

HEADER_FORMATS = ("word2vec", "fasttext")
TEXT_FORMATS = ("word2vec", "glove", "fasttext")
WRITE_BLOCK_ROWS = 8192
MAX_HEADER_NUMBER = (1 << 40) - 1
"""Largest COUNT or DIM a header may give (about 10^12): byte sizes stay far within 64 bits."""
MAX_BLOCK_VALUES = 1 << 23
"""Values parsed at a time (32 MiB of float32): a 16 MiB block of valid rows stays under it."""


def parse_header(line: bytes, path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(count, dim)`` from a ``COUNT DIM`` header line (line 1)."""
    fields = line.split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields) or int(fields[1]) < 1:
        raise TokvecError(f"malformed header: expected 'COUNT DIM' (two integers, DIM >= 1), "
                          f"got {show(line.strip())}", path, 1)
    count, dim = int(fields[0]), int(fields[1])
    if count > MAX_HEADER_NUMBER or dim > MAX_HEADER_NUMBER:
        raise TokvecError(f"malformed header: {show(line.strip())} announces more than "
                          f"{MAX_HEADER_NUMBER} vectors or values per vector", path, 1)
    return count, dim


def _is_number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def parse_line_slowly(raw: bytes, dim: int, has_word: bool, path: str | os.PathLike[str],
                      line: int) -> tuple[bytes, np.ndarray]:
    """Parse one line in Python: the fallback for odd numbers, and the source of exact errors."""
    fields = raw.split()
    word, values = (fields[0], fields[1:]) if has_word else (b"", fields)
    surplus = len(values) - dim
    if surplus > 0 and has_word and not any(_is_number(f) for f in values[:surplus]):
        word, values = b" ".join(fields[:surplus + 1]), values[surplus:]
    elif surplus != 0:
        after = "after the word" if has_word else "on the line"
        raise TokvecError(f"expected {dim} values {after}, got {len(values)}", path, line)
    row = np.empty(dim, np.float32)
    for j, token in enumerate(values):
        try:
            value = float(token)
        except ValueError:
            raise TokvecError(f"value {j + 1} is not a number: {show(token)}", path,
                              line) from None
        with np.errstate(over="ignore"):
            row[j] = value
        if np.isinf(row[j]) and not math.isinf(value):
            raise TokvecError(f"value {j + 1} ({show(token)}) is out of float32 range", path,
                              line)
    return word, row


def _first_dim(block: bytes, has_word: bool, path: str | os.PathLike[str],
               first_line: int) -> int | None:
    """The number of values on the block's first non-blank line (None if all are blank)."""
    pos, line = 0, first_line
    while pos < len(block):
        end = block.find(b"\n", pos)
        end = len(block) if end < 0 else end
        fields = block[pos:end].split()
        if fields:
            dim = len(fields) - 1 if has_word else len(fields)
            if dim < 1:
                raise TokvecError("no values after the word", path, line)
            return dim
        pos, line = end + 1, line + 1
    return None


class NumericRows:
    """Accumulates rows parsed from blocks of lines (with or without a leading word).

    ``capacity`` preallocates the matrix; without it the first block's bytes per line and
    ``size_hint`` (the file's size, when known) estimate it.
    """

    def __init__(self, path: str | os.PathLike[str], dim: int | None, has_word: bool,
                 limit: int | None = None, capacity: int | None = None,
                 size_hint: int | None = None) -> None:
        self.path, self.dim, self.has_word, self.limit = path, dim, has_word, limit
        self.capacity, self.size_hint = capacity, size_hint
        self.words: list[bytes] = []
        self.positions: list[np.ndarray] = []
        self.full = False
        self._matrix: MatrixBuilder | None = None

    @property
    def count(self) -> int:
        return 0 if self._matrix is None else self._matrix.count

    def _start(self, dim: int, block: bytes, lines: int) -> MatrixBuilder:
        capacity = self.capacity
        if capacity is None:
            capacity = 2 * lines
            if self.size_hint is not None:
                capacity = int(self.size_hint / max(1, len(block)) * lines * 1.02) + 16
            # a row of DIM values takes at least 2 * DIM - 1 bytes: blank lines hold no rows
            capacity = min(capacity, (self.size_hint or len(block)) // (2 * dim - 1) + 16)
        if self.limit is not None:
            capacity = min(capacity, self.limit)
        return MatrixBuilder(dim, capacity)

    def feed(self, first_line: int, block: bytes) -> bool:
        """Parse one block of whole lines; True once ``limit`` rows have been read."""
        if self.dim is None:
            self.dim = _first_dim(block, self.has_word, self.path, first_line)
            if self.dim is None:
                return False
        dim = self.dim
        if 2 * dim - 1 > len(block):
            # No line of the block can hold DIM values (a header may announce any DIM): name
            # the first non-blank line's error rather than allocate DIM columns per line.
            self._refuse_short_lines(first_line, block)
            return False
        lines = block.count(b"\n") + 1
        if lines > 1 and lines * dim > MAX_BLOCK_VALUES:
            # Many more lines than rows could fit (blank lines, say): parse in pieces so the
            # per-line value buffer stays bounded.
            ends = np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n"))
            step = max(1, MAX_BLOCK_VALUES // dim)
            start = 0
            for cut in ends[step - 1::step].tolist():
                if self._feed_block(first_line, block[start:cut + 1]):
                    return True
                first_line += step
                start = cut + 1
            return self._feed_block(first_line, block[start:]) if start < len(block) else False
        return self._feed_block(first_line, block)

    def _refuse_short_lines(self, first_line: int, block: bytes) -> None:
        assert self.dim is not None
        for i, raw in enumerate(block.split(b"\n")):
            if raw.split():
                parse_line_slowly(raw, self.dim, self.has_word, self.path, first_line + i)
                raise TokvecError(f"expected {self.dim} values, the line is too short",
                                  self.path, first_line + i)  # not reached: the parse raises

    def _feed_block(self, first_line: int, block: bytes) -> bool:
        assert self.dim is not None
        dim = self.dim
        values = np.empty((block.count(b"\n") + 1, dim), np.float32)
        status, word_start, word_end, line_start = parse_block(
            np.frombuffer(block, np.uint8), dim, self.has_word, values)
        if self._matrix is None:
            self._matrix = self._start(dim, block, len(status))
        keep = np.flatnonzero(status != LINE_BLANK)
        if self.limit is not None and self.count + keep.size >= self.limit:
            keep = keep[:self.limit - self.count]  # lines past the limit are never looked at
            self.full = True
        words = ([block[s:e] for s, e in zip(word_start.tolist(), word_end.tolist(),
                                              strict=True)] if self.has_word else [])
        for i in keep[status[keep] >= LINE_SLOW].tolist():
            start = int(line_start[i])
            end = block.find(b"\n", start)
            raw = block[start:] if end < 0 else block[start:end]
            word, values[i] = parse_line_slowly(raw, dim, self.has_word, self.path,
                                                first_line + i)
            if self.has_word:
                words[i] = word
        self._matrix.append(values[keep] if keep.size < len(status) else values[:len(status)])
        if self.has_word:
            self.words.extend(words if keep.size == len(words) else
                              [words[i] for i in keep.tolist()])
        self.positions.append(first_line + keep)
        return self.full

    def rows(self) -> Rows:
        matrix = (self._matrix.result() if self._matrix is not None
                  else np.empty((0, self.dim or 0), np.float32))
        positions = (np.concatenate(self.positions) if self.positions
                     else np.empty(0, np.int64))
        return Rows(self.words, matrix, positions, "line")


def read_text(path: str | os.PathLike[str], fmt: str, limit: int | None,
              progress: bool = False) -> Rows:
    """Read a word2vec text, fastText ``.vec`` or GloVe file (words still undecoded bytes)."""
    with Source(path, progress) as source:
        announced, dim, first_line = None, None, 1
        if fmt in HEADER_FORMATS:
            header = source.readline()
            if not header:
                raise TokvecError("file is empty", path=path)
            announced, dim = parse_header(header, path)
            first_line = 2
        capacity = None
        if announced is not None and dim is not None:  # trust the header up to the file size
            bound = source.size // (2 * dim) + 1
            capacity = min(announced, bound if not source.compressed else 8 * bound)
        reader = NumericRows(path, dim, True, limit, capacity,
                             None if source.compressed else source.size)
        saw_data = False
        for line, block in source.line_blocks(first_line):
            saw_data = True
            if reader.feed(line, block):
                break
    if reader.dim is None:
        raise TokvecError("no vectors in the file (only blank lines)" if saw_data else
                          "file is empty", path=path)
    rows = reader.rows()
    if announced is not None and not reader.full:
        found = len(rows.words)
        if found > announced:
            raise rows.error(path, announced, f"the header announces {announced} vectors but "
                                              "the file has more (this is the first extra)")
        if found < announced:
            raise TokvecError(f"the header announces {announced} vectors but the file has "
                              f"{found}", path=path)
    return rows


def write_text(path: str | os.PathLike[str], words: list[str], matrix: np.ndarray, fmt: str,
               progress: bool = False) -> None:
    """Write ``word2vec`` / ``fasttext`` (with header) or ``glove`` (without) text, atomically."""
    encoded = check_writable(words, matrix, fmt=fmt)
    matrix = np.asarray(matrix, dtype=np.float32)
    rows, dim = matrix.shape
    with open_output(path) as out, row_progress(rows, f"writing {fmt}", progress) as bar:
        if fmt in HEADER_FORMATS:
            out.write(f"{rows} {dim}\n".encode())
        for start in range(0, rows, WRITE_BLOCK_ROWS):
            stop = min(rows, start + WRITE_BLOCK_ROWS)
            out.write(format_block(matrix[start:stop], b" ", encoded[start:stop],
                                   trailing_space=fmt == "fasttext"))
            bar.update(stop - start)
