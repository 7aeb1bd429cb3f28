"""``tokvec import`` and ``tokvec export``: vector files in, model directories out, and back.

``tokvec import vectors.bin -o model/`` reads word2vec (text or binary), GloVe, fastText ``.vec``
or an Embedding Projector TSV pair into a static model directory; ``tokvec export model/ -o
vectors.txt --format glove`` writes a model's words and vectors in any of those formats. Each
prints a one-line summary on stderr; on an error nothing is written.

A multilingual model exports one language with ``--lang``, or all of them with each word
written ``lang:word`` (``zh:神``, ``en:god``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ..errors import TokvecError
from ..formats import FORMATS, detect_format, export_vectors, import_vectors
from ..modeldir import CONFIG, load_model
from ..multilingual.vectors import MultilingualVectors
from ..tokenization import WORD_LEVEL_KINDS
from ..vectors import StaticVectors
from .common import add_encoding_errors, positive_int, show_progress

_FORMAT_HELP = ("word2vec (text, header), word2vec-bin, glove (text, no header), fasttext (.vec), "
                "tsv (projector vectors.tsv + metadata.tsv beside it; a path not ending in .tsv "
                "is their directory)")


def register(sub: argparse._SubParsersAction) -> None:
    i = sub.add_parser("import", help="make a model from a word2vec/GloVe/fastText/TSV file",
                       description="Read a vector file into a static model directory; file "
                                   "order becomes id order. " + _FORMAT_HELP + ".")
    i.add_argument("vectors", help="vector file (may be gzip, bzip2 or xz compressed), or a "
                                   "projector directory")
    i.add_argument("-o", "--output", required=True, help="model directory to write")
    i.add_argument("--format", choices=("auto", *FORMATS), default="auto",
                   help="file format (default auto: detected from the first bytes)")
    i.add_argument("--tokenizer", choices=WORD_LEVEL_KINDS, default="word",
                   help="word-level tokenizer over the imported words (default word)")
    i.add_argument("--lowercase", action="store_true", help="lowercase text before lookup")
    i.add_argument("--limit", type=positive_int, default=None,
                   help="keep only the first N vectors of the file")
    add_encoding_errors(i)
    i.add_argument("--duplicates", choices=("error", "first"), default="error",
                   help="a word seen twice: stop with its line (error, default) or keep the "
                        "first and drop the rest (first, as gensim does)")
    i.set_defaults(func=_import)

    e = sub.add_parser("export", help="write a model's word vectors as a vector file",
                       description="Write a model's ordinary words (special tokens left out) and "
                                   "their vectors in id order. " + _FORMAT_HELP + ".")
    e.add_argument("model", help="model directory")
    e.add_argument("-o", "--output", required=True,
                   help="output file (a name ending in .gz is compressed)")
    e.add_argument("--format", choices=(*FORMATS, "hf-marian"), required=True,
                   help="file format; hf-marian: a translation model as a HuggingFace "
                        "MarianMT directory (-o is that directory)")
    e.add_argument("--lang", help="multilingual model: write this language's words only "
                                  "(default: every language, each word written lang:word)")
    e.set_defaults(func=_export)


def _check_model_output(path: Path) -> None:
    """Refuse to replace a file, or a directory that is not a model, with a model directory."""
    if path.is_file():
        raise TokvecError("exists and is a file; the output is a model directory", path=path)
    if path.is_dir() and any(path.iterdir()) and not (path / CONFIG).is_file():
        raise TokvecError("exists and is not a model directory (no config.json); refusing to "
                          "replace it", path=path)


def _import(args: argparse.Namespace) -> int:
    output = Path(args.output)
    _check_model_output(output)
    fmt = detect_format(args.vectors) if args.format == "auto" else args.format
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = import_vectors(args.vectors, fmt, tokenizer_kind=args.tokenizer,
                               lowercase=args.lowercase, limit=args.limit,
                               encoding_errors=args.encoding_errors,
                               duplicates=args.duplicates, progress=show_progress())
    for warning in caught:
        print(f"tokvec import: warning: {warning.message}", file=sys.stderr)
    model.save(output)
    print(f"imported {len(model.vectors)} words x {model.d_model} dims ({fmt}) from "
          f"{args.vectors} into {output}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    if args.format == "hf-marian":
        return _export_marian(model, args)
    vectors = getattr(model, "vectors", None)
    if isinstance(vectors, MultilingualVectors):
        vectors = (vectors.language(args.lang) if args.lang is not None
                   else _prefixed(vectors))
    elif args.lang is not None:
        raise TokvecError("--lang applies to multilingual models only", path=args.model)
    if not isinstance(vectors, StaticVectors):
        raise TokvecError("this model kind has no static word vectors to export",
                          path=args.model)
    export_vectors(vectors, args.output, args.format, progress=show_progress())
    print(f"exported {len(vectors)} words x {vectors.dim} dims ({args.format}) to "
          f"{args.output}", file=sys.stderr)
    return 0


def _export_marian(model: object, args: argparse.Namespace) -> int:
    from ..seq2seq.marian import export_marian
    from ..seq2seq.translator import TranslationModel

    if not isinstance(model, TranslationModel):
        raise TokvecError("--format hf-marian needs a translation model (made by `tokvec "
                          "seq2seq`)", path=args.model)
    export_marian(model, args.output)
    print(f"exported {args.model} as a MarianMT directory to {args.output} (transformers: "
          f"MarianMTModel.from_pretrained; CTranslate2: ct2-transformers-converter)",
          file=sys.stderr)
    return 0


def _prefixed(space: MultilingualVectors) -> StaticVectors:
    """Every language's words as ``lang:word``, in language then id order, in one list."""
    import numpy as np

    words = [f"{lang}:{w}" for lang in space.languages for w in space.language(lang).words]
    rows = np.concatenate([space.language(lang).vectors for lang in space.languages])
    return StaticVectors(words, rows)
