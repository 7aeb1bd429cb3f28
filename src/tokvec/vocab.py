"""Vocabulary: token <-> id with frequency counts, special tokens and an unknown-token policy.

Ids are assigned special tokens first (``[PAD] [UNK] [CLS] [SEP] [MASK]`` by default), then
ordinary tokens by descending frequency (ties broken by first appearance in the counting order,
which makes the result deterministic). Tokens rarer than ``min_count`` are dropped, and at most
``max_size`` entries are kept in all.

**Unknown-token policy.** A token that is not in the vocabulary maps to ``[UNK]``. Static
trainers *skip* unknown tokens (as word2vec does: a dropped rare word neither trains nor occupies a
window slot); contextual models and classifiers feed ``[UNK]``'s row; subword vocabularies rarely
produce it because words decompose into known pieces. Querying an unknown word raises a
:class:`~tokvec.errors.TokvecError` unless the model has subword vectors (``--method fasttext``).

>>> v = Vocabulary.from_counts({"the": 5, "cat": 2, "sat": 2, "mat": 1}, min_count=2)
>>> v.tokens
['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat']
>>> v.id("cat"), v.id("dog") == v.unk_id
(6, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .errors import TokvecError

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
DEFAULT_SPECIALS: tuple[str, ...] = (PAD, UNK, CLS, SEP, MASK)


class Vocabulary:
    """An ordered list of tokens with counts; specials first, then by descending frequency."""

    def __init__(self, tokens: Sequence[str], counts: Sequence[int] | np.ndarray | None = None,
                 specials: Sequence[str] = DEFAULT_SPECIALS) -> None:
        self.tokens: list[str] = list(tokens)
        self._index: dict[str, int] = {tok: i for i, tok in enumerate(self.tokens)}
        if len(self._index) != len(self.tokens):
            # The dict kept each token's last position; a duplicate's first one differs.
            dup = next(t for i, t in enumerate(self.tokens) if self._index[t] != i)
            raise TokvecError(f"duplicate token in vocabulary: {dup!r}")
        self.specials: list[str] = [s for s in specials if s in self._index]
        if counts is None:
            counts = np.zeros(len(self.tokens), dtype=np.int64)
        self.counts = np.asarray(counts, dtype=np.int64)
        if self.counts.shape != (len(self.tokens),):
            raise TokvecError(
                f"counts has {self.counts.shape[0]} entries for {len(self.tokens)} tokens")

    @classmethod
    def from_counts(cls, counts: Mapping[str, int] | Iterable[tuple[str, int]],
                    min_count: int = 1, max_size: int | None = None,
                    specials: Sequence[str] = DEFAULT_SPECIALS) -> Vocabulary:
        """Build from token counts, applying ``min_count`` and ``max_size``."""
        if min_count < 1:
            raise TokvecError(f"min_count must be >= 1, got {min_count}")
        if max_size is not None and max_size <= len(specials):
            raise TokvecError(
                f"max_size must exceed the {len(specials)} special tokens, got {max_size}")
        items = counts.items() if isinstance(counts, Mapping) else counts
        special_set = set(specials)
        kept = [(tok, int(c)) for tok, c in items if c >= min_count and tok not in special_set]
        # Stable sort: equal counts keep their first-seen order.
        kept.sort(key=lambda tc: -tc[1])
        if max_size is not None:
            kept = kept[: max_size - len(specials)]
        tokens = list(specials) + [t for t, _ in kept]
        freq = [0] * len(specials) + [c for _, c in kept]
        return cls(tokens, freq, specials)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    @property
    def unk_id(self) -> int | None:
        """Id of ``[UNK]``, or None where the vocabulary has no unknown token."""
        return self._index.get(UNK)

    @property
    def num_specials(self) -> int:
        return len(self.specials)

    def id(self, token: str) -> int:
        """The token's id; unknown tokens map to ``[UNK]`` (or raise where there is none)."""
        found = self._index.get(token)
        if found is not None:
            return found
        if self.unk_id is None:
            raise TokvecError(f"unknown token {token!r}")
        return self.unk_id

    def get(self, token: str) -> int | None:
        """The token's id, or None when it is not in the vocabulary."""
        return self._index.get(token)

    def token(self, index: int) -> str:
        return self.tokens[index]

    def as_dict(self) -> dict[str, int]:
        return dict(self._index)

    def word_ids(self) -> np.ndarray:
        """Ids of ordinary (non-special) tokens."""
        special = set(self.specials)
        return np.array([i for i, t in enumerate(self.tokens) if t not in special], dtype=np.int64)
