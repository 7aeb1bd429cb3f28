"""word2vec binary: header ``COUNT DIM\\n``, then per row the word, a space, DIM little-endian
float32 and (as word2vec.c writes, gensim does not) a newline.

Reading follows gensim's rules: a word runs up to the first space and loses any newlines before it,
so files with and without the newline both load. Rows are split off 16 MiB blocks by a compiled
scan (:func:`tokvec.formats.kernels.scan_binary`). Errors name the row (``path: row 7: ...``):
a binary file has no lines.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "v.bin")
>>> write_binary(path, ["cat", "dog"], np.array([[0.1, 2], [3, 4]], np.float32))
>>> open(path, "rb").read()[:12]
b'2 2\\ncat \\xcd\\xcc\\xcc='
>>> rows = read_binary(path, limit=None)
>>> rows.words, rows.matrix[0].tolist() == [np.float32(0.1), 2.0]
([b'cat', b'dog'], True)
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import TokvecError
from .kernels import scan_binary
from .source import (
    MatrixBuilder,
    Rows,
    Source,
    check_writable,
    open_output,
    row_progress,
    show,
)
from .text import parse_header

MAX_WORD_BYTES = 4096
"""A longer run of bytes without a space means this is not (or no longer) a word."""
WRITE_BLOCK_ROWS = 8192


def read_binary(path: str | os.PathLike[str], limit: int | None,
                progress: bool = False) -> Rows:
    """Read a word2vec binary file (words still undecoded bytes); rows are numbered from 1."""
    with Source(path, progress) as source:
        header = source.readline()
        if not header:
            raise TokvecError("file is empty", path=path)
        announced, dim = parse_header(header, path)
        wanted = announced if limit is None else min(announced, limit)
        bound = source.size // (4 * dim + 2) + 1  # trust the header up to the file size
        matrix = MatrixBuilder(dim, min(wanted, 2 * bound if source.compressed else bound))
        words: list[bytes] = []
        pending = b""
        at_end = False
        while len(words) < wanted and not at_end:
            data = source.read()
            at_end = not data
            pending = pending + data if pending else data
            starts, ends, vectors, used, bad_word = scan_binary(
                np.frombuffer(pending, np.uint8), dim, wanted - len(words), MAX_WORD_BYTES)
            matrix.append(vectors)
            words.extend(pending[s:e] for s, e in zip(starts.tolist(), ends.tolist(),
                                                      strict=True))
            if bad_word:
                raise TokvecError(
                    f"row {len(words) + 1}: no space within {MAX_WORD_BYTES} bytes where a word "
                    f"should end; not a word2vec binary file, or the header's DIM ({dim}) is "
                    "wrong", path=path)
            pending = pending[used:]
        if len(words) < wanted:
            partial = pending.lstrip(b"\n")
            if partial:
                raise TokvecError(
                    f"row {len(words) + 1}: truncated: the file ends {len(partial)} bytes into "
                    f"the row (a row is the word, a space and {4 * dim} bytes of vector)",
                    path=path)
            raise TokvecError(f"the header announces {announced} vectors but the file ends "
                              f"after {len(words)}", path=path)
        if limit is None or limit >= announced:
            extra = (pending + source.read(1 << 16)).strip()
            if extra:
                raise TokvecError(f"the header announces {announced} vectors but data follows "
                                  f"row {announced}: {show(extra[:20])}", path=path)
    for i, word in enumerate(words):
        if not word:
            raise TokvecError(f"row {i + 1}: empty word (the row starts with a space)", path=path)
    return Rows(words, matrix.result(), np.arange(1, len(words) + 1), "row")


def write_binary(path: str | os.PathLike[str], words: list[str], matrix: np.ndarray,
                 progress: bool = False) -> None:
    """Write word2vec binary (word2vec.c layout, newline after each vector), atomically."""
    encoded = check_writable(words, matrix, fmt="word2vec-bin")
    data = np.ascontiguousarray(matrix, dtype="<f4")
    rows, dim = data.shape
    with open_output(path) as out, row_progress(rows, "writing word2vec-bin", progress) as bar:
        out.write(f"{rows} {dim}\n".encode())
        for start in range(0, rows, WRITE_BLOCK_ROWS):
            stop = min(rows, start + WRITE_BLOCK_ROWS)
            parts: list[bytes] = []
            for word, vector in zip(encoded[start:stop], data[start:stop], strict=True):
                parts += (word, b" ", vector.tobytes(), b"\n")
            out.write(b"".join(parts))
            bar.update(stop - start)
