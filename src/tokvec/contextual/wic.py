"""Word-in-Context (WiC) evaluation: does a model tell word senses apart by context?

The file has one pair per line: ``label TAB word TAB sentence1 TAB sentence2`` with label
``same`` or ``different`` (blank lines and lines starting with ``#`` are skipped). For each
pair the word is found in both sentences by matching normalized words (the model tokenizer's
normalizer and pre-tokenizer; the first occurrence when it appears several times); its
contextual vector is the mean over its subword tokens. The score is the cosine between the two
vectors: same-sense pairs should score higher.

Reported: ``auc`` (rank-based, ties counted half: the chance that a random same-sense pair
outscores a random different-sense one), ``accuracy`` at the best threshold, that
``threshold``, the number of ``pairs`` scored and ``skipped`` (word not found in a sentence,
cut off by truncation, or a zero vector such as a static model's unknown word). A static model
gives the word the same vector in both sentences, so every cosine is 1, every pair ties, and
the AUC is exactly 0.5.

>>> roc_auc(np.array([0.9, 0.8, 0.3]), np.array([True, False, False]))
1.0
>>> roc_auc(np.array([1.0, 1.0, 1.0, 1.0]), np.array([True, False, True, False]))
0.5
>>> best_accuracy(np.array([0.9, 0.8, 0.3, 0.2]), np.array([True, True, False, False]))
(1.0, 0.8)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TokvecError
from ..textio import iter_lines
from .embedding import as_contextual, iter_hidden

LABELS = {"same": True, "different": False}


@dataclass
class WicPair:
    same: bool
    word: str
    first: str
    second: str
    line: int


def read_wic(path: str | os.PathLike[str]) -> list[WicPair]:
    """Parse a WiC-style TSV; malformed lines raise :class:`TokvecError` with file:line."""
    pairs = []
    for number, text in iter_lines(path):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        fields = text.split("\t")
        if len(fields) != 4:
            raise TokvecError(f"expected 4 tab-separated fields (label, word, sentence1, "
                              f"sentence2), got {len(fields)}", path, number)
        label, word, first, second = (f.strip() for f in fields)
        if label.lower() not in LABELS:
            raise TokvecError(f"label must be 'same' or 'different', got {label!r}", path, number)
        if not word or not first or not second:
            raise TokvecError("empty word or sentence", path, number)
        pairs.append(WicPair(LABELS[label.lower()], word, first, second, number))
    if not pairs:
        raise TokvecError("no WiC pairs in the file", path=path)
    return pairs


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve from ranks (Mann-Whitney U), tied scores sharing ranks."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    start = 0
    while start < len(scores):  # average rank over each run of equal scores
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    n_pos = int(positive.sum())
    n_neg = len(scores) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise TokvecError("AUC needs both same-sense and different-sense pairs")
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def best_accuracy(scores: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Best accuracy of "same if score >= t" over all thresholds t, and that t."""
    candidates = np.concatenate([np.unique(scores), [np.inf]])
    best, best_t = -1.0, float(candidates[0])
    for t in candidates:
        acc = float(np.mean((scores >= t) == positive))
        if acc > best:
            best, best_t = acc, float(t)
    return best, best_t


def _word_vector(model: Any, text: str, word: str, encoding: Any,
                 vectors: np.ndarray) -> np.ndarray | None:
    """Mean vector of the first occurrence of ``word`` (normalized words) in ``text``."""
    target = model.tokenizer.words(word)
    words = model.tokenizer.words(text)
    k = len(target)
    if k == 0:
        return None
    for i in range(len(words) - k + 1):
        if words[i:i + k] == target:
            wanted = set(range(i, i + k))
            rows = [t for t, w in enumerate(encoding.word_ids) if w in wanted]
            covered = {encoding.word_ids[t] for t in rows}
            if covered != wanted:
                return None  # (part of) the word was truncated away
            return vectors[rows].mean(axis=0)
    return None


def evaluate_wic(model: Any, path: str | os.PathLike[str],
                 batch_size: int = 32) -> dict[str, Any]:
    """``{"auc", "accuracy", "threshold", "pairs", "skipped"}`` of ``model`` on a WiC file.

    ``model`` is a :class:`~tokvec.contextual.ContextualModel`, a static model, or a path to
    either.
    """
    if isinstance(model, (str, os.PathLike)):
        from .embedding import load_for_embedding

        model = load_for_embedding(model)
    model = as_contextual(model)
    pairs = read_wic(path)
    texts = [s for p in pairs for s in (p.first, p.second)]
    encodings = model.encode_texts(texts, batch_size)
    found: list[np.ndarray | None] = [None] * len(texts)
    for i, vectors in iter_hidden(model, encodings, batch_size):
        pair = pairs[i // 2]
        found[i] = _word_vector(model, texts[i], pair.word, encodings[i], vectors)
    scores, labels = [], []
    for k, pair in enumerate(pairs):
        a, b = found[2 * k], found[2 * k + 1]
        if a is None or b is None:
            continue
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        denom = float(np.linalg.norm(a64) * np.linalg.norm(b64))
        if denom == 0.0:
            continue  # a zero vector (e.g. a static model's unknown word) carries no sense
        # Rounded so that identical vectors tie exactly whatever the float rounding.
        scores.append(round(float(a64 @ b64) / denom, 9))
        labels.append(pair.same)
    skipped = len(pairs) - len(scores)
    if not scores:
        raise TokvecError("the word was found in no pair's sentences", path=path)
    s, y = np.array(scores), np.array(labels, dtype=bool)
    accuracy, threshold = best_accuracy(s, y)
    return {"auc": round(roc_auc(s, y), 6), "accuracy": round(accuracy, 6),
            "threshold": round(threshold, 6), "pairs": len(scores), "skipped": skipped}
