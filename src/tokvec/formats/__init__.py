"""Import and export the vector files people already have.

=================  =================================================================  ==========
``fmt``            layout                                                             written by
=================  =================================================================  ==========
``word2vec``       header ``COUNT DIM``, then ``word v1 ... vDIM`` per line           word2vec.c,
                                                                                      gensim
``word2vec-bin``   header line, then word, space, DIM little-endian float32 (and an   word2vec.c,
                   optional newline) per row                                          gensim
``glove``          ``word v1 ... vDIM`` per line, no header                           GloVe
``fasttext``       ``.vec``: word2vec text with a space before each newline           fastText
``tsv``            ``vectors.tsv`` (tab-separated values) + ``metadata.tsv`` (one     Embedding
                   word per line); ``path`` is ``vectors.tsv`` or their directory     Projector
=================  =================================================================  ==========

``fmt="auto"`` (reading only) looks at the file's first bytes: see :mod:`.detect`. Any file may be
gzip-, bzip2- or xz-compressed when reading (recognised by content, decompressed as it is read);
a name ending in ``.gz`` is gzip-compressed when writing.

**Exactness.** Binary round trips are exact. Text is written with the fewest digits that read
back as the same float32, so text round trips are exact too (bit for bit, ``-0.0`` included).

**Bad input** raises :class:`~tokvec.errors.TokvecError` naming the file and the line (text) or
row (binary): a malformed header, a wrong number of values, a value that is not a number, a
truncated binary row, a header count that does not match the rows, a duplicate word, invalid
UTF-8 in a word, an empty file, ``vectors.tsv`` and ``metadata.tsv`` of different lengths.

**Duplicates.** ``duplicates="error"`` (the default) stops at the second occurrence of a word,
naming both lines; ``duplicates="first"`` keeps the first occurrence, as gensim does, and emits
one :class:`UserWarning` saying how many rows were dropped (needed with
``encoding_errors="replace"``, where different invalid bytes can decode to the same word).

**Invalid UTF-8 in words** (the Google News vectors have some, cut mid-character by word2vec.c):
``encoding_errors="strict"`` stops with the line, ``"replace"`` substitutes U+FFFD.

>>> import numpy as np, tempfile, os
>>> d = tempfile.mkdtemp()
>>> matrix = np.array([[0.1, 0.2], [0.3, -0.4]], dtype=np.float32)
>>> write_vectors(os.path.join(d, "v.bin"), ["cat", "dog"], matrix, "word2vec-bin")
>>> words, back = read_vectors(os.path.join(d, "v.bin"))
>>> words, bool((back == matrix).all())
(['cat', 'dog'], True)
>>> model = import_vectors(os.path.join(d, "v.bin"))
>>> model.vectors.words, model.d_model
(['cat', 'dog'], 2)
>>> export_model(model, os.path.join(d, "v.txt"), "glove")
>>> print(open(os.path.join(d, "v.txt")).read(), end="")
cat 0.1 0.2
dog 0.3 -0.4
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TokvecError
from .binary import read_binary, write_binary
from .detect import detect_format
from .projector import read_projector, write_projector
from .source import Rows, check_read_options
from .text import TEXT_FORMATS, read_text, write_text

if TYPE_CHECKING:
    from ..static_model import StaticModel
    from ..vectors import StaticVectors

FORMATS = ("word2vec", "word2vec-bin", "glove", "fasttext", "tsv")

__all__ = ["FORMATS", "detect_format", "export_model", "export_vectors", "import_vectors",
           "read_vectors", "write_vectors"]


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise TokvecError(f"unknown vector format {fmt!r}; choose one of {', '.join(allowed)}")


def read_vectors(path: str | os.PathLike[str], fmt: str = "auto", limit: int | None = None,
                 encoding_errors: str = "strict", *, duplicates: str = "error",
                 progress: bool = False) -> tuple[list[str], np.ndarray]:
    """Words (file order) and their float32 matrix from a vector file.

    ``limit`` keeps the first N rows of the file (before duplicates are dropped). ``progress``
    shows a tqdm bar over the file's bytes on stderr.
    """
    _check_format(fmt, ("auto", *FORMATS))
    check_read_options(limit, encoding_errors, duplicates)
    if fmt == "auto":
        fmt = detect_format(path)
    rows: Rows
    if fmt in TEXT_FORMATS:
        rows = read_text(path, fmt, limit, progress)
    elif fmt == "word2vec-bin":
        rows = read_binary(path, limit, progress)
    else:
        rows = read_projector(path, limit, progress)
    return rows.finish(Path(path), encoding_errors, duplicates)


def write_vectors(path: str | os.PathLike[str], words: list[str], matrix: np.ndarray,
                  fmt: str, *, progress: bool = False) -> None:
    """Write ``words`` and their rows of ``matrix`` in ``fmt``, atomically.

    Words must be unique, non-empty and free of whitespace (tabs and line breaks for ``tsv``,
    where spaces are fine), or the file could not be read back as written.
    """
    _check_format(fmt, FORMATS)
    words = list(words)
    matrix = np.asarray(matrix)
    if not (np.issubdtype(matrix.dtype, np.floating) or np.issubdtype(matrix.dtype, np.integer)):
        raise TokvecError(f"expected a numeric matrix, got dtype {matrix.dtype}")
    if fmt in TEXT_FORMATS:
        write_text(path, words, matrix, fmt, progress)
    elif fmt == "word2vec-bin":
        write_binary(path, words, matrix, progress)
    else:
        write_projector(path, words, matrix, progress)


def import_vectors(path: str | os.PathLike[str], fmt: str = "auto", tokenizer_kind: str = "word",
                   lowercase: bool = False, limit: int | None = None,
                   encoding_errors: str = "strict", *, duplicates: str = "error",
                   progress: bool = False) -> StaticModel:
    """A :class:`~tokvec.static_model.StaticModel` from a vector file; file order is id order.

    Word order matters: a file sorted by frequency (as word2vec, GloVe and fastText write them)
    keeps that order, so "the first 30k words" still means the most frequent ones. With
    ``lowercase=True`` the tokenizer lowercases its input, so words with capitals in the file
    stay queryable by name but are never produced when tokenizing text.
    """
    from ..static_model import StaticModel

    _check_format(fmt, ("auto", *FORMATS))
    if fmt == "auto":
        fmt = detect_format(path)
    words, matrix = read_vectors(path, fmt, limit, encoding_errors, duplicates=duplicates,
                                 progress=progress)
    source = {"path": os.fspath(path), "format": fmt, "rows": len(words)}
    return StaticModel.from_vectors(words, matrix, tokenizer_kind=tokenizer_kind,
                                    lowercase=lowercase, source=source)


def export_vectors(vectors: StaticVectors, path: str | os.PathLike[str], fmt: str, *,
                   progress: bool = False) -> None:
    """Write the words and rows of a :class:`~tokvec.vectors.StaticVectors`, in its order."""
    write_vectors(path, vectors.words, vectors.vectors, fmt, progress=progress)


def export_model(model: StaticModel, path: str | os.PathLike[str], fmt: str, *,
                 progress: bool = False) -> None:
    """Write a static model's ordinary words (special tokens left out) in id order."""
    export_vectors(model.vectors, path, fmt, progress=progress)
