"""Intrinsic evaluation: word-pair similarity (Spearman) and analogies (3CosAdd).

Conventions follow gensim's ``evaluate_word_pairs`` / ``evaluate_word_analogies`` so that figures
are comparable (and they agree with gensim on the same vectors, checked in the tests):

- matching is case-insensitive by default: file words and vocabulary words are upper-cased, and
  where several vocabulary words share a form the most frequent one stands for it;
- similarity files: ``word1 TAB word2 TAB score``, ``#`` comments; pairs with a word outside the
  vocabulary (restricted to the 300,000 most frequent words) are counted as ``oov`` and left out of
  the Spearman correlation;
- analogy files: Google format (``: section`` headers, then ``a b c d``), searched among the
  30,000 most frequent words; the answer is the nearest word to ``b - a + c`` (unit vectors) that
  is not one of ``a, b, c``. ``accuracy`` counts unanswerable questions as wrong (gensim's
  ``dummy4unknown=True``), ``accuracy_covered`` is over answerable questions only (gensim's
  default).

Malformed lines raise :class:`~tokvec.errors.TokvecError` naming the file and line (gensim skips
them silently).

>>> import numpy as np, tempfile, os
>>> kv = StaticVectors(["king", "queen", "man", "woman"],
...                    np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1]], np.float32))
>>> path = os.path.join(tempfile.mkdtemp(), "tiny.txt")
>>> _ = open(path, "w").write(": royals\\nman king woman queen\\nman king cat dog\\n")
>>> r = evaluate_analogy(kv, path)
>>> r["accuracy"], r["accuracy_covered"], r["covered"]
(0.5, 1.0, 1)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import TokvecError
from .textio import iter_lines, result_key
from .vectors import StaticVectors

SIMILARITY_RESTRICT = 300_000
ANALOGY_RESTRICT = 30_000
_QUESTION_BLOCK = 512


def read_similarity_file(path: str | os.PathLike[str]) -> list[tuple[str, str, float]]:
    """``(word1, word2, score)`` triples of a tab-separated word-pair file."""
    pairs = []
    for number, line in iter_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise TokvecError(f"expected 3 tab-separated fields (word1, word2, score), "
                              f"got {len(fields)}", path, number)
        try:
            score = float(fields[2])
        except ValueError:
            raise TokvecError(f"score {fields[2]!r} is not a number", path, number) from None
        if not np.isfinite(score):
            raise TokvecError(f"score {fields[2]!r} is not finite", path, number)
        pairs.append((fields[0].strip(), fields[1].strip(), score))
    if not pairs:
        raise TokvecError("no word pairs found", path=path)
    return pairs


def read_analogy_file(path: str | os.PathLike[str]) -> list[tuple[str, tuple[str, ...]]]:
    """``(section, (a, b, c, d))`` questions of a Google-format analogy file."""
    section = ""
    questions = []
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        words = line.split()
        if len(words) != 4:
            raise TokvecError(f"expected 4 words (a b c d) or a ': section' header, "
                              f"got {len(words)} fields", path, number)
        questions.append((section, tuple(words)))
    if not questions:
        raise TokvecError("no analogy questions found", path=path)
    return questions


def _vocab_map(vectors: StaticVectors, restrict: int, case_insensitive: bool) -> dict[str, int]:
    """Word form -> row among the ``restrict`` most frequent; the most frequent form wins."""
    words = vectors.words[:restrict]
    fold = str.upper if case_insensitive else (lambda w: w)
    mapping: dict[str, int] = {}
    for i in range(len(words) - 1, -1, -1):
        mapping[fold(words[i])] = i
    return mapping


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman's rank correlation with average ranks for ties (as scipy computes it).

    >>> round(spearman([1, 2, 3, 4], [10, 20, 30, 25]), 3)
    0.8
    """
    rx, ry = _average_ranks(np.asarray(x, float)), _average_ranks(np.asarray(y, float))
    if rx.size < 2 or rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(values.size, dtype=float)
    sorted_vals = values[order]
    i = 0
    while i < values.size:
        j = i
        while j + 1 < values.size and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i: j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def evaluate_similarity(vectors: StaticVectors, path: str | os.PathLike[str],
                        restrict: int = SIMILARITY_RESTRICT,
                        case_insensitive: bool = True) -> dict[str, Any]:
    """Spearman (and Pearson) between human scores and cosine similarities of a pair file."""
    pairs = read_similarity_file(path)
    vocab = _vocab_map(vectors, restrict, case_insensitive)
    fold = str.upper if case_insensitive else (lambda w: w)
    unit = vectors.unit
    gold, model = [], []
    oov = 0
    for a, b, score in pairs:
        ia, ib = vocab.get(fold(a)), vocab.get(fold(b))
        if ia is None or ib is None:
            oov += 1
            continue
        gold.append(score)
        model.append(float(np.dot(unit[ia], unit[ib])))
    rho = spearman(gold, model) if len(gold) >= 2 else float("nan")
    pearson = float(np.corrcoef(gold, model)[0, 1]) if len(gold) >= 2 else float("nan")
    return {"spearman": rho, "pearson": pearson, "pairs": len(pairs), "oov": oov,
            "oov_ratio": oov / len(pairs)}


def evaluate_analogy(vectors: StaticVectors, path: str | os.PathLike[str],
                     restrict: int = ANALOGY_RESTRICT,
                     case_insensitive: bool = True) -> dict[str, Any]:
    """3CosAdd accuracy on a Google-format analogy file, per section and in total."""
    questions = read_analogy_file(path)
    vocab = _vocab_map(vectors, restrict, case_insensitive)
    fold = str.upper if case_insensitive else (lambda w: w)
    n_rows = min(restrict, len(vectors))
    unit = vectors.unit[:n_rows]
    forms = [fold(w) for w in vectors.words[:n_rows]]
    sections: dict[str, dict[str, int]] = {}
    covered_idx: list[tuple[int, int, int, int]] = []
    covered_section: list[str] = []
    for section, words in questions:
        stats = sections.setdefault(section, {"correct": 0, "covered": 0, "questions": 0})
        stats["questions"] += 1
        ids = [vocab.get(fold(w)) for w in words]
        if any(i is None for i in ids):
            continue
        stats["covered"] += 1
        covered_idx.append(tuple(ids))  # type: ignore[arg-type]
        covered_section.append(section)
    idx = np.array(covered_idx, dtype=np.int64).reshape(-1, 4)
    for start in range(0, idx.shape[0], _QUESTION_BLOCK):
        block = idx[start: start + _QUESTION_BLOCK]
        query = unit[block[:, 1]] + unit[block[:, 2]] - unit[block[:, 0]]
        query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
        scores = query @ unit.T
        rows = np.arange(block.shape[0])[:, None]
        scores[rows, block[:, :3]] = -np.inf  # gensim excludes the query words' own rows
        k = min(5, n_rows)
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), 1), 1)
        for j, q in enumerate(block):
            ignore = {forms[q[0]], forms[q[1]], forms[q[2]]}
            predicted = None
            for cand in top[j]:
                predicted = forms[cand]
                if predicted not in ignore:
                    break
            if predicted == forms[q[3]]:
                sections[covered_section[start + j]]["correct"] += 1
    correct = sum(s["correct"] for s in sections.values())
    covered = sum(s["covered"] for s in sections.values())
    total = sum(s["questions"] for s in sections.values())
    return {"accuracy": correct / total, "accuracy_covered": correct / covered if covered else 0.0,
            "questions": total, "covered": covered, "correct": correct,
            "restrict": restrict, "sections": sections}


def evaluate_vectors(vectors: StaticVectors, similarity: Sequence[str | os.PathLike[str]] = (),
                     analogy: Sequence[str | os.PathLike[str]] = (),
                     restrict: int = ANALOGY_RESTRICT,
                     case_insensitive: bool = True) -> dict[str, dict[str, Any]]:
    """Evaluate on several files; results keyed by each file's name without extension."""
    results: dict[str, dict[str, Any]] = {}
    for path in similarity:
        results[result_key(path)] = evaluate_similarity(vectors, path,
                                                       case_insensitive=case_insensitive)
    for path in analogy:
        results[result_key(path)] = evaluate_analogy(vectors, path, restrict=restrict,
                                                    case_insensitive=case_insensitive)
    return results
