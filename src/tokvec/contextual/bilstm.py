"""An ELMo-style bidirectional LSTM language model and its contextual vectors.

A forward and a backward LSTM language model (``layers`` each, cell size ``hidden``, each layer's
output projected to ``d_model / 2`` by a linear map, in the spirit of ELMo's LSTMP cells) read
the same token table. The forward
model predicts the next token, the backward one the previous token; both softmaxes are tied to
the token table (through a ``d_model/2 -> d_model`` projection per direction).

Contextual vectors are ELMo's: layer 0 is the token embedding (``d_model`` wide), layer ``j`` is
the forward and backward states of LSTM layer ``j`` **concatenated** (``d_model/2 + d_model/2 =
d_model``), and the output is ``gamma * sum_j softmax(s)_j * layer_j`` with learned ``s`` and
``gamma`` (:class:`ScalarMix`). Pretraining does not touch ``s`` and ``gamma`` (they start as an
even mix with ``gamma = 1``); fine-tuning learns them with the task, as in ELMo.

>>> import torch
>>> from tokvec.contextual.config import BiLSTMConfig
>>> enc = BiLSTMEncoder(BiLSTMConfig(vocab_size=30, d_model=8, layers=2, hidden=16)).eval()
>>> ids = torch.tensor([[2, 7, 9, 3], [2, 8, 3, 0]])
>>> enc(ids, ids != 0).shape
torch.Size([2, 4, 8])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import BiLSTMConfig

EMBED_STD = 0.1


class ScalarMix(nn.Module):
    """``gamma * sum_j softmax(s)_j * layer_j`` over a list of equally shaped layers."""

    def __init__(self, n_layers: int) -> None:
        super().__init__()
        self.scalars = nn.Parameter(torch.zeros(n_layers))
        self.gamma = nn.Parameter(torch.ones(1))

    def forward(self, layers: list[torch.Tensor]) -> torch.Tensor:
        weights = torch.softmax(self.scalars, dim=0)
        mixed = weights[0] * layers[0]
        for w, layer in zip(weights[1:], layers[1:], strict=True):
            mixed = mixed + w * layer
        return self.gamma * mixed


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Reverse each row's first ``lengths[b]`` steps (padding stays at the end); self-inverse."""
    if lengths is None:
        return x.flip(1)
    t = x.shape[1]
    steps = torch.arange(t, device=x.device).expand(x.shape[0], t)
    index = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
    if x.dim() == 3:
        index = index[:, :, None].expand(-1, -1, x.shape[2])
    return x.gather(1, index)


class BiLSTMLM(nn.Module):
    """Forward and backward LSTM language models over one shared, tied token table."""

    def __init__(self, cfg: BiLSTMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        half = cfg.d_model // 2
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        nn.init.normal_(self.tok_emb.weight, std=EMBED_STD)
        self.drop = nn.Dropout(cfg.dropout)

        def stack() -> nn.ModuleList:
            return nn.ModuleList(
                nn.LSTM(cfg.d_model if i == 0 else half, cfg.hidden, batch_first=True)
                for i in range(cfg.layers))

        def projections() -> nn.ModuleList:
            return nn.ModuleList(nn.Linear(cfg.hidden, half) for _ in range(cfg.layers))

        self.fwd = stack()
        self.bwd = stack()
        self.fwd_proj = projections()
        self.bwd_proj = projections()
        self.fwd_out = nn.Linear(half, cfg.d_model)
        self.bwd_out = nn.Linear(half, cfg.d_model)
        self.fwd_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        self.bwd_bias = nn.Parameter(torch.zeros(cfg.vocab_size))

    def _run(self, stack: nn.ModuleList, projections: nn.ModuleList,
             x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for lstm, proj in zip(stack, projections, strict=True):
            x = proj(lstm(self.drop(x))[0])
            outputs.append(x)
        return outputs

    def directional_states(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None
                           ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Embeddings, forward layer outputs and backward ones (in reading order)."""
        emb = self.tok_emb(input_ids)
        forward = self._run(self.fwd, self.fwd_proj, emb)
        backward = [reverse_padded(h, lengths) for h in
                    self._run(self.bwd, self.bwd_proj, reverse_padded(emb, lengths))]
        return emb, forward, backward

    def layers(self, input_ids: torch.Tensor,
               lengths: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Layer 0 (token embedding) and each LSTM layer (forward ++ backward), all d_model."""
        emb, forward, backward = self.directional_states(input_ids, lengths)
        return [emb] + [torch.cat(pair, dim=-1) for pair in zip(forward, backward, strict=True)]

    def lm_loss(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Mean of the forward (next token) and backward (previous token) cross-entropies."""
        _, forward, backward = self.directional_states(input_ids)
        table = self.tok_emb.weight
        d = table.shape[1]
        fwd_hidden = self.fwd_out(self.drop(forward[-1][:, :-1])).reshape(-1, d)
        bwd_hidden = self.bwd_out(self.drop(backward[-1][:, 1:])).reshape(-1, d)
        fwd_logits = F.linear(fwd_hidden, table, self.fwd_bias)
        bwd_logits = F.linear(bwd_hidden, table, self.bwd_bias)
        loss_f = F.cross_entropy(fwd_logits, input_ids[:, 1:].reshape(-1))
        loss_b = F.cross_entropy(bwd_logits, input_ids[:, :-1].reshape(-1))
        return 0.5 * (loss_f + loss_b)


class BiLSTMEncoder(nn.Module):
    """``forward(input_ids (B,T), attention_mask (B,T)) -> ELMo vectors (B,T,d_model)``."""

    def __init__(self, cfg: BiLSTMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.lm = BiLSTMLM(cfg)
        self.mix = ScalarMix(cfg.layers + 1)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        lengths = None
        if attention_mask is not None:
            keep = attention_mask.bool()
            if not bool(keep.all()):
                lengths = keep.sum(dim=1)
        return self.mix(self.lm.layers(input_ids, lengths))


class BiLSTMObjective(nn.Module):
    """The pretraining wrapper: ``forward(input_ids) -> loss`` (what DDP wraps)."""

    def __init__(self, lm: BiLSTMLM) -> None:
        super().__init__()
        self.lm = lm

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.lm.lm_loss(input_ids)
