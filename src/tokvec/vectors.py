"""Word vectors and the queries people run on them: neighbours, similarity, analogies.

:class:`StaticVectors` keeps only what answering queries needs (gensim's ``KeyedVectors`` idea):
words in frequency order and their rows. Top-k is exact, by blocked matrix products over unit
rows, so memory stays bounded for any vocabulary.

>>> import numpy as np
>>> kv = StaticVectors(["king", "queen", "man", "woman"],
...                    np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=np.float32))
>>> kv.analogy("man", "king", "woman", topn=1)[0][0]
'queen'
>>> round(kv.similarity("king", "queen"), 3)
0.5

A model trained on lowercased text answers mixed-case queries the same way, by normalising the
query as training normalised the corpus (exact spellings are tried first):

>>> kv = StaticVectors(["king", "queen"], np.eye(2, dtype=np.float32), normalize=str.lower,
...                    normalization="lowercasing")
>>> kv.similarity("King", "QUEEN") == kv.similarity("king", "queen")
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .errors import TokvecError

_BLOCK_ROWS = 65536


class StaticVectors:
    """Words and their vectors; optional ``oov`` callable supplies vectors for unseen words.

    ``normalize`` maps a query word to the form the vocabulary holds (the model tokenizer's
    normaliser: Unicode NFKC, lowercasing, ...), and ``normalization`` names it for error
    messages. A query is looked up as written first, then normalised.
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray,
                 oov: Callable[[str], np.ndarray | None] | None = None,
                 normalize: Callable[[str], str] | None = None,
                 normalization: str | None = None) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise TokvecError(f"{len(words)} words but vectors of shape {vectors.shape}")
        self.words = list(words)
        self.vectors = vectors
        self.index = {w: i for i, w in enumerate(self.words)}
        self.oov = oov
        self.normalize = normalize
        self.normalization = normalization
        self._unit: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.row(word) is not None

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def unit(self) -> np.ndarray:
        """Rows scaled to unit length (zero rows stay zero); computed once."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            self._unit = self.vectors / np.maximum(norms, 1e-12)
        return self._unit

    def normalized(self, word: str) -> str:
        """``word`` as the model's normaliser writes it (unchanged without one)."""
        return self.normalize(word) if self.normalize is not None else word

    def row(self, word: str) -> int | None:
        """The row of ``word`` as written, else of its normalised form, else None."""
        i = self.index.get(word)
        if i is None and self.normalize is not None:
            i = self.index.get(self.normalize(word))
        return i

    def get_vector_or_none(self, word: str) -> np.ndarray | None:
        i = self.row(word)
        if i is not None:
            return self.vectors[i]
        return self.oov(self.normalized(word)) if self.oov is not None else None

    def get_vector(self, word: str) -> np.ndarray:
        """The word's vector; unknown words raise unless the model has subword vectors."""
        vec = self.get_vector_or_none(word)
        if vec is None:
            raise TokvecError(self._unknown_message(word))
        return vec

    def _unknown_message(self, word: str) -> str:
        if self.normalize is None:
            how = "matching is exact (the model records no normalisation)"
        else:
            looked = self.normalize(word)
            how = f"looked up as written and after {self.normalization or 'normalisation'}"
            if looked != word:
                how += f" as {looked!r}"
        return f"word {word!r} is not in the vocabulary ({len(self)} words; {how})"

    def _unit_vector(self, word: str) -> np.ndarray:
        i = self.row(word)
        if i is not None:
            return self.unit[i]
        vec = self.get_vector(word)
        return vec / max(float(np.linalg.norm(vec)), 1e-12)

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words."""
        return float(np.dot(self._unit_vector(w1), self._unit_vector(w2)))

    def most_similar(self, positive: Sequence[str] | str = (), negative: Sequence[str] = (),
                     topn: int = 10, restrict: int | None = None) -> list[tuple[str, float]]:
        """Words nearest to the mean of unit ``positive`` minus unit ``negative`` vectors.

        Query words themselves are excluded. ``restrict`` searches only the most frequent words.
        """
        if isinstance(positive, str):
            positive = [positive]
        if not positive and not negative:
            raise TokvecError("give at least one word")
        if topn < 1:
            raise TokvecError(f"-k must be a positive integer, got {topn}")
        query = np.zeros(self.dim, dtype=np.float32)
        for w in positive:
            query += self._unit_vector(w)
        for w in negative:
            query -= self._unit_vector(w)
        norm = float(np.linalg.norm(query))
        if norm > 0:
            query /= norm
        rows = (self.row(w) for w in (*positive, *negative))
        exclude = {i for i in rows if i is not None}
        return self.nearest(query, topn, restrict=restrict, exclude=exclude)

    def nearest(self, query: np.ndarray, topn: int = 10, restrict: int | None = None,
                exclude: set[int] | frozenset[int] = frozenset()) -> list[tuple[str, float]]:
        """Exact top-``topn`` rows by cosine to a unit ``query`` vector (blocked products)."""
        ids, scores = top_k(self.unit, query[None, :], topn + len(exclude), restrict)
        out = [(self.words[i], float(s)) for i, s in zip(ids[0], scores[0], strict=True)
               if i not in exclude]
        return out[:topn]

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
        """3CosAdd: words nearest to ``b - a + c`` ("a is to b as c is to ?")."""
        return self.most_similar(positive=[b, c], negative=[a], topn=topn)


def top_k(unit_rows: np.ndarray, queries: np.ndarray, k: int,
          restrict: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of ``queries @ unit_rows.T`` per query, computed in row blocks.

    >>> ids, s = top_k(np.eye(3, dtype=np.float32), np.array([[0.1, 0.9, 0.0]], np.float32), 2)
    >>> ids.tolist()
    [[1, 0]]
    """
    n = unit_rows.shape[0] if restrict is None else min(restrict, unit_rows.shape[0])
    k = min(k, n)
    best_ids = np.empty((queries.shape[0], 0), dtype=np.int64)
    best_scores = np.empty((queries.shape[0], 0), dtype=np.float32)
    for start in range(0, n, _BLOCK_ROWS):
        block = unit_rows[start: min(start + _BLOCK_ROWS, n)]
        scores = queries @ block.T
        kk = min(k, scores.shape[1])
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        best_ids = np.concatenate([best_ids, part + start], axis=1)
        best_scores = np.concatenate([best_scores, np.take_along_axis(scores, part, 1)], axis=1)
        if best_ids.shape[1] > k:
            keep = np.argpartition(-best_scores, k - 1, axis=1)[:, :k]
            best_ids = np.take_along_axis(best_ids, keep, 1)
            best_scores = np.take_along_axis(best_scores, keep, 1)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    return np.take_along_axis(best_ids, order, 1), np.take_along_axis(best_scores, order, 1)
