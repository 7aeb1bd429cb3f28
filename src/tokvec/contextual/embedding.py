"""Running texts through a model: token vectors, word vectors and pooled sentence vectors.

Texts are tokenized with ``[CLS]``/``[SEP]`` (contextual models), truncated to the model's
``max_len`` positions, sorted by length and run in padded batches with an attention mask, so
little work goes to padding. Pooling:

- ``mean``: the mean over every real (non-padding) position, ``[CLS]`` and ``[SEP]`` included
  (sentence-transformers' pooling, so MiniLM gives its own sentence embeddings, unnormalized);
- ``cls``: the vector at ``[CLS]``;
- ``none``: every token's vector; :func:`token_vectors` adds the word alignment and one vector
  per word (the mean over the word's pieces).

A static model (:class:`~tokvec.static_model.StaticModel`) is embedded through
:func:`as_contextual`: its token vectors are its table rows whatever the context, no specials
are added, and nothing is truncated.

>>> import numpy as np
>>> from tokvec.static_model import StaticModel
>>> m = as_contextual(StaticModel.from_vectors(["red", "car"], np.eye(2, dtype=np.float32)))
>>> m.embed(["red car", "car"], pool="mean").tolist()
[[0.5, 0.5], [0.0, 1.0]]
>>> token_vectors(m, ["red car"])[0].words
['red', 'car']
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import TokvecError
from .model import NO_LIMIT, ContextualModel

POOLS = ("none", "mean", "cls")


class StaticEncoder(nn.Module):
    """A context-free "encoder": each token's vector is its row of the table."""

    def __init__(self, table: np.ndarray) -> None:
        super().__init__()
        self.table = nn.Embedding.from_pretrained(torch.from_numpy(np.asarray(table)),
                                                  freeze=True)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.table(input_ids)


def as_contextual(model: Any) -> ContextualModel:
    """A :class:`ContextualModel` view of any loaded model that has token vectors."""
    from ..static_model import StaticModel

    if isinstance(model, ContextualModel):
        return model
    if isinstance(model, StaticModel):
        return ContextualModel("static", model.tokenizer, StaticEncoder(model.embeddings),
                               config=model.config, d_model=model.d_model, max_len=NO_LIMIT,
                               add_special_tokens=False)
    kind = getattr(model, "config", {}).get("kind", type(model).__name__)
    raise TokvecError(f"a model of kind {kind!r} has no token vectors to embed with")


def load_for_embedding(path: str | os.PathLike[str]) -> ContextualModel:
    """Load any model directory (contextual, HuggingFace BERT or static) for embedding."""
    from ..modeldir import load_model

    return as_contextual(load_model(path))


def iter_hidden(model: ContextualModel, encodings: list[Any],
                batch_size: int = 32) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, (T_i, d_model) token vectors)`` for each encoding, longest batches first."""
    if batch_size < 1:
        raise TokvecError(f"batch size must be positive, got {batch_size}")
    lengths = np.array([len(e.ids) for e in encodings], dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    was_training = model.module.training
    device = next(iter(model.module.parameters()), torch.empty(0)).device
    model.module.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                width = max(1, int(lengths[rows].max()))
                ids = torch.full((len(rows), width), model.pad_id, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.bool)
                for j, i in enumerate(rows):
                    n = int(lengths[i])
                    ids[j, :n] = torch.tensor(encodings[i].ids, dtype=torch.long)
                    mask[j, :n] = True
                hidden = model.module(ids.to(device), mask.to(device)).float().cpu().numpy()
                for j, i in enumerate(rows):
                    yield int(i), hidden[j, : lengths[i]]
    finally:
        model.module.train(was_training)


def pool_vectors(model: ContextualModel, vectors: np.ndarray, pool: str) -> np.ndarray:
    """One sentence vector from a text's token vectors."""
    if pool == "mean":
        if len(vectors) == 0:
            return np.zeros(model.d_model, dtype=np.float32)
        return vectors.mean(axis=0, dtype=np.float64).astype(np.float32)
    if pool == "cls":
        if not model.add_special_tokens or model.cls_id is None:
            raise TokvecError(f"a {model.kind} model has no [CLS] vector; use pool mean or none")
        return vectors[0]
    raise TokvecError(f"unknown pooling {pool!r}; choose one of {', '.join(POOLS)}")


def embed_texts(model: ContextualModel, texts: list[str], pool: str = "mean",
                batch_size: int = 32) -> np.ndarray | list[np.ndarray]:
    """``(N, d_model)`` float32 for ``mean``/``cls``; a list of ``(T_i, d_model)`` for ``none``."""
    if pool not in POOLS:
        raise TokvecError(f"unknown pooling {pool!r}; choose one of {', '.join(POOLS)}")
    if pool == "cls":
        pool_vectors(model, np.zeros((1, model.d_model), np.float32), pool)  # fail early
    encodings = model.encode_texts(texts, batch_size)
    if pool == "none":
        tokens: list[np.ndarray] = [np.empty(0)] * len(texts)
        for i, vectors in iter_hidden(model, encodings, batch_size):
            tokens[i] = vectors.copy()
        return tokens
    out = np.zeros((len(texts), model.d_model), dtype=np.float32)
    for i, vectors in iter_hidden(model, encodings, batch_size):
        out[i] = pool_vectors(model, vectors, pool)
    return out


@dataclass
class TokenVectors:
    """One text's tokens with their vectors, word alignment and per-word vectors."""

    tokens: list[str]
    word_ids: list[int | None]
    vectors: np.ndarray
    words: list[str]
    word_vectors: np.ndarray
    truncated: bool = False


def word_alignment(model: ContextualModel, text: str, encoding: Any,
                   vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The text's words present in ``encoding`` and the mean vector of each word's pieces."""
    all_words = model.tokenizer.words(text)
    word_ids = encoding.word_ids
    present = sorted({w for w in word_ids if w is not None})
    out = np.zeros((len(present), model.d_model), dtype=np.float32)
    for k, w in enumerate(present):
        rows = [t for t, wid in enumerate(word_ids) if wid == w]
        out[k] = vectors[rows].mean(axis=0)
    words = [all_words[w] if w < len(all_words) else "" for w in present]
    return words, out


def token_vectors(model: ContextualModel, texts: list[str],
                  batch_size: int = 32) -> list[TokenVectors]:
    """Token and word vectors of each text (no pooling)."""
    encodings = model.encode_texts(texts, batch_size)
    out: list[TokenVectors | None] = [None] * len(texts)
    for i, vectors in iter_hidden(model, encodings, batch_size):
        enc = encodings[i]
        words, word_vecs = word_alignment(model, texts[i], enc, vectors)
        out[i] = TokenVectors(list(enc.tokens), list(enc.word_ids), vectors.copy(), words,
                              word_vecs, bool(enc.overflowing))
    return out  # type: ignore[return-value]
