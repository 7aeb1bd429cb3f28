"""What a dimension sweep is asked to do, and the part of it that must not change on resume.

The *fingerprint* holds every setting that changes what one trained model or its scores are
(corpus, method, training options, evaluation files, task); the dimensions, the number of repeats
and the tolerance may change between runs of the same sweep directory, so a sweep can be extended.

>>> s = SweepSettings(corpus="c.txt", output="out", dims=[25, 50], similarity=["ws.tsv"])
>>> s.primary_kind(), PRIMARY_NAMES[s.primary_kind()]
('similarity', 'mean Spearman')
>>> s.run_name(25, 1)
'd25_r1'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import TokvecError
from ..textio import result_key

METHODS = ("sgns", "cbow", "glove", "fasttext", "bert")
PRIMARY_KINDS = ("similarity", "analogy", "task", "wic")
PRIMARY_NAMES = {"similarity": "mean Spearman", "analogy": "mean analogy accuracy",
                 "task": "dev macro-F1", "wic": "mean WiC AUC"}


@dataclass
class SweepSettings:
    """One sweep: which dimensions, how often, what to train and how to score it."""

    corpus: str
    output: str
    dims: list[int] = field(default_factory=lambda: [25, 50, 100, 200, 300])
    repeats: int = 1
    tolerance: float = 0.01
    method: str = "sgns"
    train_options: dict[str, Any] = field(default_factory=dict)
    similarity: list[str] = field(default_factory=list)
    analogy: list[str] = field(default_factory=list)
    restrict: int = 30_000
    wic: list[str] = field(default_factory=list)
    task: tuple[str, str] | None = None
    task_options: dict[str, Any] = field(default_factory=dict)
    primary: str | None = None
    isolate: bool = True
    progress: bool = False

    def checked(self) -> SweepSettings:
        """A copy with dims sorted and de-duplicated, every field validated."""
        dims = sorted(set(int(d) for d in self.dims))
        if not dims or dims[0] < 1:
            raise TokvecError(f"--dims must be positive integers, got {self.dims}")
        if self.repeats < 1:
            raise TokvecError(f"--repeats must be >= 1, got {self.repeats}")
        if not self.tolerance >= 0:
            raise TokvecError(f"--tolerance must be >= 0, got {self.tolerance}")
        if self.method not in METHODS:
            raise TokvecError(f"unknown method {self.method!r}; choose one of "
                              f"{', '.join(METHODS)}")
        if not Path(self.corpus).is_file():
            raise TokvecError("no such corpus file", path=self.corpus)
        for path in (*self.similarity, *self.analogy, *self.wic, *(self.task or ())):
            if not Path(path).is_file():
                raise TokvecError("no such file", path=path)
        stems = [result_key(p) for p in (*self.similarity, *self.analogy, *self.wic)]
        if len(set(stems)) != len(stems):
            raise TokvecError("two evaluation files share a name; scores are keyed by file name")
        if self.method == "bert" and (self.similarity or self.analogy
                                      or (self.task is None and not self.wic)):
            raise TokvecError("a bert sweep is scored by fine-tuning on --task TRAIN,DEV "
                              "and/or word senses (--eval-wic FILE); similarity and analogy "
                              "files need static vectors")
        out = replace(self, dims=dims)
        kind = out.primary_kind()
        if kind == "task" and self.task is None:
            raise TokvecError("--primary task needs --task TRAIN,DEV")
        if kind == "similarity" and not self.similarity:
            raise TokvecError("--primary similarity needs --eval-similarity FILE")
        if kind == "analogy" and not self.analogy:
            raise TokvecError("--primary analogy needs --eval-analogy FILE")
        if kind == "wic" and not self.wic:
            raise TokvecError("--primary wic needs --eval-wic FILE")
        return out

    def primary_kind(self) -> str:
        """The metric the recommendation uses: given, else task, similarity, analogy."""
        if self.primary is not None:
            if self.primary not in PRIMARY_KINDS:
                raise TokvecError(f"unknown primary metric {self.primary!r}; choose one of "
                                  f"{', '.join(PRIMARY_KINDS)}")
            return self.primary
        if self.task is not None:
            return "task"
        if self.similarity:
            return "similarity"
        if self.analogy:
            return "analogy"
        if self.wic:
            return "wic"
        raise TokvecError("the sweep needs a quality measure: give --eval-similarity, "
                          "--eval-analogy, --eval-wic or --task")

    def run_name(self, dim: int, repeat: int) -> str:
        return f"d{dim}_r{repeat}"

    def fingerprint(self) -> dict[str, Any]:
        """Settings that a resumed sweep must share with the one that started the directory."""
        corpus = Path(self.corpus)
        return {"corpus": os.path.abspath(corpus), "corpus_bytes": corpus.stat().st_size,
                "method": self.method, "train_options": dict(sorted(self.train_options.items())),
                "similarity": [os.path.abspath(p) for p in self.similarity],
                "analogy": [os.path.abspath(p) for p in self.analogy],
                "restrict": self.restrict,
                **({"wic": [os.path.abspath(p) for p in self.wic]} if self.wic else {}),
                "task": None if self.task is None else [os.path.abspath(p) for p in self.task],
                "task_options": dict(sorted(self.task_options.items())),
                "primary": self.primary_kind()}


def fingerprint_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences between two fingerprints (empty when they agree).

    >>> fingerprint_differences({"method": "sgns", "x": 1}, {"method": "cbow", "x": 1})
    ["method: 'sgns' before, 'cbow' now"]
    """
    return [f"{k}: {old.get(k)!r} before, {new.get(k)!r} now"
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
