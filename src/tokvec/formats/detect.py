"""Telling vector file formats apart by their first bytes.

Rules, in order:

1. a directory holding ``vectors.tsv``, or a file named ``*.tsv``: the projector pair (``tsv``);
2. a first line of two integers (``COUNT DIM``) is a header; then the ``4 * DIM`` bytes after the
   first word decide: text (``fasttext`` for a ``.vec`` name, else ``word2vec``) when they hold
   no control characters and the first row has a digit after its word, else ``word2vec-bin``
   (float32 bytes hold control characters with near certainty, except for very small DIM);
3. otherwise a text line of a word and numbers: ``glove``.

Compressed files (gzip, bzip2, xz: recognised by content) are looked into: the rules apply to
the decompressed bytes, and a ``.gz``, ``.bz2`` or ``.xz`` suffix is ignored for the names above.
A GloVe file whose first line happens to be two integers (a numeric word and a single value)
reads as a header: pass the format explicitly.

>>> import tempfile, os
>>> d = tempfile.mkdtemp()
>>> _ = open(os.path.join(d, "a.txt"), "w").write("2 3\\ncat 1 2 3\\ndog 4 5 6\\n")
>>> _ = open(os.path.join(d, "b.txt"), "w").write("cat 1 2 3\\ndog 4 5 6\\n")
>>> detect_format(os.path.join(d, "a.txt")), detect_format(os.path.join(d, "b.txt"))
('word2vec', 'glove')
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import TokvecError
from .projector import VECTORS
from .source import Source, show

_SAMPLE_BYTES = 1 << 16
_HEADER = re.compile(rb"\s*\d+\s+\d+\s*")
_CONTROL = frozenset([*range(32), 127]) - frozenset(b"\t\n\r\x0b\x0c")


_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")


def _base_name(path: Path) -> str:
    """The lower-cased name without a compression suffix: ``v.vec.xz`` -> ``v.vec``."""
    name = path.name.lower()
    for suffix in _COMPRESSED_SUFFIXES:
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of the vector file at ``path`` (one of :data:`tokvec.formats.FORMATS`)."""
    p = Path(path)
    if p.is_dir():
        if (p / VECTORS).is_file():
            return "tsv"
        raise TokvecError(f"a directory without {VECTORS}; expected a vector file", path=p)
    if _base_name(p).endswith(".tsv"):
        return "tsv"
    with Source(p) as source:
        sample = source.read(_SAMPLE_BYTES)
    if not sample:
        raise TokvecError("file is empty", path=p)
    newline = sample.find(b"\n")
    first = sample if newline < 0 else sample[:newline]
    if _HEADER.fullmatch(first):
        dim = int(first.split()[1])
        row = sample[len(first) + 1:].lstrip(b"\n")
        space = row.find(b" ")
        window = row[space + 1:space + 1 + 4 * dim] if space >= 0 else b""
        first_values = window.split(b"\n")[0]
        if not row or (any(48 <= byte <= 57 for byte in first_values)
                       and not any(byte in _CONTROL for byte in window)):
            return "fasttext" if _base_name(p).endswith(".vec") else "word2vec"
        return "word2vec-bin"
    if (newline < 0 and len(sample) == _SAMPLE_BYTES) or any(b in _CONTROL for b in first):
        raise TokvecError(f"not a vector file this can recognise (first bytes {show(first[:16])});"
                          " name the format (--format)", path=p)
    return "glove"
