"""``tokvec evaluate``: word similarity, analogies, (contextual models) WiC polysemy and
(multilingual models) bilingual lexicon induction.

``--bli`` reads ``source TAB target`` dictionaries and reports precision at 1, 5 and 10
(:mod:`tokvec.multilingual.bli`); the language pair is ``--src-lang`` / ``--tgt-lang``, else the
model's first and second languages (``tokvec align`` writes the source first). On a
multilingual model ``--similarity`` and ``--analogy`` score one language, named by ``--lang``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import TokvecError
from ..evaluation import ANALOGY_RESTRICT, evaluate_vectors
from ..modeldir import load_model, update_metrics
from ..multilingual.vectors import MultilingualVectors
from ..textio import result_key
from .common import positive_int, print_json, show_progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="evaluate a model on similarity, analogy and WiC files",
        description="Spearman on word-pair files (word1 TAB word2 TAB score), 3CosAdd accuracy "
                    "on Google-format analogy files, and AUC on WiC-style files. Results are "
                    "printed and merged into MODEL/metrics.json.")
    p.add_argument("model", help="model directory")
    p.add_argument("--similarity", nargs="+", default=[], metavar="FILE",
                   help="word-pair similarity file(s)")
    p.add_argument("--analogy", nargs="+", default=[], metavar="FILE",
                   help="analogy file(s) in the Google format")
    p.add_argument("--wic", nargs="+", default=[], metavar="FILE",
                   help="WiC-style file(s): label TAB word TAB sentence1 TAB sentence2")
    p.add_argument("--bli", nargs="+", default=[], metavar="FILE",
                   help="multilingual models: bilingual dictionaries (source TAB target) to "
                        "translate, scored by precision at 1, 5 and 10")
    p.add_argument("--translation", nargs=2, action="append", default=[],
                   metavar=("SRC_FILE", "REF_FILE"),
                   help="translation models: translate SRC_FILE and score it against REF_FILE "
                        "with sacrebleu (BLEU, chrF; zh tokenization for a Chinese reference), "
                        "keyed by REF_FILE's name; may repeat")
    p.add_argument("--beam", type=positive_int, default=5,
                   help="--translation beam size (default 5; 1 is greedy)")
    p.add_argument("--retrieval", choices=("csls", "nn"), default="csls",
                   help="--bli retrieval: CSLS with k=10 (default) or cosine nearest neighbour")
    p.add_argument("--src-lang", help="--bli source language (default: the model's first)")
    p.add_argument("--tgt-lang", help="--bli target language (default: the model's second)")
    p.add_argument("--lang", help="multilingual models: the language --similarity and "
                                  "--analogy score")
    p.add_argument("--restrict", type=positive_int, default=ANALOGY_RESTRICT,
                   help=f"analogies search the N most frequent words (default {ANALOGY_RESTRICT})")
    p.add_argument("--case-sensitive", action="store_true",
                   help="match words exactly (default: case-insensitive, as gensim)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-save", action="store_true", help="do not write metrics.json")
    p.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    refs = [ref for _, ref in args.translation]
    files = (*args.similarity, *args.analogy, *args.wic, *args.bli, *refs)
    if not files:
        raise TokvecError("give at least one of --similarity, --analogy, --wic, --bli, "
                          "--translation")
    stems = [result_key(f) for f in files]
    if len(set(stems)) != len(stems):
        raise TokvecError("two input files share a name; results are keyed by file name")
    for f in (*files, *(src for src, _ in args.translation)):
        if not Path(f).is_file():
            raise TokvecError("no such file", path=f)
    model: Any = load_model(args.model)
    results: dict[str, Any] = {}
    if args.translation:
        from ..seq2seq.scoring import evaluate_translation
        from ..seq2seq.translator import TranslationModel

        if not isinstance(model, TranslationModel):
            raise TokvecError("--translation needs a translation model (made by `tokvec "
                              f"seq2seq`); this model is {model.config.get('kind')!r}",
                              path=args.model)
        for src, ref in args.translation:
            results[result_key(ref)] = evaluate_translation(model, src, ref, args.beam,
                                                            progress=show_progress())
    if args.similarity or args.analogy:
        vectors = getattr(model, "vectors", None)
        if vectors is None:
            raise TokvecError("similarity and analogy need static word vectors; this model "
                              f"is {model.config.get('kind')!r}", path=args.model)
        if isinstance(vectors, MultilingualVectors):
            if args.lang is None:
                raise TokvecError(f"a multilingual model ({', '.join(vectors.languages)}): "
                                  "name the language to score with --lang", path=args.model)
            vectors = vectors.language(args.lang)
        elif args.lang is not None:
            raise TokvecError("--lang applies to multilingual models only", path=args.model)
        results.update(evaluate_vectors(vectors, args.similarity, args.analogy,
                                        restrict=args.restrict,
                                        case_insensitive=not args.case_sensitive))
    if args.bli:
        from ..multilingual.bli import evaluate_bli

        space = getattr(model, "vectors", None)
        if not isinstance(space, MultilingualVectors):
            raise TokvecError("--bli needs a multilingual model (made by `tokvec align`); this "
                              f"model is {model.config.get('kind')!r}", path=args.model)
        for f in args.bli:
            results[result_key(f)] = evaluate_bli(space, f, args.src_lang, args.tgt_lang,
                                                 args.retrieval)
    if args.wic:
        from ..contextual.wic import evaluate_wic

        for f in args.wic:
            results[result_key(f)] = evaluate_wic(model, f)
    if not args.no_save:
        update_metrics(args.model, results)
    if args.json:
        print_json(results)
    else:
        _print_table(results)
    return 0


def _print_table(results: dict[str, Any]) -> None:
    for name, r in results.items():
        if "bleu" in r:
            line = (f"{name:<24} bleu {r['bleu']:.2f}   chrf {r['chrf']:.2f}   sentences "
                    f"{r['sentences']}   (beam {r['beam']}; {r['bleu_signature']})")
        elif "spearman" in r:
            line = (f"{name:<24} spearman {r['spearman']:.4f}   pairs {r['pairs']}"
                    f"   oov {r['oov']}")
        elif "p@1" in r:
            line = (f"{name:<24} p@1 {r['p@1']:.4f}   p@5 {r['p@5']:.4f}   p@10 {r['p@10']:.4f}"
                    f"   words {r['words']}   oov {r['oov']}   ({r['src_lang']}->"
                    f"{r['tgt_lang']}, {r['retrieval']})")
        elif "accuracy_covered" in r:
            line = (f"{name:<24} accuracy {100 * r['accuracy']:.2f}%   covered-only "
                    f"{100 * r['accuracy_covered']:.2f}%   ({r['covered']}/{r['questions']} "
                    "answerable)")
        else:
            line = (f"{name:<24} auc {r['auc']:.4f}   accuracy {r['accuracy']:.4f}"
                    f"   pairs {r['pairs']}")
        sys.stdout.write(line + "\n")
