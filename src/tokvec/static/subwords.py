"""fastText-style subword vectors: character n-grams hashed into buckets, and OOV lookup.

A word ``w`` is wrapped as ``<w>``; its n-grams are all substrings of ``n`` characters (Unicode
code points, so Chinese works) for ``minn <= n <= maxn``, the ``<`` and ``>`` marks alone
excluded, in fastText's order (by start, then length). Each n-gram is hashed with fastText's
FNV-1a variant (32-bit, over UTF-8 bytes, each byte sign-extended as a C ``int8``) and taken
modulo ``buckets``.

In a trained model the vector of a vocabulary word is the mean of its own row and its n-gram
rows (that composed vector is what ``embeddings.safetensors`` stores). A word outside the
vocabulary gets the mean of its n-gram rows. Only buckets that some vocabulary word uses are
ever trained; the model stores just those rows (``ngrams``) with their bucket numbers
(``ngram_buckets``, ascending). A bucket never trained counts as a zero row (fastText leaves it
at its tiny random initialisation), so the OOV vector is ``sum(stored rows) / number of n-grams``;
``None`` comes back only when none of the word's n-grams has a stored row.

>>> char_ngrams("hi", 3, 4)
['<hi', '<hi>', 'hi>']
>>> fasttext_hash("<hi".encode())
931857152
>>> fasttext_hash("é".encode()) == fasttext_hash(bytes([0xC3, 0xA9]))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import TokvecError

_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619


def fasttext_hash(data: bytes) -> int:
    """fastText's 32-bit FNV-1a over ``data`` (bytes >= 0x80 sign-extended, as fastText does)."""
    h = _FNV_OFFSET
    for b in data:
        h = ((h ^ (b | 0xFFFFFF00 if b >= 0x80 else b)) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def char_ngrams(word: str, minn: int, maxn: int) -> list[str]:
    """The character n-grams of ``<word>`` that fastText uses (boundary marks alone excluded)."""
    w = f"<{word}>"
    size = len(w)
    out = []
    for i in range(size):
        for n in range(minn, maxn + 1):
            if i + n > size:
                break
            if n == 1 and (i == 0 or i + n == size):
                continue
            out.append(w[i:i + n])
    return out


def ngram_buckets(word: str, minn: int, maxn: int, buckets: int) -> list[int]:
    """Bucket numbers of the word's n-grams (duplicates kept, as fastText does)."""
    return [fasttext_hash(g.encode("utf-8")) % buckets for g in char_ngrams(word, minn, maxn)]


class SubwordVectors:
    """Vectors for any word from n-gram rows (and vocabulary words from the composed table)."""

    def __init__(self, minn: int, maxn: int, buckets: int, rows: np.ndarray,
                 row_buckets: np.ndarray | None = None, tokenizer: Any = None,
                 embeddings: np.ndarray | None = None) -> None:
        self.minn, self.maxn, self.buckets = int(minn), int(maxn), int(buckets)
        self.rows = np.asarray(rows, dtype=np.float32)
        self.row_buckets = None if row_buckets is None else np.asarray(row_buckets, np.int64)
        self.tokenizer = tokenizer
        self.embeddings = embeddings
        self._specials = 0
        if tokenizer is not None:
            self._specials = tokenizer.vocabulary().num_specials

    @classmethod
    def from_model_parts(cls, cfg_subwords: dict[str, Any], tokenizer: Any,
                         embeddings: np.ndarray, tensors: dict[str, np.ndarray]
                         ) -> SubwordVectors:
        """Build from a model directory's pieces (config ``subwords`` entry, tensors)."""
        try:
            minn, maxn = int(cfg_subwords["minn"]), int(cfg_subwords["maxn"])
            buckets = int(cfg_subwords["buckets"])
        except (KeyError, TypeError, ValueError):
            raise TokvecError("config.json: 'subwords' needs integer minn, maxn and buckets"
                              ) from None
        if "ngrams" not in tensors:
            raise TokvecError("a subword model needs the tensor 'ngrams'")
        rows = tensors["ngrams"]
        row_buckets = tensors.get("ngram_buckets")
        if rows.ndim != 2 or rows.shape[1] != embeddings.shape[1]:
            raise TokvecError(f"tensor 'ngrams' has shape {rows.shape}, expected (n, "
                              f"{embeddings.shape[1]})")
        if row_buckets is None and rows.shape[0] != buckets:
            raise TokvecError(f"tensor 'ngrams' has {rows.shape[0]} rows for {buckets} buckets")
        if row_buckets is not None and row_buckets.shape != (rows.shape[0],):
            raise TokvecError("tensors 'ngram_buckets' and 'ngrams' disagree in length")
        return cls(minn, maxn, buckets, rows, row_buckets, tokenizer, embeddings)

    def _normalize(self, word: str) -> str:
        hf = getattr(self.tokenizer, "hf", None)
        if hf is not None and hf.normalizer is not None:
            return hf.normalizer.normalize_str(word)
        return word

    def vector(self, word: str) -> np.ndarray | None:
        """The word's vector; None when no n-gram of it has a trained row."""
        word = self._normalize(word)
        if self.tokenizer is not None and self.embeddings is not None:
            i = self.tokenizer.token_to_id(word)
            if i is not None and i >= self._specials:
                return self.embeddings[i]
        wanted = np.asarray(ngram_buckets(word, self.minn, self.maxn, self.buckets), np.int64)
        if wanted.size == 0:
            return None
        if self.row_buckets is None:
            return self.rows[wanted].mean(axis=0)
        pos = np.searchsorted(self.row_buckets, wanted)
        pos = np.minimum(pos, max(self.row_buckets.shape[0] - 1, 0))
        found = self.row_buckets[pos] == wanted if self.row_buckets.size else wanted < 0
        if not found.any():
            return None
        return self.rows[pos[found]].sum(axis=0) / np.float32(wanted.size)
