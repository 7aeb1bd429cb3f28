"""``tokvec init``: a new embedding table over a tokenizer's vocabulary, random or pretrained."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import TokvecError
from ..modeldir import base_config
from ..static_model import StaticModel
from ..table import INITS, EmbeddingTable
from ..tokenization import Tokenizer
from ..vocab import PAD
from .common import positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "init", help="create an embedding table (random or from pretrained vectors)",
        description="Create a |V| x d_model table over a tokenizer's vocabulary. Random "
                    "initialisations: normal N(0, 1/d), uniform U(-0.5/d, 0.5/d), xavier "
                    "U(+-sqrt(6/(|V|+d))). With --pretrained, rows are copied by token from a "
                    "vector file or model and a coverage report is printed; the rest keep the "
                    "random initialisation.")
    p.add_argument("tokenizer", help="directory with tokenizer.json (e.g. from `tokvec vocab "
                                     "--save-tokenizer` or `tokvec tokenizer train`)")
    p.add_argument("-o", "--output", required=True, help="model directory to write")
    p.add_argument("--dim", type=positive_int, default=None,
                   help="d_model (default 100, or the pretrained vectors' dimension)")
    p.add_argument("--init", choices=INITS, default="normal")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pretrained", metavar="VECTORS",
                   help="model directory or vector file (word2vec, GloVe, fastText .vec)")
    p.set_defaults(func=_init)


def _init(args: argparse.Namespace) -> int:
    tok = Tokenizer.load(args.tokenizer)
    vocab = tok.vocabulary()
    source = None
    if args.pretrained:
        source = _load_vectors(args.pretrained)
        if args.dim is not None and args.dim != source.dim:
            raise TokvecError(f"--dim {args.dim} does not match the pretrained vectors' "
                              f"dimension {source.dim}", path=args.pretrained)
    dim = args.dim or (source.dim if source is not None else 100)
    pad = [vocab.get(PAD)] if PAD in vocab else []
    table = EmbeddingTable.initialise(len(vocab), dim, args.init, args.seed, zero_rows=pad)
    report = None
    if source is not None:
        ordinary = vocab.word_ids()
        sub = EmbeddingTable(table.weights[ordinary])
        report = sub.fill_from([vocab.tokens[i] for i in ordinary], lookup=source)
        table.weights[ordinary] = sub.weights
    cfg = base_config("static", dim, method="init", init=args.init, seed=args.seed,
                      pretrained=args.pretrained, coverage=report)
    StaticModel(tok, table.weights, cfg).save(args.output)
    if report is not None:
        print(json.dumps({k: v for k, v in report.items() if k != "missing_examples"}),
              file=sys.stderr)
    print(f"table {len(vocab)} x {dim} ({args.init}) written to {args.output}", file=sys.stderr)
    return 0


def _load_vectors(path: str):
    from pathlib import Path

    if Path(path).is_dir():
        from .neighbors import model_vectors

        return model_vectors(path)
    from ..formats import import_vectors

    return import_vectors(path).vectors
