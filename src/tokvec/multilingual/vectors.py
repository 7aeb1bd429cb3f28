"""Queries over several languages that share one vector space.

:class:`MultilingualVectors` holds one :class:`~tokvec.vectors.StaticVectors` per language, all of
the same dimension, and answers across them: neighbours of a word of one language among the words
of another, by cosine (``retrieval="nn"``) or CSLS (``"csls"``, see :mod:`.retrieval`), and the
similarity of two words of any languages. A query word's language is the one given, or else the
only language whose vocabulary holds it; a word several languages hold (Spanish and English
``no``) needs its language named.

CSLS needs every target word's neighbourhood density among the source words (|T| x |S| dot
products, computed once and cached). A single query against a language of more than
:data:`EXACT_CSLS_ROWS` words ranks its :data:`CSLS_CANDIDATES` nearest words by cosine with exact
CSLS instead; bilingual lexicon induction (:mod:`.bli`) always scores the whole vocabulary.

>>> import numpy as np
>>> from tokvec.vectors import StaticVectors
>>> es = StaticVectors(["perro", "gato", "no"], np.array([[1, 0], [0, 1], [1, 1]], np.float32))
>>> en = StaticVectors(["dog", "cat", "no"], np.array([[1, .1], [.1, 1], [-1, 0]], np.float32))
>>> mv = MultilingualVectors({"es": es, "en": en})
>>> [(w, round(s, 3)) for w, s in mv.most_similar("perro", lang="en", topn=1)]  # es only
[('dog', 0.995)]
>>> mv.languages_of("no")
['es', 'en']
>>> mv.most_similar("no", lang="en")                          # doctest: +ELLIPSIS
Traceback (most recent call last):
  ...
tokvec.errors.TokvecError: word 'no' is in 2 languages (es, en); name the one you mean ...
>>> round(mv.similarity("gato", "cat"), 3), round(mv.similarity("no", "no", "es", "en"), 3)
(0.995, -0.707)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import TokvecError
from ..vectors import StaticVectors, top_k
from .retrieval import CSLS_K, check_retrieval, csls_rows, csls_top_k, mean_top_k

# One CSLS query against a target language larger than this ranks the CSLS_CANDIDATES nearest
# rows by cosine instead of computing every target row's density (|T| x |S| products).
EXACT_CSLS_ROWS = 50_000
CSLS_CANDIDATES = 1000


class MultilingualVectors:
    """Per-language :class:`StaticVectors` in one space (``{language: vectors}``, in order)."""

    def __init__(self, spaces: Mapping[str, StaticVectors], csls_k: int = CSLS_K) -> None:
        if not spaces:
            raise TokvecError("a multilingual space needs at least one language")
        dims = {lang: kv.dim for lang, kv in spaces.items()}
        if len(set(dims.values())) != 1:
            raise TokvecError("languages of one space need one dimension, got "
                              + ", ".join(f"{lang} {d}" for lang, d in dims.items()))
        self.spaces = dict(spaces)
        self.csls_k = csls_k
        self._csls: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    @property
    def languages(self) -> list[str]:
        return list(self.spaces)

    @property
    def dim(self) -> int:
        return next(iter(self.spaces.values())).dim

    def __len__(self) -> int:
        return sum(len(kv) for kv in self.spaces.values())

    def language(self, lang: str) -> StaticVectors:
        """The words of one language (error naming the languages there are)."""
        kv = self.spaces.get(lang)
        if kv is None:
            raise TokvecError(f"the model has no language {lang!r} (it has "
                              f"{', '.join(self.languages)})")
        return kv

    def languages_of(self, word: str) -> list[str]:
        """The languages whose vocabulary holds ``word`` (as written or normalised)."""
        return [lang for lang, kv in self.spaces.items() if word in kv]

    def resolve(self, words: Sequence[str] | str, lang: str | None = None,
                flag: str = "--src-lang") -> str:
        """The language of query ``words``: ``lang`` if given, else the only one holding them.

        ``flag`` names the option that chooses the language, for the error message.
        """
        if isinstance(words, str):
            words = [words]
        if lang is not None:
            kv = self.language(lang)
            for w in words:
                kv.get_vector(w)  # raises the usual unknown-word message
            return lang
        candidates = [lg for lg in self.languages if all(w in self.spaces[lg] for w in words)]
        shown = " ".join(repr(w) for w in words)
        noun = "word" if len(words) == 1 else "words"
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise TokvecError(f"{noun} {shown} not found in any one language of the model "
                              f"({', '.join(self.languages)})")
        raise TokvecError(f"{noun} {shown} {'is' if len(words) == 1 else 'are'} in "
                          f"{len(candidates)} languages ({', '.join(candidates)}); name the one "
                          f"you mean ({flag})")

    # ----- queries --------------------------------------------------------------------------
    def query_vector(self, words: Sequence[str] | str, lang: str) -> np.ndarray:
        """Unit mean of the unit vectors of ``words`` in language ``lang``."""
        if isinstance(words, str):
            words = [words]
        if not words:
            raise TokvecError("give at least one word")
        kv = self.language(lang)
        query = np.zeros(kv.dim, dtype=np.float32)
        for w in words:
            v = kv.get_vector(w)
            query += v / max(float(np.linalg.norm(v)), 1e-12)
        return query / max(float(np.linalg.norm(query)), 1e-12)

    def csls_target(self, src_lang: str, lang: str) -> tuple[np.ndarray, np.ndarray]:
        """``(r, augmented rows)`` of ``lang``'s words against ``src_lang``'s, cached.

        ``r[j]`` is the mean cosine of target word ``j`` to its ``csls_k`` nearest source words
        (itself left out when the two languages are one).
        """
        key = (src_lang, lang)
        if key not in self._csls:
            src, tgt = self.language(src_lang).unit, self.language(lang).unit
            r = mean_top_k(tgt, src, self.csls_k, exclude_self=src_lang == lang)
            self._csls[key] = (r, csls_rows(tgt, r))
        return self._csls[key]

    def most_similar(self, words: Sequence[str] | str, src_lang: str | None = None,
                     lang: str | None = None, topn: int = 10,
                     retrieval: str = "nn") -> list[tuple[str, float]]:
        """Words of language ``lang`` (default: the query's own) nearest to ``words``.

        Several words are averaged as unit vectors. Query words are left out of their own
        language's answers. With ``retrieval="csls"`` the scores are CSLS scores
        ``2 cos - r_T(x) - r_S(y)``, not cosines.
        """
        check_retrieval(retrieval)
        if topn < 1:
            raise TokvecError(f"-k must be a positive integer, got {topn}")
        if isinstance(words, str):
            words = [words]
        src_lang = self.resolve(words, src_lang)
        lang = src_lang if lang is None else lang
        tgt = self.language(lang)
        query = self.query_vector(words, src_lang)
        exclude: set[int] = set()
        if lang == src_lang:
            exclude = {i for i in (tgt.row(w) for w in words) if i is not None}
        if retrieval == "nn":
            return tgt.nearest(query, topn, exclude=exclude)
        r_query = mean_top_k(query[None, :], tgt.unit, self.csls_k,
                             exclude_self=bool(exclude))
        want = topn + len(exclude)
        if (src_lang, lang) in self._csls or len(tgt) <= EXACT_CSLS_ROWS:
            r, aug = self.csls_target(src_lang, lang)
            ids, scores = csls_top_k(tgt.unit, query[None, :], r, want, augmented=aug,
                                     r_queries=r_query)
            ranked = zip(ids[0].tolist(), scores[0].tolist(), strict=True)
        else:
            ranked = self._csls_candidates(query, src_lang, lang, want, r_query[0])
        out = [(tgt.words[i], float(s)) for i, s in ranked if i not in exclude]
        return out[:topn]

    def _csls_candidates(self, query: np.ndarray, src_lang: str, lang: str, want: int,
                         r_query: float) -> list[tuple[int, float]]:
        """CSLS over the ``CSLS_CANDIDATES`` (or ``10 * want``) nearest rows by cosine: one
        query against a large vocabulary, without the density of every target row."""
        src, tgt = self.language(src_lang), self.language(lang)
        ids, cos = top_k(tgt.unit, query[None, :], max(CSLS_CANDIDATES, 10 * want))
        r = mean_top_k(tgt.unit[ids[0]], src.unit, self.csls_k,
                       exclude_self=src_lang == lang)
        scores = 2 * cos[0] - r - r_query
        order = np.argsort(-scores, kind="stable")[:want]
        return [(int(ids[0][j]), float(scores[j])) for j in order]

    def similarity(self, w1: str, w2: str, lang1: str | None = None,
                   lang2: str | None = None) -> float:
        """Cosine of two words, each of the language given or found (see :meth:`resolve`)."""
        lang1 = self.resolve(w1, lang1, "--lang1")
        lang2 = self.resolve(w2, lang2, "--lang2")
        return float(np.dot(self.query_vector(w1, lang1), self.query_vector(w2, lang2)))

    def analogy(self, a: str, b: str, c: str, lang: str | None = None,
                topn: int = 1) -> list[tuple[str, float]]:
        """3CosAdd within one language (given, or the only one holding all three words)."""
        lang = self.resolve([a, b, c], lang, "--lang")
        return self.language(lang).analogy(a, b, c, topn=topn)
