"""``tokvec predict TASK_DIR --input FILE``: label texts with a fine-tuned classifier.

Without ``--metrics`` the input has one text per line and the output one line per input line:
the label, or with ``--proba`` a JSON object ``{"label": ..., "proba": {label: p, ...}}``.
With ``--metrics`` the input is a labelled ``label<TAB>text`` file and the output is one JSON
object: accuracy, macro-F1, per-class scores and the confusion matrix (``{gold: {predicted: n}}``).
"""

from __future__ import annotations

import argparse
import json
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
                   help="input is labelled: print accuracy, macro_f1 and confusion as JSON")
    p.add_argument("--batch-size", type=positive_int, default=256,
                   help="texts per forward pass (default 256)")
    p.add_argument("--threads", type=positive_int, help="CPU threads for torch")
    add_encoding_errors(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import torch

    from ..classify import TaskModel, read_texts

    if args.threads:
        torch.set_num_threads(args.threads)
    model = TaskModel.load(args.task)
    if args.metrics:
        report = model.evaluate(args.input, errors=args.encoding_errors,
                                batch_size=args.batch_size)
        if report["unknown_labels"]:
            where = ", ".join(f"{k!r} ({v})" for k, v in report["unknown_labels"].items())
            print(f"tokvec predict: warning: labels the model does not know, counted as "
                  f"errors: {where}", file=sys.stderr)
        _emit(args.output, iter([json.dumps(report, ensure_ascii=False, indent=2)]))
        return 0
    texts = read_texts(args.input, errors=args.encoding_errors)
    proba = model.predict_proba(texts, batch_size=args.batch_size)

    def lines() -> Iterator[str]:
        for row in proba:
            label = model.labels[int(row.argmax())]
            if args.proba:
                yield json.dumps({"label": label,
                                  "proba": {k: round(float(p), 6)
                                            for k, p in zip(model.labels, row, strict=True)}},
                                 ensure_ascii=False)
            else:
                yield label

    _emit(args.output, lines())
    return 0


def _emit(path: str | None, lines: Iterator[str]) -> None:
    if path:
        with atomic_file(path, "w") as handle:
            for line in lines:
                handle.write(line + "\n")
    else:
        for line in lines:
            sys.stdout.write(line + "\n")
