"""``tokvec neighbors | analogy | similarity``: query a model's word vectors."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import TokvecError
from ..modeldir import load_model
from ..vectors import StaticVectors
from .common import positive_int, print_json


def register(sub: argparse._SubParsersAction) -> None:
    n = sub.add_parser("neighbors", help="nearest neighbours of a word",
                       description="Print the k nearest words by cosine similarity.")
    n.add_argument("model", help="model directory")
    n.add_argument("word", nargs="+", help="word(s); several are averaged")
    n.add_argument("-k", type=positive_int, default=10, help="how many (default 10)")
    n.add_argument("--json", action="store_true", help="print JSON")
    n.set_defaults(func=_neighbors)

    a = sub.add_parser("analogy", help="a is to b as c is to ? (b - a + c)",
                       description="3CosAdd: words nearest to b - a + c, excluding a, b, c.")
    a.add_argument("model", help="model directory")
    a.add_argument("a")
    a.add_argument("b")
    a.add_argument("c")
    a.add_argument("-k", type=positive_int, default=5, help="how many answers (default 5)")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(func=_analogy)

    s = sub.add_parser("similarity", help="cosine similarity of two words")
    s.add_argument("model", help="model directory")
    s.add_argument("word1")
    s.add_argument("word2")
    s.set_defaults(func=_similarity)


def model_vectors(path: str) -> StaticVectors:
    """The word vectors of any model directory that has them."""
    model: Any = load_model(path)
    vectors = getattr(model, "vectors", None)
    if not isinstance(vectors, StaticVectors):
        raise TokvecError(f"model kind {model.config.get('kind')!r} has no static word vectors; "
                          "use `tokvec embed` for contextual vectors", path=path)
    return vectors


def _print_ranked(results: list[tuple[str, float]], as_json: bool) -> None:
    if as_json:
        print_json([{"word": w, "similarity": s} for w, s in results])
        return
    width = max((len(w) for w, _ in results), default=0)
    for w, s in results:
        sys.stdout.write(f"{w:<{width}}  {s:.4f}\n")


def _neighbors(args: argparse.Namespace) -> int:
    kv = model_vectors(args.model)
    _print_ranked(kv.most_similar(positive=args.word, topn=args.k), args.json)
    return 0


def _analogy(args: argparse.Namespace) -> int:
    kv = model_vectors(args.model)
    _print_ranked(kv.most_similar(positive=[args.b, args.c], negative=[args.a], topn=args.k),
                  args.json)
    return 0


def _similarity(args: argparse.Namespace) -> int:
    kv = model_vectors(args.model)
    print(f"{kv.similarity(args.word1, args.word2):.4f}")
    return 0
