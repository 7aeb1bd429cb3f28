"""``tokvec train-parallel SRC TGT -o JOINT --src-lang zh --tgt-lang en``: bilingual vectors.

Line N of SRC translates line N of TGT. Both languages are trained into one space with skip-gram
negative sampling against shared outputs (sentence ids, Levy et al. 2017, plus monolingual and
optionally cross-lingual skip-gram contexts; :mod:`tokvec.multilingual.parallel`), no dictionary
needed, and written as a ``multilingual`` model (the kind ``tokvec align`` writes). Bad input
(files of different line counts, an empty file, the same language twice, a nonsense value) is
one line on stderr and exit status 2, before anything is written. There is no checkpoint:
SIGINT/SIGTERM stop the run, write nothing and exit 130/143; ``--resume`` is refused.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from ..errors import TokvecError
from .common import add_encoding_errors, show_progress


def register(sub: argparse._SubParsersAction) -> None:
    from ..multilingual.parallel import DEFAULT_OBJECTIVE, ParallelConfig

    d = ParallelConfig()
    p = sub.add_parser(
        "train-parallel", help="train two languages into one space from a parallel corpus",
        description="Train word vectors for two languages in one space from a sentence-aligned "
                    "corpus (line N of SRC translates line N of TGT), no dictionary needed, and "
                    "write a multilingual model directory.")
    p.add_argument("source", metavar="SRC_FILE", help="source-language text, one line per "
                                                      "sentence or verse")
    p.add_argument("target", metavar="TGT_FILE", help="target-language text, line-aligned")
    p.add_argument("-o", "--output", required=True, help="joint model directory to write")
    p.add_argument("--src-lang", required=True, help="source language name (e.g. zh)")
    p.add_argument("--tgt-lang", required=True, help="target language name (e.g. en)")
    p.add_argument("--src-tokenizer", default="word",
                   help="source words: word (default), whitespace, char, zh-char or zh-word")
    p.add_argument("--tgt-tokenizer", default="word", help="target words (as --src-tokenizer)")
    p.add_argument("--lowercase", action="store_true", help="lowercase both sides")
    p.add_argument("--objective", default=DEFAULT_OBJECTIVE,
                   help="parts joined by '+': sid (sentence-id contexts, Levy et al. 2017), "
                        "mono (skip-gram within each side), cross (aligned-position contexts "
                        f"of the other side, Luong et al. 2015); default {DEFAULT_OBJECTIVE}")
    p.add_argument("--dim", type=int, default=d.dim, help=f"vector size (default {d.dim})")
    p.add_argument("--window", type=int, default=d.window,
                   help=f"mono: max context distance (default {d.window})")
    p.add_argument("--cross-window", type=int, default=d.cross_window,
                   help=f"cross: distance around the aligned position (default {d.cross_window})")
    p.add_argument("--negative", type=int, default=d.negative,
                   help=f"noise samples per example (default {d.negative})")
    p.add_argument("--min-count", type=int, default=d.min_count,
                   help=f"drop words seen fewer times, per side (default {d.min_count})")
    p.add_argument("--sample", type=float, default=d.sample,
                   help=f"frequent-word subsampling threshold, 0 to disable (default {d.sample})")
    p.add_argument("--epochs", type=int, default=d.epochs,
                   help=f"passes over the corpus (default {d.epochs})")
    p.add_argument("--lr", type=float, default=d.lr,
                   help=f"start learning rate, decayed linearly to 1e-4 (default {d.lr})")
    p.add_argument("--threads", type=int, default=None,
                   help="worker threads (default: all cores)")
    p.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")
    p.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)
    add_encoding_errors(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..multilingual.parallel import ParallelConfig, train_parallel
    from ..static.interrupt import TrainingInterrupted
    from .io import _check_model_output

    if args.resume:
        raise TokvecError("train-parallel keeps no checkpoint, so there is nothing to resume; "
                          "run without --resume")
    cfg = ParallelConfig(
        src_lang=args.src_lang, tgt_lang=args.tgt_lang, src_tokenizer=args.src_tokenizer,
        tgt_tokenizer=args.tgt_tokenizer, lowercase=args.lowercase, objective=args.objective,
        dim=args.dim, window=args.window, cross_window=args.cross_window,
        negative=args.negative, min_count=args.min_count, sample=args.sample,
        epochs=args.epochs, lr=args.lr, threads=args.threads, seed=args.seed,
        encoding_errors=args.encoding_errors, progress=show_progress())
    cfg.validate()
    _check_model_output(Path(args.output))
    try:
        model = train_parallel(args.source, args.target, args.output, cfg)
    except TrainingInterrupted as exc:
        print(f"tokvec train-parallel: {exc}", file=sys.stderr)
        return 143 if exc.signum == signal.SIGTERM else 130
    info = model.config["training"]
    sizes = ", ".join(f"{lang} {len(model.vectors.language(lang))}" for lang in model.languages)
    print(f"multilingual model ({sizes} words, d={model.d_model}, {cfg.objective}) written to "
          f"{args.output}; {info['words_per_s']:,.0f} words/s, final loss "
          f"{info.get('final_loss') or float('nan'):.4f}", file=sys.stderr)
    return 0
