"""``tokvec predict TASK_DIR --input FILE``: label texts with a fine-tuned classifier.

Without ``--metrics`` the input has one text per line and the output one line per input line:
the label, or with ``--proba`` a JSON object ``{"label": ..., "proba": {label: p, ...}}``.
Probabilities are calibrated by the model's temperature and printed with 6 significant digits
(above 0.9: 6 significant digits of the distance from 1), so that a probability that is not exactly
0 or 1 never prints as 0 or 1 (``3.21e-07``, ``0.999999679``).
With ``--metrics`` the input is a labelled ``label<TAB>text`` file and the output is one JSON
object: accuracy, macro-F1, per-class scores, the confusion matrix (``{gold: {predicted: n}}``),
and the probability metrics ``ece``, ``log_loss`` (calibrated) and ``ece_uncalibrated``,
``log_loss_uncalibrated`` (temperature 1).
A classifier over a multilingual model reads its training language, or ``--lang`` (zero-shot
transfer: the same head over another language's tokenizer and vectors; the report then has
``language``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator

from ..atomic import atomic_file
from .common import add_encoding_errors, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="label texts with a fine-tuned classifier",
                       description="Predict labels (and probabilities) for each input line, or "
                                   "score a labelled TSV with --metrics.")
    p.add_argument("task", metavar="TASK_DIR", help="directory written by tokvec finetune")
    p.add_argument("--input", "-i", required=True, metavar="FILE",
                   help="one text per line (with --metrics: label<TAB>text lines)")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default stdout)")
    p.add_argument("--proba", action="store_true",
                   help="one JSON object per line with the label and all class probabilities")
    p.add_argument("--metrics", action="store_true",
                   help="input is labelled: print accuracy, macro_f1, confusion, ece and "
                        "log_loss as JSON")
    p.add_argument("--lang", metavar="LANG",
                   help="classifier over a multilingual model: the language of the input "
                        "(default: the training language)")
    p.add_argument("--batch-size", type=positive_int, default=256,
                   help="texts per forward pass (default 256)")
    p.add_argument("--threads", type=positive_int, help="CPU threads for torch")
    add_encoding_errors(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import torch

    from ..classify import TaskModel, read_texts
    from ..classify.metrics import softmax

    if args.threads:
        torch.set_num_threads(args.threads)
    model = TaskModel.load(args.task)
    if args.lang is not None:
        model = model.for_language(args.lang)
    if args.metrics:
        report = model.evaluate(args.input, errors=args.encoding_errors,
                                batch_size=args.batch_size)
        if report["unknown_labels"]:
            where = ", ".join(f"{k!r} ({v})" for k, v in report["unknown_labels"].items())
            print(f"tokvec predict: warning: labels the model does not know, counted as "
                  f"errors: {where}", file=sys.stderr)
        if model.language is not None:
            report["language"] = model.language
            report["training_language"] = model.config.get("language")
        _emit(args.output, iter([json.dumps(report, ensure_ascii=False, indent=2)]))
        return 0
    texts = read_texts(args.input, errors=args.encoding_errors)
    logits = model.predict_logits(texts, batch_size=args.batch_size)
    proba = softmax(logits, model.temperature) if args.proba else None

    def lines() -> Iterator[str]:
        for i, row in enumerate(logits):
            label = model.labels[int(row.argmax())]
            if proba is not None:
                yield json.dumps({"label": label,
                                  "proba": {k: probability(float(p)) for k, p
                                            in zip(model.labels, proba[i], strict=True)}},
                                 ensure_ascii=False)
            else:
                yield label

    _emit(args.output, lines())
    return 0


def probability(p: float, digits: int = 6) -> float:
    """``p`` with ``digits`` significant digits, or above 0.9 as many digits as it takes to give
    ``1 - p`` that many, so that no probability strictly between 0 and 1 prints as exactly 0 or
    1 (six decimals print ``1e-8`` as 0 and ``1 - 1e-8`` as 1) and the columns of a two-class
    prediction are equally precise.

    >>> probability(0.123456789), probability(3.21e-9), probability(0.9999999678)
    (0.123457, 3.21e-09, 0.9999999678)
    >>> probability(0.0298333333), probability(1 - 0.0298333333)
    (0.0298333, 0.9701667)
    >>> probability(1.0), probability(0.0)
    (1.0, 0.0)
    """
    if not 0.0 < p < 1.0:
        return p
    extra = max(0, math.floor(-math.log10(1.0 - p))) if p > 0.5 else 0
    return float(f"{p:.{digits + extra}g}")


def _emit(path: str | None, lines: Iterator[str]) -> None:
    if path:
        with atomic_file(path, "w") as handle:
            for line in lines:
                handle.write(line + "\n")
    else:
        for line in lines:
            sys.stdout.write(line + "\n")
