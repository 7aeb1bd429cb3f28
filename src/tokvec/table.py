"""The embedding table: |V| rows x d_model columns, its initialisation, lookup and memory.

Initialisations (all seedable, float32):

- ``normal``: N(0, std^2) with ``std = 1/sqrt(d_model)`` unless given;
- ``uniform``: U(-a, a) with ``a = 0.5/d_model`` (word2vec's own choice) unless given;
- ``xavier``: U(-b, b) with ``b = sqrt(6/(|V| + d_model))`` (Glorot and Bengio, 2010).

Rows of padding tokens are zero.

>>> t = EmbeddingTable.initialise(10, 4, init="normal", seed=0, zero_rows=[0])
>>> t.shape
(10, 4)
>>> batch, mask = t.lookup([[5, 6, 7], [8]], pad_id=0)
>>> batch.shape, mask.tolist()
((2, 3, 4), [[True, True, True], [True, False, False]])
>>> memory_report(400_000, 50)["ratio_onehot_to_dense"]
8000.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import TokvecError

INITS = ("normal", "uniform", "xavier")


@dataclass
class EmbeddingTable:
    """A dense |V| x d_model float32 matrix whose row ``i`` is token ``i``'s vector."""

    weights: np.ndarray

    def __post_init__(self) -> None:
        if self.weights.ndim != 2:
            raise TokvecError(f"an embedding table is 2-D, got shape {self.weights.shape}")

    @classmethod
    def initialise(cls, num_tokens: int, d_model: int, init: str = "normal", seed: int = 0,
                   scale: float | None = None, zero_rows: Sequence[int] = ()) -> EmbeddingTable:
        """A new table with the stated initialisation (see module docs)."""
        if num_tokens < 1:
            raise TokvecError(f"the vocabulary is empty (|V| = {num_tokens})")
        if d_model < 1:
            raise TokvecError(f"d_model must be a positive integer, got {d_model}")
        rng = np.random.default_rng(seed)
        if init == "normal":
            std = scale if scale is not None else 1.0 / np.sqrt(d_model)
            w = rng.normal(0.0, std, size=(num_tokens, d_model))
        elif init == "uniform":
            a = scale if scale is not None else 0.5 / d_model
            w = rng.uniform(-a, a, size=(num_tokens, d_model))
        elif init == "xavier":
            b = np.sqrt(6.0 / (num_tokens + d_model))
            w = rng.uniform(-b, b, size=(num_tokens, d_model))
        else:
            raise TokvecError(f"unknown initialisation {init!r}; choose one of {', '.join(INITS)}")
        w = w.astype(np.float32)
        w[list(zero_rows)] = 0.0
        return cls(w)

    @property
    def shape(self) -> tuple[int, int]:
        return self.weights.shape  # type: ignore[return-value]

    @property
    def d_model(self) -> int:
        return int(self.weights.shape[1])

    def __len__(self) -> int:
        return int(self.weights.shape[0])

    def lookup(self, batch: Sequence[Sequence[int]], pad_id: int = 0,
               max_len: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows for a batch of id sequences, right-padded: ``(B, T, d)`` vectors and a mask."""
        width = max((len(s) for s in batch), default=0)
        if max_len is not None:
            width = min(width, max_len)
        ids = np.full((len(batch), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=bool)
        for i, seq in enumerate(batch):
            seq = list(seq)[:width]
            ids[i, : len(seq)] = seq
            mask[i, : len(seq)] = True
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise TokvecError(f"token id out of range for a table of {len(self)} rows")
        return self.weights[ids], mask

    def fill_from(self, tokens: Sequence[str], vectors: Mapping[str, np.ndarray] | None = None,
                  lookup: object = None, lowercase_fallback: bool = True) -> dict[str, object]:
        """Copy pretrained vectors into rows by token; return a coverage report.

        ``lookup`` is any object with ``get_vector_or_none(word)`` (e.g. :class:`StaticVectors`),
        or give a plain ``vectors`` mapping. Rows not found keep their initial values. When the
        exact token is missing, its lowercase form is tried (``lowercase_fallback``).
        """
        found = found_lower = 0
        missing: list[str] = []
        for i, tok in enumerate(tokens):
            vec = _get(vectors, lookup, tok)
            if vec is None and lowercase_fallback and tok.lower() != tok:
                vec = _get(vectors, lookup, tok.lower())
                if vec is not None:
                    found_lower += 1
            elif vec is not None:
                found += 1
            if vec is None:
                missing.append(tok)
                continue
            if vec.shape[0] != self.d_model:
                raise TokvecError(f"pretrained vectors have dimension {vec.shape[0]}, "
                                  f"the table has {self.d_model}")
            self.weights[i] = vec
        total = len(tokens)
        return {"tokens": total, "found_exact": found, "found_lowercase": found_lower,
                "missing": len(missing), "coverage": (found + found_lower) / max(total, 1),
                "missing_examples": missing[:20], "missing_filled_with": "initialisation"}


def _get(vectors: Mapping[str, np.ndarray] | None, lookup: object, tok: str) -> np.ndarray | None:
    if vectors is not None:
        return vectors.get(tok)
    return lookup.get_vector_or_none(tok)  # type: ignore[attr-defined]


def memory_report(num_tokens: int, d_model: int, bytes_per_value: int = 4) -> dict[str, float]:
    """Memory of the dense table against one-hot vectors for the same vocabulary.

    A one-hot representation of one token is a |V|-long vector; the dense one is d_model long.
    For a whole vocabulary the one-hot identity matrix is |V| x |V|.
    """
    dense = num_tokens * d_model * bytes_per_value
    onehot = num_tokens * num_tokens * bytes_per_value
    return {"vocab_size": num_tokens, "d_model": d_model,
            "dense_bytes": dense, "onehot_bytes": onehot,
            "dense_bytes_per_token": d_model * bytes_per_value,
            "onehot_bytes_per_token": num_tokens * bytes_per_value,
            "onehot_sparse_bytes_per_token": 8 + bytes_per_value,
            "ratio_onehot_to_dense": onehot / dense}
