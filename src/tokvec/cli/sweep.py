"""``tokvec sweep CORPUS -o SWEEP_DIR --dims 25,50,100``: choose d_model by measurement."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import TokvecError
from ..tokenization import WORD_LEVEL_KINDS
from .common import nonneg_float, nonneg_int, positive_float, positive_int, show_progress

_SHARED_FLAGS = ("epochs", "lr", "threads", "seed")
_STATIC_FLAGS = ("window", "negative", "min_count", "sample", "tokenizer", "lowercase")
_BERT_FLAGS = ("layers", "heads", "ffn", "seq_len", "batch_size", "steps", "vocab_size",
               "bert_tokenizer", "objective", "max_minutes")


def dims_list(text: str) -> list[int]:
    """``"25,50,100"`` -> ``[25, 50, 100]`` (argparse type)."""
    try:
        dims = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") \
            from None
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected positive dimensions, got {text!r}")
    return dims


def task_pair(text: str) -> tuple[str, str]:
    """``"train.tsv,dev.tsv"`` -> the two paths (argparse type)."""
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise argparse.ArgumentTypeError(f"expected TRAIN,DEV (two files), got {text!r}")
    return parts[0].strip(), parts[1].strip()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="train at several d_model values and recommend one",
        description="Train one model per dimension and repeat (seed + repeat index), score each "
                    "(word-pair Spearman, analogy accuracy, and with --task the dev macro-F1 of "
                    "a bag-of-vectors classifier), measure time, peak memory, parameters and "
                    "disk size, and recommend the smallest d_model whose primary score is "
                    "within --tolerance of the best. Writes SWEEP_DIR/sweep.json (after every "
                    "run: rerunning the same command resumes) and SWEEP_DIR/sweep.png.")
    p.add_argument("corpus", metavar="CORPUS", help="UTF-8 training text, one line per "
                                                    "sentence or paragraph")
    p.add_argument("-o", "--output", required=True, metavar="SWEEP_DIR",
                   help="sweep directory (models, sweep.json, sweep.png)")
    p.add_argument("--dims", type=dims_list, default=[25, 50, 100, 200, 300],
                   help="comma-separated d_model values (default 25,50,100,200,300)")
    p.add_argument("--method", choices=("sgns", "cbow", "glove", "fasttext", "bert"),
                   default="sgns", help="training objective (default sgns); bert pretrains a "
                                        "masked-LM Transformer per d_model (needs --task)")
    p.add_argument("--repeats", type=positive_int, default=1,
                   help="models per dimension, seeds seed+0 .. seed+R-1 (default 1)")
    p.add_argument("--tolerance", type=nonneg_float, default=0.01,
                   help="recommend the smallest d_model within this of the best primary score "
                        "(default 0.01)")
    p.add_argument("--eval-similarity", nargs="+", default=[], metavar="FILE",
                   help="word-pair files (word1 TAB word2 TAB score)")
    p.add_argument("--eval-analogy", nargs="+", default=[], metavar="FILE",
                   help="analogy files in the Google format")
    p.add_argument("--restrict", type=positive_int, default=30_000,
                   help="analogies search the N most frequent words (default 30000)")
    p.add_argument("--eval-wic", nargs="+", default=[], metavar="FILE",
                   help="word-in-context files (label TAB word TAB sentence1 TAB sentence2): "
                        "ROC AUC of the word's two vectors' cosine, as evaluate --wic")
    p.add_argument("--task", type=task_pair, metavar="TRAIN,DEV",
                   help="labelled files (label TAB text): fine-tune a bag-of-vectors classifier "
                        "on each model and score dev macro-F1")
    p.add_argument("--task-epochs", type=positive_int, help="classifier epochs (head default)")
    p.add_argument("--primary", choices=("similarity", "analogy", "task", "wic"),
                   help="metric the recommendation uses (default: task with --task, else "
                        "mean similarity Spearman, else mean analogy accuracy, else mean "
                        "WiC AUC)")
    p.add_argument("--in-process", action="store_true",
                   help="train in this process (memory: sampled RSS) instead of one child "
                        "process per model (memory: the child's ru_maxrss)")
    t = p.add_argument_group("training (as `tokvec train` / `tokvec pretrain`; unset: the "
                             "trainer's default)")
    t.add_argument("--epochs", type=positive_int, help="passes over the corpus")
    t.add_argument("--lr", type=positive_float, help="initial learning rate")
    t.add_argument("--threads", type=positive_int, help="training threads")
    t.add_argument("--seed", type=nonneg_int, help="seed of repeat 0")
    t.add_argument("--window", type=positive_int, help="static: context window")
    t.add_argument("--negative", type=nonneg_int, help="static: negative samples")
    t.add_argument("--min-count", type=positive_int, help="static: drop rarer words")
    t.add_argument("--sample", type=nonneg_float, help="static: sub-sampling threshold")
    t.add_argument("--tokenizer", choices=WORD_LEVEL_KINDS, help="static: tokenizer kind")
    t.add_argument("--lowercase", action="store_true", default=None,
                   help="static: lowercase the text")
    t.add_argument("--layers", type=positive_int, help="bert: encoder layers")
    t.add_argument("--heads", type=positive_int, help="bert: attention heads (divide d_model)")
    t.add_argument("--ffn", type=positive_int, help="bert: feed-forward width (default "
                                                    "4 x d_model)")
    t.add_argument("--seq-len", type=positive_int, help="bert: tokens per packed block")
    t.add_argument("--batch-size", type=positive_int, help="bert: blocks per step")
    t.add_argument("--steps", type=positive_int, help="bert: optimizer steps")
    t.add_argument("--vocab-size", type=positive_int, help="bert: WordPiece vocabulary size")
    t.add_argument("--objective", choices=("mlm", "electra"),
                   help="bert: pretraining objective (default mlm)")
    t.add_argument("--max-minutes", type=positive_float,
                   help="bert: time budget per model (the same for every d_model)")
    t.add_argument("--bert-tokenizer", metavar="DIR",
                   help="bert: share this tokenizer directory across runs instead of training "
                        "one per run")
    p.set_defaults(func=_sweep)


def settings_from_args(args: argparse.Namespace) -> Any:
    from ..sweep import SweepSettings

    own, other = ((_BERT_FLAGS, _STATIC_FLAGS) if args.method == "bert"
                  else (_STATIC_FLAGS, _BERT_FLAGS))
    wrong = ["--" + n.replace("_", "-") for n in other if getattr(args, n) is not None]
    if wrong:
        raise TokvecError(f"{', '.join(wrong)} do(es) not apply to --method {args.method}")
    options = {name: getattr(args, name) for name in (*_SHARED_FLAGS, *own)
               if getattr(args, name) is not None}
    if "bert_tokenizer" in options:
        options["tokenizer"] = options.pop("bert_tokenizer")
    task_options = {"epochs": args.task_epochs} if args.task_epochs else {}
    if args.task_epochs and not args.task:
        raise TokvecError("--task-epochs needs --task TRAIN,DEV")
    return SweepSettings(corpus=args.corpus, output=args.output, dims=args.dims,
                         repeats=args.repeats, tolerance=args.tolerance, method=args.method,
                         train_options=options, similarity=list(args.eval_similarity),
                         analogy=list(args.eval_analogy), restrict=args.restrict,
                         wic=list(args.eval_wic),
                         task=args.task, task_options=task_options, primary=args.primary,
                         isolate=not args.in_process, progress=show_progress())


def _sweep(args: argparse.Namespace) -> int:
    from ..sweep import SWEEP_JSON, SWEEP_PNG, report, run_sweep

    state = run_sweep(settings_from_args(args))
    print(report(state))
    print(f"figures: {args.output}/{SWEEP_JSON}, plot: {args.output}/{SWEEP_PNG}")
    return 0
