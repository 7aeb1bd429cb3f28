"""Bilingual dictionaries: ``source TAB target`` per line, a word on as many lines as it has
translations.

Blank lines are skipped; any other line must have exactly two non-empty tab-separated fields,
or :func:`read_dictionary` stops with ``file:line: expected 2 tab-separated fields``. The same
files seed an alignment (``tokvec align --dictionary``) and score one (``tokvec evaluate --bli``).

>>> import numpy as np, os, tempfile
>>> from tokvec.vectors import StaticVectors
>>> path = os.path.join(tempfile.mkdtemp(), "es-en.tsv")
>>> _ = open(path, "w").write("perro\\tdog\\ngato\\tcat\\ngato\\tkitty\\nsol\\tsun\\n")
>>> pairs = read_dictionary(path)
>>> pairs[:2]
[('perro', 'dog'), ('gato', 'cat')]
>>> es = StaticVectors(["gato", "perro"], np.eye(2, dtype=np.float32))
>>> en = StaticVectors(["dog", "cat"], np.eye(2, dtype=np.float32))
>>> covered_pairs(pairs, es, en).tolist()     # (source row, target row) of pairs both know
[[1, 0], [0, 1]]
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import TokvecError
from ..textio import iter_lines
from ..vectors import StaticVectors


def read_dictionary(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``(source, target)`` pairs of a dictionary file, in file order (duplicates kept)."""
    pairs: list[tuple[str, str]] = []
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) != 2:
            raise TokvecError(f"expected 2 tab-separated fields (source, target), got "
                              f"{len(fields)}", path, number)
        if not all(fields):
            raise TokvecError("expected 2 tab-separated fields (source, target), one is empty",
                              path, number)
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise TokvecError("no word pairs found (expected source TAB target lines)", path=path)
    return pairs


def covered_pairs(pairs: list[tuple[str, str]], src: StaticVectors,
                  tgt: StaticVectors) -> np.ndarray:
    """``(n, 2)`` rows of the pairs whose words both spaces hold, duplicates dropped, in order.

    Words are looked up as the spaces' own queries are: as written, then normalised.
    """
    seen: set[tuple[int, int]] = set()
    out: list[tuple[int, int]] = []
    for s, t in pairs:
        i, j = src.row(s), tgt.row(t)
        if i is None or j is None or (i, j) in seen:
            continue
        seen.add((i, j))
        out.append((i, j))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def gold_sets(pairs: list[tuple[str, str]], src: StaticVectors,
              tgt: StaticVectors) -> tuple[dict[int, set[int]], int]:
    """Source row -> the target rows of its translations, and the number of source words left
    out (missing from ``src``, or with every translation missing from ``tgt``).

    Spellings that normalise to the same source row count as one word.
    """
    gold: dict[int, set[int]] = {}
    missing: set[str] = set()
    for s, t in pairs:
        i = src.row(s)
        if i is None:
            missing.add(src.normalized(s))
            continue
        j = tgt.row(t)
        entry = gold.setdefault(i, set())
        if j is not None:
            entry.add(j)
    no_translation = [i for i, rows in gold.items() if not rows]
    for i in no_translation:
        del gold[i]
    return gold, len(missing) + len(no_translation)
