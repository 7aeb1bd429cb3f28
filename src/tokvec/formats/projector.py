"""The TSV pair of the TensorFlow Embedding Projector: ``vectors.tsv`` and ``metadata.tsv``.

``vectors.tsv`` holds one vector per line, values separated by tabs, no words. ``metadata.tsv``
holds the word of each line: one word per line and no header when there is a single column (as
tokvec writes it); with several tab-separated columns the first line is a header and the word is
the first column (the projector's convention).

Where the files go (for reading and writing alike):

* ``path`` ending in ``.tsv`` is the vectors file; the words are ``metadata.tsv`` beside it;
* any other ``path`` is a directory holding ``vectors.tsv`` and ``metadata.tsv`` (created when
  writing; other files in it are left alone).

Both files are written atomically, each under a temporary name renamed into place.

>>> import numpy as np, tempfile, os
>>> d = os.path.join(tempfile.mkdtemp(), "proj")
>>> write_projector(d, ["cat", "hot dog"], np.array([[1, 0.5], [0, -2]], np.float32))
>>> sorted(os.listdir(d)), open(os.path.join(d, "vectors.tsv")).read()
(['metadata.tsv', 'vectors.tsv'], '1\\t0.5\\n0\\t-2\\n')
>>> rows = read_projector(d, limit=None)
>>> rows.words, rows.matrix.tolist()
([b'cat', b'hot dog'], [[1.0, 0.5], [0.0, -2.0]])
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from ..errors import TokvecError
from .kernels import format_block
from .source import Rows, Source, check_writable, open_output, row_progress
from .text import NumericRows

VECTORS, METADATA = "vectors.tsv", "metadata.tsv"
WRITE_BLOCK_ROWS = 8192


def projector_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(vectors file, metadata file)`` for ``path`` (see the module docstring)."""
    p = Path(path)
    if p.name.endswith(".tsv") and not p.is_dir():
        if p.name == METADATA:
            raise TokvecError(f"give the vectors file, not {METADATA}", path=p)
        return p, p.with_name(METADATA)
    return p / VECTORS, p / METADATA


def _read_metadata(path: Path, limit: int | None, progress: bool) -> tuple[list[bytes], int]:
    """Words of ``metadata.tsv`` and the line number of the first word."""
    chunks = []
    with Source(path, progress, "reading") as source:
        while data := source.read():
            chunks.append(data)
    lines = b"".join(chunks).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    lines = [line.rstrip(b"\r") for line in lines]
    first_line = 1
    if lines and b"\t" in lines[0]:  # several columns: a header line, words in column one
        lines = [line.split(b"\t", 1)[0] for line in lines[1:]]
        first_line = 2
    if limit is not None:
        lines = lines[:limit]
    for i, word in enumerate(lines):
        if not word:
            raise TokvecError("empty word", path=path, line=first_line + i)
    return lines, first_line


def read_projector(path: str | os.PathLike[str], limit: int | None,
                   progress: bool = False) -> Rows:
    """Read the TSV pair; positions are line numbers of ``metadata.tsv``."""
    vectors_path, metadata_path = projector_paths(path)
    if not vectors_path.is_file():
        raise TokvecError(f"no {vectors_path.name} here", path=vectors_path.parent)
    if not metadata_path.is_file():
        raise TokvecError(f"projector vectors need their words in {METADATA} beside them",
                          path=metadata_path)
    reader = NumericRows(vectors_path, None, False, limit)
    with Source(vectors_path, progress) as source:
        for line, block in source.line_blocks(1):
            if reader.feed(line, block):
                break
    numbers = reader.rows()
    if numbers.matrix.shape[0] == 0:
        raise TokvecError("file is empty", path=vectors_path)
    lines = numbers.positions
    gaps = np.flatnonzero(lines != np.arange(1, len(lines) + 1))
    if gaps.size:
        raise TokvecError(f"blank line: rows of {VECTORS} pair with lines of {METADATA}",
                          path=vectors_path, line=int(gaps[0]) + 1)
    words, first_line = _read_metadata(metadata_path, limit, progress)
    if len(words) != len(lines):
        raise TokvecError(f"{metadata_path.name} has {len(words)} words but {vectors_path.name} "
                          f"has {len(lines)} vectors; the files must pair line by line",
                          path=metadata_path)
    return Rows(words, numbers.matrix, np.arange(first_line, first_line + len(words)), "line")


def write_projector(path: str | os.PathLike[str], words: list[str], matrix: np.ndarray,
                    progress: bool = False) -> None:
    """Write ``vectors.tsv`` and ``metadata.tsv`` (single column, no header)."""
    encoded = check_writable(words, matrix, forbidden=b"\t\n\r",
                             what="a tab or line break", fmt="tsv")
    matrix = np.asarray(matrix, dtype=np.float32)
    vectors_path, metadata_path = projector_paths(path)
    with contextlib.ExitStack() as stack:
        vectors_out = stack.enter_context(open_output(vectors_path))
        metadata_out = stack.enter_context(open_output(metadata_path))
        bar = stack.enter_context(row_progress(len(words), "writing tsv", progress))
        for start in range(0, len(words), WRITE_BLOCK_ROWS):
            stop = min(len(words), start + WRITE_BLOCK_ROWS)
            vectors_out.write(format_block(matrix[start:stop], b"\t"))
            bar.update(stop - start)
        metadata_out.write(b"\n".join(encoded) + b"\n")
