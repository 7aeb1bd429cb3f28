"""``tokvec align SRC TGT -o JOINT --dictionary PAIRS.tsv``: one space for two languages.

Each side is a static model directory or a vector file (word2vec, GloVe, fastText, TSV, read as
``tokvec import`` reads it by default: format detected, words matched exactly as written; import
it first with ``tokvec import --lowercase`` for a lowercased lookup). The source is mapped into
the target's space by orthogonal Procrustes over the dictionary pairs both models hold, then
``--refine`` rounds rebuild the dictionary from mutual CSLS neighbours
(:mod:`tokvec.multilingual.align`). The output is a
``multilingual`` model directory with both languages, source first.

A side's language is ``--src-lang`` / ``--tgt-lang``, else read from its name: the last part of
the file or directory name (split at ``.``, ``_``, ``-``) made of two or three letters, such as
``zh`` in ``runs/zh`` or ``en`` in ``wiki.en.vec``.

>>> language_from_path("vectors/cc.es.300.vec.gz"), language_from_path("runs/zh")
('es', 'zh')
>>> language_from_path("runs/w2v") is None
True
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from ..errors import TokvecError
from ..modeldir import CONFIG
from .common import nonneg_int, positive_int

_NOT_LANGUAGES = {"vec", "txt", "bin", "tsv", "gz", "bz2", "xz", "w2v", "sg", "cbow", "ft"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "align", help="map one language's vectors into another's space (Procrustes + CSLS)",
        description="Learn an orthogonal map from SRC's space to TGT's over a bilingual "
                    "dictionary (source TAB target per line), refine it with mutual CSLS "
                    "neighbours, and write one multilingual model with both languages.")
    p.add_argument("source", metavar="SRC_MODEL",
                   help="source model directory or vector file (mapped)")
    p.add_argument("target", metavar="TGT_MODEL",
                   help="target model directory or vector file (its space is kept)")
    p.add_argument("-o", "--output", required=True, help="joint model directory to write")
    p.add_argument("--dictionary", required=True, metavar="PAIRS.tsv",
                   help="seed dictionary: source TAB target per line")
    p.add_argument("--refine", type=nonneg_int, default=5,
                   help="refinement rounds (default 5; 0: plain Procrustes)")
    p.add_argument("--refine-top", type=positive_int, default=15000, metavar="N",
                   help="refinement pairs words among the N most frequent of each side "
                        "(default 15000)")
    p.add_argument("--refine-dictionary", choices=("replace", "union"), default="union",
                   help="each round's mutual neighbours are joined with the seed pairs "
                        "(default: better P@1 on the small zh-en Bible spaces) or replace "
                        "them (as Conneau et al. 2018)")
    p.add_argument("--csls-k", type=positive_int, default=10,
                   help="neighbours in the CSLS penalty (default 10)")
    p.add_argument("--src-lang", help="source language (default: from SRC's name)")
    p.add_argument("--tgt-lang", help="target language (default: from TGT's name)")
    p.set_defaults(func=_align)


def language_from_path(path: str) -> str | None:
    """The language code a model or vector file's name carries, or None."""
    parts = re.split(r"[._\-\s]+", Path(path).name)
    codes = [p.lower() for p in parts
             if re.fullmatch(r"[A-Za-z]{2,3}", p) and p.lower() not in _NOT_LANGUAGES]
    return codes[-1] if codes else None


def _language(given: str | None, path: str, side: str) -> str:
    if given is not None:
        return given
    found = language_from_path(path)
    if found is None:
        raise TokvecError(f"cannot tell the {side} language from the name {Path(path).name!r}; "
                          f"give --{'src' if side == 'source' else 'tgt'}-lang")
    return found


def _load_side(path: str, side: str):  # -> StaticModel
    from ..formats import import_vectors
    from ..modeldir import load_model
    from ..static_model import StaticModel

    p = Path(path)
    if p.is_dir():
        if not (p / CONFIG).is_file():
            raise TokvecError(f"the {side} is a directory but not a model (no config.json)",
                              path=p)
        model = load_model(p)
        if not isinstance(model, StaticModel):
            raise TokvecError(f"the {side} must be a static model, got kind "
                              f"{model.config.get('kind')!r}", path=p)
        return model
    return import_vectors(p)


def _align(args: argparse.Namespace) -> int:
    from ..multilingual.align import AlignSettings, align_models
    from ..multilingual.dictionary import read_dictionary
    from .io import _check_model_output

    output = Path(args.output)
    _check_model_output(output)
    for path, side in ((args.source, "source"), (args.target, "target")):
        if not Path(path).exists():
            raise TokvecError(f"no such {side} model directory or vector file", path=path)
    src_lang = _language(args.src_lang, args.source, "source")
    tgt_lang = _language(args.tgt_lang, args.target, "target")
    if not Path(args.dictionary).is_file():
        raise TokvecError("no such file", path=args.dictionary)
    pairs = read_dictionary(args.dictionary)
    src, tgt = _load_side(args.source, "source"), _load_side(args.target, "target")
    settings = AlignSettings(refine=args.refine, refine_top=args.refine_top,
                             csls_k=args.csls_k, refine_dictionary=args.refine_dictionary)
    record = {"dictionary": str(args.dictionary),
              "source": {"lang": src_lang, "path": str(args.source), "words": len(src.vectors)},
              "target": {"lang": tgt_lang, "path": str(args.target), "words": len(tgt.vectors)}}
    start = time.perf_counter()
    model = align_models(src, tgt, pairs, src_lang, tgt_lang, settings,
                         log=lambda msg: print(f"align: {msg}", file=sys.stderr),
                         record=record)
    model.save(output)
    info = model.config["alignment"]
    print(f"aligned {src_lang} ({len(src.vectors)} words) into {tgt_lang} "
          f"({len(tgt.vectors)} words): {info['pairs_covered']} of {len(pairs)} dictionary "
          f"pairs covered, {len(info['rounds']) - 1} refinement rounds, "
          f"{time.perf_counter() - start:.1f} s; wrote {output}", file=sys.stderr)
    return 0
