"""``tokvec neighbors | analogy | similarity``: query a model's word vectors.

On a multilingual model (``tokvec align``) a query word's language is ``--src-lang`` (or
``--lang1`` / ``--lang2``), else the only language that has the word; neighbours come from
``--lang`` (default: the query's language). ``--retrieval csls`` ranks by CSLS (k = 10) instead
of cosine, on any static or multilingual model.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import TokvecError
from ..modeldir import load_model
from ..multilingual.vectors import MultilingualVectors
from ..vectors import StaticVectors
from .common import positive_int, print_json


def register(sub: argparse._SubParsersAction) -> None:
    n = sub.add_parser("neighbors", help="nearest neighbours of a word",
                       description="Print the k nearest words by cosine similarity (or CSLS); "
                                   "on a multilingual model, in any of its languages.")
    n.add_argument("model", help="model directory")
    n.add_argument("word", nargs="+", help="word(s); several are averaged")
    n.add_argument("-k", type=positive_int, default=10, help="how many (default 10)")
    n.add_argument("--lang", help="multilingual model: language of the neighbours "
                                  "(default: the query word's)")
    n.add_argument("--src-lang", help="multilingual model: language of the query word "
                                      "(default: the one language that has it)")
    n.add_argument("--retrieval", choices=("nn", "csls"), default="nn",
                   help="rank by cosine (nn, default) or CSLS with k=10 (csls)")
    n.add_argument("--json", action="store_true", help="print JSON")
    n.set_defaults(func=_neighbors)

    a = sub.add_parser("analogy", help="a is to b as c is to ? (b - a + c)",
                       description="3CosAdd: words nearest to b - a + c, excluding a, b, c.")
    a.add_argument("model", help="model directory")
    a.add_argument("a")
    a.add_argument("b")
    a.add_argument("c")
    a.add_argument("-k", type=positive_int, default=5, help="how many answers (default 5)")
    a.add_argument("--lang", help="multilingual model: the words' language (default: the one "
                                  "language that has all three)")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(func=_analogy)

    s = sub.add_parser("similarity", help="cosine similarity of two words")
    s.add_argument("model", help="model directory")
    s.add_argument("word1")
    s.add_argument("word2")
    s.add_argument("--lang1", help="multilingual model: language of word1 (default: found)")
    s.add_argument("--lang2", help="multilingual model: language of word2 (default: found)")
    s.set_defaults(func=_similarity)


def model_space(path: str) -> StaticVectors | MultilingualVectors:
    """The word vectors of any model directory that has them (one language or several)."""
    model: Any = load_model(path)
    vectors = getattr(model, "vectors", None)
    if not isinstance(vectors, StaticVectors | MultilingualVectors):
        raise TokvecError(f"model kind {model.config.get('kind')!r} has no static word vectors; "
                          "use `tokvec embed` for contextual vectors", path=path)
    return vectors


def model_vectors(path: str, lang: str | None = None) -> StaticVectors:
    """One language's word vectors: the model's own, or language ``lang`` of a multilingual one."""
    vectors = model_space(path)
    if isinstance(vectors, MultilingualVectors):
        if lang is None:
            raise TokvecError(f"a multilingual model ({', '.join(vectors.languages)}): name "
                              "one language (--lang)", path=path)
        return vectors.language(lang)
    if lang is not None:
        raise TokvecError("--lang applies to multilingual models only", path=path)
    return vectors


def _monolingual_flags(vectors: Any, path: str, **flags: str | None) -> None:
    if isinstance(vectors, StaticVectors):
        given = [name for name, value in flags.items() if value is not None]
        if given:
            raise TokvecError(f"--{given[0].replace('_', '-')} applies to multilingual models "
                              "only", path=path)


def _print_ranked(results: list[tuple[str, float]], as_json: bool) -> None:
    if as_json:
        print_json([{"word": w, "similarity": s} for w, s in results])
        return
    width = max((len(w) for w, _ in results), default=0)
    for w, s in results:
        sys.stdout.write(f"{w:<{width}}  {s:.4f}\n")


def _neighbors(args: argparse.Namespace) -> int:
    kv = model_space(args.model)
    _monolingual_flags(kv, args.model, lang=args.lang, src_lang=args.src_lang)
    if isinstance(kv, StaticVectors):
        if args.retrieval == "nn":
            results = kv.most_similar(positive=args.word, topn=args.k)
        else:
            results = MultilingualVectors({"": kv}).most_similar(args.word, topn=args.k,
                                                                  retrieval="csls")
    else:
        results = kv.most_similar(args.word, src_lang=args.src_lang, lang=args.lang,
                                  topn=args.k, retrieval=args.retrieval)
    _print_ranked(results, args.json)
    return 0


def _analogy(args: argparse.Namespace) -> int:
    kv = model_space(args.model)
    _monolingual_flags(kv, args.model, lang=args.lang)
    if isinstance(kv, StaticVectors):
        results = kv.most_similar(positive=[args.b, args.c], negative=[args.a], topn=args.k)
    else:
        results = kv.analogy(args.a, args.b, args.c, lang=args.lang, topn=args.k)
    _print_ranked(results, args.json)
    return 0


def _similarity(args: argparse.Namespace) -> int:
    kv = model_space(args.model)
    _monolingual_flags(kv, args.model, lang1=args.lang1, lang2=args.lang2)
    if isinstance(kv, StaticVectors):
        value = kv.similarity(args.word1, args.word2)
    else:
        value = kv.similarity(args.word1, args.word2, args.lang1, args.lang2)
    print(f"{value:.4f}")
    return 0
