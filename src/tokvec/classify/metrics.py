"""Classification metrics: accuracy, per-class precision/recall/F1, macro-F1, confusion; and
the probability metrics: log-loss and expected calibration error (ECE).

Macro-F1 averages the F1 of every class that occurs in the gold labels or the predictions, so a
rare class counts as much as a frequent one (a class never seen and never predicted is left out,
as in scikit-learn). The confusion matrix is a nested dict ``{gold: {predicted: count}}`` with the
label names as keys.

>>> r = classification_report(["pos", "neg", "pos", "pos"], ["pos", "pos", "pos", "neg"])
>>> r["accuracy"], round(r["macro_f1"], 4)
(0.5, 0.3333)
>>> r["confusion"]["pos"]
{'neg': 1, 'pos': 2}

Probability metrics take a ``(N, C)`` array of class probabilities (or logits) and the gold
class of each row as an index into its columns (:func:`log_loss`, :func:`log_loss_from_logits`,
:func:`expected_calibration_error`; :func:`probability_report` gives all four figures that
``tokvec predict --metrics`` prints). A perfectly calibrated model is right on 80% of the texts
to which it gives 80%; ECE measures how far the model is from that.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def classification_report(gold: Sequence[str], predicted: Sequence[str],
                          labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class scores and the confusion matrix of two label lists.

    ``labels`` fixes the order of classes in the output (default: sorted union of both lists);
    labels that occur in the data but not in ``labels`` are appended.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    order = list(labels) if labels is not None else []
    seen = set(order)
    for label in sorted(set(gold) | set(predicted)):
        if label not in seen:
            order.append(label)
            seen.add(label)
    confusion = {g: dict.fromkeys(order, 0) for g in order}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    per_class: dict[str, dict[str, float]] = {}
    f1s: list[float] = []
    for label in order:
        tp = confusion[label][label]
        support = sum(confusion[label].values())
        predicted_count = sum(confusion[g][label] for g in order)
        precision = tp / predicted_count if predicted_count else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1,
                            "support": support}
        if support or predicted_count:
            f1s.append(f1)
    correct = sum(confusion[g][g] for g in order)
    return {
        "examples": len(gold),
        "accuracy": correct / len(gold) if gold else 0.0,
        "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
        "per_class": per_class,
        "labels": order,
        "confusion": confusion,
    }


def class_balance(labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Counts and proportions of each label, most frequent first.

    >>> class_balance(["a", "b", "a", "a"])
    {'a': {'count': 3, 'proportion': 0.75}, 'b': {'count': 1, 'proportion': 0.25}}
    """
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    total = max(len(labels), 1)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {k: {"count": c, "proportion": round(c / total, 6)} for k, c in ordered}


ECE_BINS = 15


def _gold_indices(gold: Sequence[int] | np.ndarray, n: int, classes: int) -> np.ndarray:
    y = np.asarray(gold, dtype=np.int64).reshape(-1)
    if len(y) != n:
        raise ValueError(f"{len(y)} gold labels but {n} rows of scores")
    if len(y) and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"gold class indices must lie in [0, {classes}); labels the model "
                         "does not know are left out before scoring")
    return y


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` along the last axis, in float64, overflow-safe.

    >>> softmax(np.array([[0.0, np.log(3.0)]])).round(6).tolist()
    [[0.25, 0.75]]
    >>> softmax(np.array([[0.0, np.log(9.0)]]), temperature=2.0).round(6).tolist()
    [[0.25, 0.75]]
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    z = np.asarray(logits, dtype=np.float64)
    if temperature != 1.0:
        z = z / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def log_loss(proba: np.ndarray, gold: Sequence[int] | np.ndarray, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood of the gold class, ``-mean(log p[i, gold[i]])`` (nats).

    Probabilities are clipped to ``[eps, 1]`` so that a confident mistake costs at most
    ``-log(eps)`` (about 34.5) instead of infinity. NaN for no rows.

    Worked example: the gold classes get 0.5 and 0.25, so the loss is
    ``(log 2 + log 4) / 2 = 1.5 log 2 = 1.0397``:

    >>> round(log_loss(np.array([[0.5, 0.5], [0.75, 0.25]]), [1, 1]), 4)
    1.0397
    """
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"expected an (N, C) array of probabilities, got shape {p.shape}")
    y = _gold_indices(gold, p.shape[0], p.shape[1])
    if not len(y):
        return math.nan
    picked = np.clip(p[np.arange(len(y)), y], eps, 1.0)
    return float(-np.log(picked).mean())


def log_loss_from_logits(logits: np.ndarray, gold: Sequence[int] | np.ndarray,
                         temperature: float = 1.0) -> float:
    """The log-loss of ``softmax(logits / temperature)``, computed exactly from the logits
    (``logsumexp(z / T) - z[gold] / T``, no clipping, no underflow). NaN for no rows.

    >>> z = np.array([[0.0, 0.0], [np.log(3.0), 0.0]])   # probabilities (.5, .5), (.75, .25)
    >>> round(log_loss_from_logits(z, [1, 1]), 4)        # (log 2 + log 4) / 2
    1.0397
    >>> round(log_loss_from_logits(2 * z, [1, 1], temperature=2.0), 4)
    1.0397
    """
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"expected an (N, C) array of logits, got shape {z.shape}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    y = _gold_indices(gold, z.shape[0], z.shape[1])
    if not len(y):
        return math.nan
    if temperature != 1.0:
        z = z / temperature
    top = z.max(axis=1)
    lse = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    return float((lse - z[np.arange(len(y)), y]).mean())


def expected_calibration_error(proba: np.ndarray, gold: Sequence[int] | np.ndarray,
                               bins: int = ECE_BINS) -> float:
    """Expected calibration error of the top-class confidence (Naeini et al. 2015; Guo et al.
    2017): ``sum_b |B_b| / N * |accuracy(B_b) - confidence(B_b)|``.

    Each row's confidence is its largest probability and its prediction that class (the first
    one on ties); rows fall into ``bins`` equal-width bins ``((b-1)/bins, b/bins]``; a bin's
    accuracy is the share of its rows predicted right and its confidence their mean confidence.
    0 is perfect. NaN for no rows.

    Worked example, 15 bins: two rows at confidence 0.95 (one right, one wrong) share a bin
    with accuracy 0.5, a gap of 0.45; a row at 0.6 that is right is a bin with gap 0.4. So ECE
    is ``2/3 * 0.45 + 1/3 * 0.4 = 0.4333``:

    >>> p = np.array([[0.95, 0.05], [0.05, 0.95], [0.4, 0.6]])
    >>> round(expected_calibration_error(p, [0, 0, 1]), 4)
    0.4333
    """
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"expected an (N, C) array of probabilities, got shape {p.shape}")
    if bins < 1:
        raise ValueError(f"bins must be positive, got {bins}")
    y = _gold_indices(gold, p.shape[0], p.shape[1])
    if not len(y):
        return math.nan
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    which = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.float64)
    gap = np.bincount(which, weights=correct, minlength=bins) - np.bincount(
        which, weights=confidence, minlength=bins)
    # sum over bins of |B| * |acc - conf| = |sum(correct) - sum(confidence)| per bin
    return float(np.abs(gap[count > 0]).sum() / len(y))


def probability_report(logits: np.ndarray, gold: Sequence[int] | np.ndarray,
                       temperature: float = 1.0, bins: int = ECE_BINS) -> dict[str, Any]:
    """``ece``, ``log_loss`` (with ``temperature``) and ``ece_uncalibrated``,
    ``log_loss_uncalibrated`` (temperature 1) of logits against gold class indices; ``None``
    for a figure when there are no rows.

    Worked example: three rows with a margin of 2 for the predicted class, two of them right
    (accuracy 2/3). At T = 1 every confidence is ``sigmoid(2) = 0.8808``, so ECE is
    ``0.8808 - 0.6667 = 0.2141``; at T = 2 it is ``sigmoid(1) = 0.7311``, ECE 0.0644, and the
    log-loss falls from ``(2 * 0.1269 + 2.1269) / 3 = 0.7936`` to 0.6466:

    >>> z = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    >>> r = probability_report(z, [0, 1, 1], temperature=2.0)
    >>> {k: round(v, 4) for k, v in r.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'ece': 0.0644, 'ece_uncalibrated': 0.2141, 'log_loss': 0.6466,
     'log_loss_uncalibrated': 0.7936}
    """
    z = np.asarray(logits, dtype=np.float64)

    def value(x: float) -> float | None:
        return None if math.isnan(x) else x

    out: dict[str, Any] = {}
    calibrated = softmax(z, temperature) if z.size else z
    plain = softmax(z) if z.size else z
    out["ece"] = value(expected_calibration_error(calibrated, gold, bins))
    out["ece_uncalibrated"] = value(expected_calibration_error(plain, gold, bins))
    out["log_loss"] = value(log_loss_from_logits(z, gold, temperature))
    out["log_loss_uncalibrated"] = value(log_loss_from_logits(z, gold))
    return out
