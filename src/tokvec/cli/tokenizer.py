"""``tokvec tokenizer train|encode``: train a tokenizer on a corpus, or encode text with one."""

from __future__ import annotations

import argparse
import json
import sys

from ..atomic import atomic_file
from ..errors import TokvecError
from ..pieces import readable_pieces
from ..textio import iter_line_batches
from ..tokenization import KINDS, Tokenizer
from .common import add_encoding_errors, positive_int, show_progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tokenizer", help="train a tokenizer or encode text with one")
    verbs = p.add_subparsers(dest="tokenizer_command", metavar="ACTION")
    verbs.required = True

    t = verbs.add_parser("train", help="train a tokenizer on text files",
                         description="Train a tokenizer and write DIR/tokenizer.json "
                                     "(HuggingFace format) and DIR/tokenizer_config.json.")
    t.add_argument("corpus", nargs="+", help="UTF-8 text file(s), one sentence or paragraph "
                                            "per line")
    t.add_argument("-o", "--output", required=True, help="output directory")
    t.add_argument("--kind", choices=KINDS, default="word", help="tokenizer kind (default word)")
    t.add_argument("--vocab-size", type=positive_int, default=None,
                   help="target vocabulary size (subword kinds: default 30000; word-level "
                        "kinds: a cap, default none)")
    t.add_argument("--min-count", type=positive_int, default=1,
                   help="drop tokens seen fewer times (default 1)")
    t.add_argument("--lowercase", action="store_true", help="lowercase before tokenizing")
    add_encoding_errors(t)
    t.set_defaults(func=_train)

    e = verbs.add_parser("encode", help="encode text with a trained tokenizer",
                         description="Print each input line's tokens (or ids), space separated. "
                                     "Byte-level BPE pieces are shown as text, the word "
                                     "boundary as \u2581 and partial UTF-8 bytes as <0xE4>; "
                                     "--raw prints the tokenizer's own strings (Ġ for a "
                                     "space).")
    e.add_argument("tokenizer", help="directory with tokenizer.json (a tokenizer or a model)")
    e.add_argument("--input", "-i", required=True, help="UTF-8 text file to encode")
    e.add_argument("-o", "--output", help="output file (default stdout)")
    e.add_argument("--ids", action="store_true", help="print ids instead of tokens")
    e.add_argument("--jsonl", action="store_true",
                   help="one JSON object per line: tokens (the tokenizer's own strings), "
                        "pieces (as printed), ids, offsets, word ids")
    e.add_argument("--raw", action="store_true",
                   help="print the tokenizer's own token strings (byte-level BPE: Ġ, Ã©, ...)")
    add_encoding_errors(e)
    e.set_defaults(func=_encode)


def _train(args: argparse.Namespace) -> int:
    tok = Tokenizer.train(args.corpus, kind=args.kind, vocab_size=args.vocab_size,
                          min_count=args.min_count, lowercase=args.lowercase,
                          errors=args.encoding_errors, progress=show_progress())
    tok.save(args.output)
    print(f"tokenizer ({args.kind}, {tok.vocab_size} tokens) written to {args.output}",
          file=sys.stderr)
    return 0


def _encode(args: argparse.Namespace) -> int:
    tok = Tokenizer.load(args.tokenizer)
    kind = "raw" if args.raw else tok.kind

    def lines_out():
        for batch in iter_line_batches(args.input, 4096, args.encoding_errors):
            for enc in tok.encode_batch(batch):
                if args.jsonl:
                    yield json.dumps({"tokens": enc.tokens,
                                      "pieces": readable_pieces(kind, enc.tokens),
                                      "ids": enc.ids, "offsets": enc.offsets,
                                      "word_ids": enc.word_ids}, ensure_ascii=False)
                elif args.ids:
                    yield " ".join(map(str, enc.ids))
                else:
                    yield " ".join(readable_pieces(kind, enc.tokens))

    if args.output:
        with atomic_file(args.output, "w") as handle:
            for line in lines_out():
                handle.write(line + "\n")
    else:
        for line in lines_out():
            sys.stdout.write(line + "\n")
    return 0


__all__ = ["TokvecError", "register"]
