"""``tokvec vocab``: count a corpus and write its vocabulary (token TAB count, by frequency)."""

from __future__ import annotations

import argparse
import sys

from ..atomic import atomic_file
from ..tokenization import WORD_LEVEL_KINDS, Tokenizer
from .common import add_encoding_errors, positive_int, show_progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vocab", help="build a vocabulary with counts from a corpus",
        description="Stream the corpus, count tokens, and write token TAB count lines: special "
                    "tokens first, then by descending count. Memory grows with the vocabulary, "
                    "not the corpus.")
    p.add_argument("corpus", nargs="+", help="UTF-8 text file(s)")
    p.add_argument("-o", "--output", help="TSV file (default stdout)")
    p.add_argument("--tokenizer", choices=WORD_LEVEL_KINDS, default="word",
                   help="word-level tokenizer kind (default word)")
    p.add_argument("--min-count", type=positive_int, default=1)
    p.add_argument("--max-size", type=positive_int, default=None,
                   help="keep at most this many entries (specials included)")
    p.add_argument("--lowercase", action="store_true")
    p.add_argument("--save-tokenizer", metavar="DIR",
                   help="also save the word-level tokenizer over this vocabulary")
    add_encoding_errors(p)
    p.set_defaults(func=_vocab)


def _vocab(args: argparse.Namespace) -> int:
    tok = Tokenizer.train(args.corpus, kind=args.tokenizer, vocab_size=args.max_size,
                          min_count=args.min_count, lowercase=args.lowercase,
                          errors=args.encoding_errors, progress=show_progress())
    if args.save_tokenizer:
        tok.save(args.save_tokenizer)
    vocab = tok.vocabulary()
    lines = (f"{t}\t{c}\n" for t, c in zip(vocab.tokens, vocab.counts.tolist(), strict=True))
    if args.output:
        with atomic_file(args.output, "w") as handle:
            handle.writelines(lines)
    else:
        sys.stdout.writelines(lines)
    print(f"{len(vocab)} entries ({vocab.num_specials} special), "
          f"{int(vocab.counts.sum())} tokens counted", file=sys.stderr)
    return 0
