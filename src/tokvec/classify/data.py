"""Labelled and unlabelled text files for classification, read with clear errors.

A labelled file is UTF-8 TSV, one example per line: ``label<TAB>text``. The label is any string
without a tab; the text is everything after the first tab (further tabs stay in the text).
Blank lines are skipped. Problems stop with ``file:line`` and what is wrong:

- a line without a tab, an empty label or an empty text;
- a file with no examples at all (empty, or blank lines only).

An unlabelled file has one text per line; every line (blank ones too) gets a prediction, so the
output lines up with the input.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "train.tsv")
>>> _ = open(path, "w").write("pos\\tgreat fun\\n\\nneg\\tdull\\n")
>>> data = read_labelled(path)
>>> data.labels, data.texts, data.lines
(['pos', 'neg'], ['great fun', 'dull'], [1, 3])
>>> LabelMap.from_labels(data.labels).labels
['neg', 'pos']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TokvecError
from ..textio import iter_lines


@dataclass
class LabelledData:
    """Texts with their gold labels and the line each came from."""

    path: str
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


def read_labelled(path: str | os.PathLike[str], errors: str = "strict") -> LabelledData:
    """Read ``label<TAB>text`` lines; raise :class:`TokvecError` naming file:line on bad ones."""
    data = LabelledData(os.fspath(path))
    for number, line in iter_lines(path, errors=errors):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        if not tab:
            raise TokvecError("expected 'label<TAB>text', found no tab (a line without a "
                              "label?)", path, number)
        label = label.strip()
        if not label:
            raise TokvecError("empty label before the tab", path, number)
        if not text.strip():
            raise TokvecError(f"label {label!r} has no text after the tab", path, number)
        data.texts.append(text)
        data.labels.append(label)
        data.lines.append(number)
    if not data.texts:
        raise TokvecError("file is empty (no 'label<TAB>text' lines)", path=path)
    return data


def read_texts(path: str | os.PathLike[str], errors: str = "strict") -> list[str]:
    """Every line of a text file, one text per line (blank lines kept as empty texts)."""
    texts = [text for _, text in iter_lines(path, errors=errors)]
    if not any(t.strip() for t in texts):
        raise TokvecError("file is empty (no text to classify)", path=path)
    return texts


class LabelMap:
    """Label strings <-> class indices, in sorted order (so a run is reproducible).

    >>> m = LabelMap(["neg", "pos"])
    >>> m.encode(["pos", "neg"]).tolist()
    [1, 0]
    """

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.index = {label: i for i, label in enumerate(self.labels)}
        if len(self.index) != len(self.labels):
            raise TokvecError("duplicate label names")

    @classmethod
    def from_labels(cls, labels: Sequence[str]) -> LabelMap:
        return cls(sorted(set(labels)))

    def __len__(self) -> int:
        return len(self.labels)

    def encode(self, labels: Sequence[str], path: str | Path | None = None,
               lines: Sequence[int] | None = None):
        """Class indices of ``labels``; a label this map lacks raises, naming file:line."""
        import numpy as np

        out = np.empty(len(labels), dtype=np.int64)
        for i, label in enumerate(labels):
            found = self.index.get(label)
            if found is None:
                where = lines[i] if lines is not None else None
                raise TokvecError(
                    f"label {label!r} does not occur in the training data (training labels: "
                    f"{', '.join(self.labels)}); remove these lines or add examples of it to "
                    "the training file", path, where)
            out[i] = found
        return out


def check_classes(train: LabelledData, minimum: int = 2) -> None:
    """Refuse a training file with fewer than ``minimum`` distinct labels."""
    distinct = sorted(set(train.labels))
    if len(distinct) < minimum:
        raise TokvecError(f"training data has {len(distinct)} class(es) ({', '.join(distinct)});"
                          f" a classifier needs at least {minimum}", path=train.path)
