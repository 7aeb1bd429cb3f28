"""From texts to model inputs: token ids (truncated to the window), hashed bigrams, batches.

:class:`Featurizer` runs the task's tokenizer over a list of texts. Texts longer than
``max_len`` tokens are cut to the first ``max_len`` (for encoder models, ``[CLS]`` and the
closing ``[SEP]`` are kept); which texts were cut is reported, never silently. An empty text is
read as one ``[UNK]`` token, so every example has at least one position.

Token bigrams (``--bigrams``, fastText's ``wordNgrams 2``) are hashed into ``buckets`` rows: the
hash of a token string is CRC-32 of its UTF-8 bytes (stable across runs and machines), and a
bigram ``(a, b)`` lands in bucket ``(h(a) * 116049371 + h(b)) mod buckets`` (64-bit wrap-around).
Unknown tokens are hashed by their surface text, so bigrams also cover words outside the
vocabulary.

>>> from tokvec.static_model import StaticModel
>>> import numpy as np
>>> tok = StaticModel.from_vectors(["good", "film"], np.eye(2, dtype=np.float32)).tokenizer
>>> enc = Featurizer(tok, max_len=2, bigram_buckets=10).encode(["good film", "good good film"])
>>> [ids.tolist() for ids in enc.ids], enc.truncated
([[5, 6], [5, 5]], [1])
>>> [b.tolist() for b in enc.bigrams]
[[6], [8]]
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import TokvecError
from ..tokenization import Tokenizer
from ..vocab import CLS, PAD, SEP, UNK

_BIGRAM_PRIME = np.uint64(116049371)


@dataclass
class Encoded:
    """Token ids per text (and bigram bucket ids when asked), plus which texts were cut."""

    ids: list[np.ndarray]
    bigrams: list[np.ndarray] | None
    truncated: list[int]
    lengths: list[int]


class Featurizer:
    """Turns texts into id arrays with the task's tokenizer, window and bigram settings."""

    def __init__(self, tokenizer: Tokenizer, max_len: int | None = None,
                 bigram_buckets: int = 0, special_tokens: bool = False) -> None:
        if max_len is not None and max_len < (3 if special_tokens else 1):
            raise TokvecError(f"max length must be at least {3 if special_tokens else 1}, "
                              f"got {max_len}")
        self.tokenizer = tokenizer
        self.max_len = max_len
        self.bigram_buckets = int(bigram_buckets)
        self.special_tokens = special_tokens
        self.pad_id = _require_id(tokenizer, PAD)
        self.unk_id = _require_id(tokenizer, UNK)
        self.cls_id = tokenizer.token_to_id(CLS)
        self.sep_id = tokenizer.token_to_id(SEP)
        if special_tokens and (self.cls_id is None or self.sep_id is None):
            raise TokvecError("the encoder's tokenizer has no [CLS]/[SEP] tokens")
        self._hash_cache: dict[str, int] = {}

    def encode(self, texts: Sequence[str], batch_size: int = 4096) -> Encoded:
        """Ids (and bigram buckets) of every text, in order."""
        out = Encoded([], [] if self.bigram_buckets else None, [], [])
        for start in range(0, len(texts), batch_size):
            chunk = [self.tokenizer.segment(t) for t in texts[start:start + batch_size]]
            encodings = self.tokenizer.hf.encode_batch(chunk, add_special_tokens=False)
            for offset, (text, enc) in enumerate(zip(chunk, encodings, strict=True)):
                ids = np.asarray(enc.ids, dtype=np.int64)
                out.lengths.append(len(ids) + (2 if self.special_tokens else 0))
                tokens = enc.tokens
                room = self._room()
                if room is not None and len(ids) > room:
                    out.truncated.append(start + offset)
                    ids, tokens = ids[:room], tokens[:room]
                if len(ids) == 0:
                    ids = np.array([self.unk_id], dtype=np.int64)
                if self.special_tokens:
                    ids = np.concatenate([[self.cls_id], ids, [self.sep_id]]).astype(np.int64)
                out.ids.append(ids)
                if out.bigrams is not None:
                    out.bigrams.append(self._bigrams(text, tokens, enc.offsets))
        return out

    def _room(self) -> int | None:
        if self.max_len is None:
            return None
        return self.max_len - 2 if self.special_tokens else self.max_len

    def _hash(self, token: str) -> int:
        h = self._hash_cache.get(token)
        if h is None:
            h = zlib.crc32(token.encode("utf-8"))
            self._hash_cache[token] = h
        return h

    def _bigrams(self, text: str, tokens: list[str],
                 offsets: list[tuple[int, int]]) -> np.ndarray:
        surface = [text[a:b] if tok == UNK else tok
                   for tok, (a, b) in zip(tokens, offsets, strict=False)]
        if len(surface) < 2:
            return np.zeros(0, dtype=np.int64)
        hashes = np.array([self._hash(t) for t in surface], dtype=np.uint64)
        with np.errstate(over="ignore"):
            mixed = hashes[:-1] * _BIGRAM_PRIME + hashes[1:]
        return (mixed % np.uint64(self.bigram_buckets)).astype(np.int64)

    def config(self) -> dict[str, object]:
        return {"max_len": self.max_len, "bigram_buckets": self.bigram_buckets,
                "special_tokens": self.special_tokens}


def _require_id(tokenizer: Tokenizer, token: str) -> int:
    found = tokenizer.token_to_id(token)
    if found is None:
        raise TokvecError(f"the tokenizer has no {token} token")
    return found


def pad(sequences: Sequence[np.ndarray], pad_id: int,
        min_width: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ``(B, T)`` id tensor and its boolean mask.

    >>> ids, mask = pad([np.array([3, 4]), np.array([5])], pad_id=0)
    >>> ids.tolist(), mask.tolist()
    ([[3, 4], [5, 0]], [[True, True], [True, False]])
    """
    width = max(min_width, max((len(s) for s in sequences), default=0))
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=bool)
    for i, seq in enumerate(sequences):
        ids[i, :len(seq)] = seq
        mask[i, :len(seq)] = True
    return torch.from_numpy(ids), torch.from_numpy(mask)


def batch_order(lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None,
                pool_batches: int = 50) -> list[np.ndarray]:
    """Index batches: shuffled, then sorted by length within pools of ``pool_batches`` batches
    (less padding, still random); in input order when ``rng`` is None.

    >>> [b.tolist() for b in batch_order([5, 1, 3], 2, None)]
    [[0, 1], [2]]
    """
    n = len(lengths)
    if rng is None:
        return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    order = rng.permutation(n)
    lengths_arr = np.asarray(lengths)
    batches: list[np.ndarray] = []
    pool = batch_size * pool_batches
    for start in range(0, n, pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(lengths_arr[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)  # type: ignore[arg-type]
    return batches
