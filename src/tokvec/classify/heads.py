"""The classifier networks: an embedding table, a head that pools a text into one vector, and a
linear layer to the classes.

Heads over a static table (:class:`StaticClassifier`):

- ``bag``: fastText-style mean of the token vectors (and of hashed bigram vectors, when enabled),
  optionally followed by one ReLU hidden layer (a deep averaging network);
- ``cnn``: Kim (2014): convolutions of several widths over the token vectors, ReLU, max over time
  (only over windows that lie inside the text), concatenated;
- ``bilstm``: a bidirectional LSTM over the (packed, so padding is never read) sequence, max or
  mean pooled over the text's positions.

:class:`EncoderClassifier` puts a dropout + linear layer on a contextual encoder's ``[CLS]``
state or on the mean of its states (``pool="cls"|"mean"``) and fine-tunes the whole stack.

>>> import torch
>>> net = StaticClassifier("cnn", torch.randn(10, 8), num_classes=3, pad_id=0,
...                        options={"filters": 4, "widths": [2, 3]})
>>> ids = torch.tensor([[5, 6, 7], [8, 0, 0]]); mask = ids != 0
>>> net(Batch(ids, mask)).shape
torch.Size([2, 3])
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

HEADS = ("bag", "cnn", "bilstm", "encoder")
STATIC_HEADS = ("bag", "cnn", "bilstm")


class Batch(NamedTuple):
    """Padded token ids ``(B, T)`` with their mask, and bigram buckets where used."""

    ids: torch.Tensor
    mask: torch.Tensor
    bigrams: torch.Tensor | None = None
    bigram_mask: torch.Tensor | None = None


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(x.dtype)
    return (x * weights).sum(1) / weights.sum(1).clamp_min(1.0)


def _masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return x.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(1).values


class BagBody(nn.Module):
    """Mean of token (and bigram) vectors; one optional ReLU hidden layer."""

    def __init__(self, dim: int, hidden: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden = nn.Linear(dim, hidden) if hidden else None
        self.dropout = nn.Dropout(dropout)
        self.out_dim = hidden or dim

    def forward(self, emb: torch.Tensor, mask: torch.Tensor, bigram_emb: torch.Tensor | None,
                bigram_mask: torch.Tensor | None) -> torch.Tensor:
        weights = mask.unsqueeze(-1).to(emb.dtype)
        total = (emb * weights).sum(1)
        count = weights.sum(1)
        if bigram_emb is not None and bigram_mask is not None:
            bweights = bigram_mask.unsqueeze(-1).to(emb.dtype)
            total = total + (bigram_emb * bweights).sum(1)
            count = count + bweights.sum(1)
        pooled = total / count.clamp_min(1.0)
        if self.hidden is not None:
            pooled = F.relu(self.hidden(self.dropout(pooled)))
        return pooled


class CNNBody(nn.Module):
    """Multi-width 1-D convolutions, ReLU, max over the windows inside each text."""

    def __init__(self, dim: int, filters: int = 100, widths: tuple[int, ...] = (3, 4, 5)) -> None:
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, w) for w in self.widths)
        self.out_dim = filters * len(self.widths)

    def forward(self, emb: torch.Tensor, mask: torch.Tensor, *_: Any) -> torch.Tensor:
        width = max(self.widths)
        if emb.shape[1] < width:
            emb = F.pad(emb, (0, 0, 0, width - emb.shape[1]))
        x = emb.transpose(1, 2)  # (B, d, T)
        lengths = mask.sum(1)
        pooled = []
        for w, conv in zip(self.widths, self.convs, strict=True):
            h = F.relu(conv(x))  # (B, filters, T - w + 1)
            windows = (lengths - w + 1).clamp_min(1)
            valid = torch.arange(h.shape[2], device=h.device)[None, :] < windows[:, None]
            pooled.append(h.masked_fill(~valid[:, None, :], float("-inf")).max(2).values)
        return torch.cat(pooled, 1)


class BiLSTMBody(nn.Module):
    """A bidirectional LSTM read over the packed sequence, pooled by max or mean."""

    def __init__(self, dim: int, hidden: int = 128, layers: int = 1, pool: str = "max",
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, hidden, num_layers=layers, batch_first=True,
                            bidirectional=True, dropout=dropout if layers > 1 else 0.0)
        self.pool = pool
        self.out_dim = 2 * hidden

    def forward(self, emb: torch.Tensor, mask: torch.Tensor, *_: Any) -> torch.Tensor:
        lengths = mask.sum(1).clamp_min(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(emb, lengths, batch_first=True,
                                                   enforce_sorted=False)
        out, _ = self.lstm(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                     total_length=emb.shape[1])
        if self.pool == "mean":
            return _masked_mean(states, mask)
        return _masked_max(states, mask)


class StaticClassifier(nn.Module):
    """Embedding table (+ bigram table) -> head body -> dropout -> linear to the classes."""

    def __init__(self, head: str, embeddings: torch.Tensor, num_classes: int, pad_id: int,
                 options: dict[str, Any] | None = None, bigram_buckets: int = 0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        opts = options or {}
        vocab_size, dim = embeddings.shape
        self.head = head
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id, sparse=True)
        with torch.no_grad():
            self.embed.weight.copy_(embeddings)
        self.bigram_embed = (nn.Embedding(bigram_buckets, dim, sparse=True)
                             if bigram_buckets else None)
        if self.bigram_embed is not None:
            nn.init.zeros_(self.bigram_embed.weight)
        if head == "bag":
            self.body: nn.Module = BagBody(dim, int(opts.get("hidden", 0)), dropout)
        elif head == "cnn":
            self.body = CNNBody(dim, int(opts.get("filters", 100)),
                                tuple(opts.get("widths", (3, 4, 5))))
        elif head == "bilstm":
            self.body = BiLSTMBody(dim, int(opts.get("hidden", 128)), int(opts.get("layers", 1)),
                                   str(opts.get("pool", "max")), dropout)
        else:
            raise ValueError(f"unknown static head {head!r}")
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(self.body.out_dim, num_classes)

    def forward(self, batch: Batch) -> torch.Tensor:
        emb = self.embed(batch.ids)
        bigram_emb = None
        if self.bigram_embed is not None and batch.bigrams is not None:
            bigram_emb = self.bigram_embed(batch.bigrams)
        pooled = self.body(emb, batch.mask, bigram_emb, batch.bigram_mask)
        return self.out(self.dropout(pooled))

    def embedding_parameters(self) -> list[nn.Parameter]:
        """The (sparse-gradient) tables, which get no weight decay."""
        tables = [self.embed.weight]
        if self.bigram_embed is not None:
            tables.append(self.bigram_embed.weight)
        return tables


class EncoderClassifier(nn.Module):
    """A contextual encoder with dropout + linear on the ``[CLS]`` state or the mean state."""

    def __init__(self, encoder: nn.Module, d_model: int, num_classes: int, pool: str = "cls",
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.pool = pool
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(d_model, num_classes)
        nn.init.normal_(self.out.weight, std=0.02)
        nn.init.zeros_(self.out.bias)

    def forward(self, batch: Batch) -> torch.Tensor:
        hidden = self.encoder(batch.ids, batch.mask.long())
        if isinstance(hidden, tuple | list):
            hidden = hidden[0]
        pooled = hidden[:, 0] if self.pool == "cls" else _masked_mean(hidden, batch.mask)
        return self.out(self.dropout(pooled))

    def embedding_parameters(self) -> list[nn.Parameter]:
        """Token-embedding tables inside the encoder (what ``--freeze-embeddings`` freezes)."""
        return [m.weight for m in self.encoder.modules() if isinstance(m, nn.Embedding)]
