"""Bilingual lexicon induction (BLI): translate dictionary words by retrieval, score precision.

For each source word of a ``source TAB target`` dictionary (a word may have several lines, one
per translation), the top 10 words of the target language are retrieved by cosine (``nn``) or
CSLS (``csls``, over the whole target vocabulary, the penalty over the whole source vocabulary).
A word counts as right at k when *any* of its gold translations is among the first k: ``p@1``,
``p@5`` and ``p@10`` are the fractions of scored words right at 1, 5, 10 (Conneau et al. 2018).

**Out of vocabulary.** A source word missing from the source vocabulary, or one whose gold
translations are all missing from the target vocabulary (it could not be right), is not scored:
it is counted in ``oov``; ``words`` counts those scored. Precision is over ``words``, as the MUSE
evaluation reports it; ``words + oov`` is every distinct source word of the file (spellings that
the model's normalisation makes one word count once).

>>> import numpy as np, os, tempfile
>>> from tokvec.vectors import StaticVectors
>>> from tokvec.multilingual.vectors import MultilingualVectors
>>> es = StaticVectors(["perro", "gato"], np.array([[1, 0], [0, 1]], np.float32))
>>> en = StaticVectors(["dog", "cat", "pet"], np.array([[1, .1], [.2, 1], [1, 1]], np.float32))
>>> path = os.path.join(tempfile.mkdtemp(), "test.tsv")
>>> _ = open(path, "w").write("perro\\tdog\\ngato\\tcat\\ngato\\tkitty\\nsol\\tsun\\n")
>>> r = evaluate_bli(MultilingualVectors({"es": es, "en": en}), path, retrieval="nn")
>>> r["p@1"], r["words"], r["oov"]        # sol is not in the Spanish vocabulary
(1.0, 2, 1)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import TokvecError
from .dictionary import gold_sets, read_dictionary
from .retrieval import check_retrieval, csls_top_k, retrieve
from .vectors import MultilingualVectors

BLI_KS = (1, 5, 10)


def default_pair(vectors: MultilingualVectors, src_lang: str | None,
                 tgt_lang: str | None) -> tuple[str, str]:
    """The language pair: the ones given, else the model's first and second languages."""
    langs = vectors.languages
    if len(langs) < 2 and (src_lang is None or tgt_lang is None):
        raise TokvecError(f"the model has one language ({langs[0]}); BLI needs two")
    src = src_lang if src_lang is not None else langs[0]
    tgt = tgt_lang if tgt_lang is not None else next(lg for lg in langs if lg != src)
    vectors.language(src)
    vectors.language(tgt)
    if src == tgt:
        raise TokvecError(f"source and target language are both {src!r}")
    return src, tgt


def evaluate_bli(vectors: MultilingualVectors, path: str | os.PathLike[str],
                 src_lang: str | None = None, tgt_lang: str | None = None,
                 retrieval: str = "csls") -> dict[str, Any]:
    """Precision at 1, 5 and 10 of translating the dictionary at ``path`` (see the module)."""
    check_retrieval(retrieval)
    src_lang, tgt_lang = default_pair(vectors, src_lang, tgt_lang)
    pairs = read_dictionary(path)
    src, tgt = vectors.language(src_lang), vectors.language(tgt_lang)
    gold, oov = gold_sets(pairs, src, tgt)
    result: dict[str, Any] = {f"p@{k}": 0.0 for k in BLI_KS}
    result.update(words=len(gold), oov=oov, pairs=len(pairs), retrieval=retrieval,
                  src_lang=src_lang, tgt_lang=tgt_lang)
    if not gold:
        return result
    sources = np.fromiter(gold, dtype=np.int64)
    queries = src.unit[sources]
    kmax = max(BLI_KS)
    if retrieval == "csls":
        r, aug = vectors.csls_target(src_lang, tgt_lang)
        top = csls_top_k(tgt.unit, queries, r, kmax, augmented=aug)[0]
    else:
        top = retrieve(tgt.unit, queries, kmax, "nn")
    # rank of the first gold translation among the retrieved (kmax when none is)
    first = np.full(len(sources), kmax)
    for n, s in enumerate(sources.tolist()):
        hits = [rank for rank, j in enumerate(top[n].tolist()) if j in gold[s]]
        if hits:
            first[n] = hits[0]
    for k in BLI_KS:
        result[f"p@{k}"] = float(np.mean(first < k))
    return result
