"""``tokvec train CORPUS -o MODEL_DIR``: static embeddings (sgns, cbow, glove, fasttext).

Values are checked by :meth:`tokvec.static.TrainConfig.validate`, so a nonsense value (``--dim
0``, ``--window 0``, ``--lr -1`` ...) gives one line on stderr and exit status 2, before anything
is written. SIGINT/SIGTERM write a checkpoint and exit 130/143 with the line to resume.
"""

from __future__ import annotations

import argparse
import signal
import sys

from .common import add_encoding_errors, show_progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train static word vectors (skip-gram, CBOW, GloVe, fastText-style)",
        description="Train static word embeddings on a text corpus (one sentence or paragraph "
                    "per line) and write a model directory. Defaults follow word2vec/gensim.")
    p.add_argument("corpus", help="UTF-8 text file")
    p.add_argument("-o", "--output", required=True, help="model directory to write")
    p.add_argument("--method", default="sgns", help="sgns (skip-gram, default), cbow, glove "
                                                    "or fasttext (skip-gram with subwords)")
    p.add_argument("--dim", type=int, default=100, help="vector size d_model (default 100)")
    p.add_argument("--window", type=int, default=None,
                   help="max context distance (default 5; glove 10)")
    p.add_argument("--negative", type=int, default=5, help="noise words per example (default 5)")
    p.add_argument("--min-count", type=int, default=5,
                   help="drop words seen fewer times (default 5)")
    p.add_argument("--max-vocab", type=int, default=None,
                   help="keep at most this many words, the most frequent (specials not counted)")
    p.add_argument("--sample", type=float, default=1e-3,
                   help="frequent-word subsampling threshold, 0 to disable (default 1e-3)")
    p.add_argument("--epochs", type=int, default=None, help="passes over the corpus "
                                                            "(default 5; glove 25)")
    p.add_argument("--lr", type=float, default=None,
                   help="start learning rate, decayed linearly to 1e-4 (default 0.025 sgns, "
                        "0.05 cbow/fasttext/glove)")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all "
                                                             "cores)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--tokenizer", default="word",
                   help="word (default: words and punctuation), whitespace (pre-tokenized "
                        "text), char, zh-char or zh-word")
    p.add_argument("--lowercase", action="store_true", help="lowercase the text")
    p.add_argument("--minn", type=int, default=3, help="fasttext: shortest n-gram (default 3)")
    p.add_argument("--maxn", type=int, default=6, help="fasttext: longest n-gram (default 6)")
    p.add_argument("--buckets", type=int, default=2_000_000,
                   help="fasttext: n-gram hash buckets (default 2000000)")
    p.add_argument("--x-max", type=float, default=10.0,
                   help="glove: co-occurrence count where the weight reaches 1 (default 10)")
    p.add_argument("--memory-mb", type=float, default=1024.0,
                   help="glove: memory budget for counting co-occurrences, in MB (default 1024)")
    p.add_argument("--device", default="auto",
                   help="auto (GPU via torch if present, else the CPU kernels), cpu or cuda")
    p.add_argument("--engine", default="auto",
                   help="auto, numba (CPU kernels) or torch (torch on --device, for checks)")
    p.add_argument("--chunk-order", default="shuffled", help="shuffled (default): read the "
                   "corpus in chunks of ~16k tokens, in a new random order each epoch; file: "
                   "front to back every epoch, as word2vec and gensim")
    p.add_argument("--checkpoint-every", type=float, default=10.0,
                   help="minutes between checkpoints, 0 for none (default 10)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from its checkpoint (same settings)")
    add_encoding_errors(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..static import TrainConfig, train
    from ..static.interrupt import TrainingInterrupted

    cfg = TrainConfig(
        method=args.method, dim=args.dim, window=args.window, negative=args.negative,
        min_count=args.min_count, sample=args.sample, epochs=args.epochs, lr=args.lr,
        threads=args.threads, seed=args.seed, tokenizer=args.tokenizer,
        lowercase=args.lowercase, max_vocab=args.max_vocab,
        checkpoint_every=args.checkpoint_every, minn=args.minn, maxn=args.maxn,
        buckets=args.buckets, x_max=args.x_max, memory_mb=args.memory_mb,
        encoding_errors=args.encoding_errors, device=args.device,
        engine=args.engine, chunk_order=args.chunk_order, progress=show_progress())
    cfg.validate()
    try:
        model = train(args.corpus, args.output, cfg, resume=args.resume)
    except TrainingInterrupted as exc:
        print(f"tokvec train: {exc}", file=sys.stderr)
        return 143 if exc.signum == signal.SIGTERM else 130
    info = model.config.get("training", {})
    print(f"{model.config.get('method')} model ({len(model.vectors)} words, d={model.d_model}) "
          f"written to {args.output}; {info.get('words_per_s', 0):,.0f} words/s, final loss "
          f"{info.get('final_loss') or float('nan'):.4f}", file=sys.stderr)
    return 0
