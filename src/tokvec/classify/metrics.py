"""Classification metrics: accuracy, per-class precision/recall/F1, macro-F1, confusion.

Macro-F1 averages the F1 of every class that occurs in the gold labels or the predictions, so a
rare class counts as much as a frequent one (a class never seen and never predicted is left out,
as in scikit-learn). The confusion matrix is a nested dict ``{gold: {predicted: count}}`` with the
label names as keys.

>>> r = classification_report(["pos", "neg", "pos", "pos"], ["pos", "pos", "pos", "neg"])
>>> r["accuracy"], round(r["macro_f1"], 4)
(0.5, 0.3333)
>>> r["confusion"]["pos"]
{'neg': 1, 'pos': 2}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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
