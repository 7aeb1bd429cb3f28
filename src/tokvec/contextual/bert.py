"""A BERT-style Transformer encoder and its masked-LM head, in plain PyTorch.

Token embedding (|V| x d_model) plus learned (or sinusoidal) positions, then ``layers`` blocks of
multi-head self-attention (``torch.nn.functional.scaled_dot_product_attention``) and a
feed-forward net.
``norm="pre"`` puts LayerNorm before each sub-layer and once more at the end; ``norm="post"`` is
BERT's own layout (LayerNorm on the embeddings and after each residual sum), which lets
:mod:`tokvec.contextual.hf` reproduce HuggingFace checkpoints exactly.

The masked-LM head is BERT's (dense, activation, LayerNorm, then the output projection tied to
the input embedding plus a bias). :class:`MaskedLM` applies it only at the masked positions:
hidden states are gathered first, so the |V|-wide projection costs 15% of what projecting every
position would. The same holds one layer down: the last block needs keys and values at every
position but queries, feed-forward and final LayerNorm only where a prediction is made
(:meth:`TransformerEncoder.forward_at`), which saves most of one layer's work.

>>> import torch
>>> from tokvec.contextual.config import EncoderConfig
>>> cfg = EncoderConfig(vocab_size=50, d_model=16, layers=2, heads=2, ffn=32, max_len=8)
>>> enc = TransformerEncoder(cfg).eval()
>>> ids = torch.tensor([[2, 7, 9, 3], [2, 8, 3, 0]])
>>> enc(ids, ids != 0).shape
torch.Size([2, 4, 16])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import EncoderConfig
from .dropout import FastDropout

INIT_STD = 0.02


def sinusoidal_table(length: int, dim: int) -> torch.Tensor:
    """Vaswani et al.'s position signals, sines in the first half of each row and cosines in the
    second (Marian's and fairseq's layout, so exported models reproduce exactly).

    >>> t = sinusoidal_table(4, 6)
    >>> t.shape, float(t[0, 0]), float(t[0, 3])
    (torch.Size([4, 6]), 0.0, 1.0)
    """
    position = torch.arange(length, dtype=torch.float64)[:, None]
    rate = torch.pow(10000.0, -torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    angles = position * rate  # (length, ceil(dim / 2))
    half = (dim + 1) // 2
    table = torch.empty(length, dim, dtype=torch.float64)
    table[:, :half] = torch.sin(angles)
    table[:, half:] = torch.cos(angles[:, : dim - half])
    return table.float()


def activation_fn(name: str):  # type: ignore[no-untyped-def]
    """``gelu`` is the exact (erf) GELU that BERT uses; ``gelu_tanh`` the tanh approximation."""
    if name == "gelu":
        return F.gelu
    if name == "gelu_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    return F.relu


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
           dropout_p: float = 0.0, is_causal: bool = False) -> torch.Tensor:
    """``scaled_dot_product_attention`` over (B, H, T, dh) views. Under bfloat16 autocast on a
    CPU it runs in float32 and casts back: there the bf16 kernel's backward pass takes four
    times as long as the fp32 one (measured: 24% of a bf16 translation training step)."""
    if q.dtype == torch.bfloat16 and q.device.type == "cpu":
        with torch.autocast("cpu", enabled=False):
            return F.scaled_dot_product_attention(
                q.float(), k.float(), v.float(), attn_mask=mask, dropout_p=dropout_p,
                is_causal=is_causal).to(torch.bfloat16)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p,
                                          is_causal=is_causal)


class EncoderBlock(nn.Module):
    """Self-attention and feed-forward sub-layers with residual connections."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.heads = cfg.heads
        self.pre_norm = cfg.norm == "pre"
        self.attn_dropout = cfg.attn_dropout
        self.qkv = nn.Linear(d, 3 * d)  # query, key and value projections in one matrix
        self.attn_out = nn.Linear(d, d)
        self.norm1 = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.ffn_in = nn.Linear(d, cfg.ffn)
        self.ffn_out = nn.Linear(cfg.ffn, d)
        self.norm2 = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.act = activation_fn(cfg.activation)
        self.drop = FastDropout(cfg.dropout)

    def attention(self, x: torch.Tensor, mask: torch.Tensor | None,
                  queries: torch.Tensor | None = None) -> torch.Tensor:
        """Self-attention over ``x``; with ``queries`` (B, M, d), only those rows ask."""
        b, t, d = x.shape
        h, dh = self.heads, d // self.heads
        if queries is None:
            q, k, v = self.qkv(x).view(b, t, 3, h, dh).unbind(2)
        else:
            w, bias = self.qkv.weight, self.qkv.bias
            q = F.linear(queries, w[:d], bias[:d]).view(b, -1, h, dh)
            k, v = F.linear(x, w[d:], bias[d:]).view(b, t, 2, h, dh).unbind(2)
        y = attend(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),  # (B, H, T, dh)
                   mask, self.attn_dropout if self.training else 0.0)
        return self.drop(self.attn_out(y.transpose(1, 2).reshape(b, -1, d)))

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.ffn_out(self.act(self.ffn_in(x))))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None,
                rows: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs at every position, or only at ``rows`` (B, M) position indices per row."""
        if rows is None:
            if self.pre_norm:
                x = x + self.attention(self.norm1(x), mask)
                return x + self.feed_forward(self.norm2(x))
            x = self.norm1(x + self.attention(x, mask))
            return self.norm2(x + self.feed_forward(x))
        index = rows[:, :, None].expand(-1, -1, x.shape[-1])
        picked = x.gather(1, index)
        if self.pre_norm:
            normed = self.norm1(x)
            picked = picked + self.attention(normed, mask, normed.gather(1, index))
            return picked + self.feed_forward(self.norm2(picked))
        picked = self.norm1(picked + self.attention(x, mask, picked))
        return self.norm2(picked + self.feed_forward(picked))


def _rows_of(positions: torch.Tensor, batch: int, length: int
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flat (ascending) positions -> per-row index matrix (B, M) and each position's cell."""
    row, col = positions // length, positions % length
    counts = torch.bincount(row, minlength=batch)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.arange(len(positions), device=positions.device) - starts[row]
    rows = torch.zeros((batch, max(1, int(counts.max()))), dtype=torch.long,
                       device=positions.device)
    rows[row, slot] = col
    return rows, row, slot


class TransformerEncoder(nn.Module):
    """``forward(input_ids (B,T), attention_mask (B,T)) -> hidden states (B,T,d_model)``."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.tok_emb = nn.Embedding(cfg.vocab_size, d)
        if cfg.positions == "learned":
            self.pos_emb = nn.Embedding(cfg.max_len, d)
        else:  # fixed signals: a buffer outside the state dict, rebuilt from the config
            self.register_buffer("pos_table", sinusoidal_table(cfg.max_len, d), persistent=False)
        self.embed_scale = math.sqrt(d) if cfg.scale_embeddings else 1.0
        post = cfg.norm == "post"
        self.emb_norm = (nn.LayerNorm(d, eps=cfg.layer_norm_eps) if cfg.norms_embeddings
                         else nn.Identity())
        self.drop = FastDropout(cfg.dropout)
        self.blocks = nn.ModuleList(EncoderBlock(cfg) for _ in range(cfg.layers))
        self.final_norm = nn.Identity() if post else nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.apply(_init_weights)
        if not post:  # GPT-2's scaling of the residual projections for deep pre-norm stacks
            for block in self.blocks:
                for layer in (block.attn_out, block.ffn_out):
                    nn.init.normal_(layer.weight, std=INIT_STD / math.sqrt(2 * cfg.layers))

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        t = input_ids.shape[1]
        if t > self.cfg.max_len:
            raise ValueError(f"sequence length {t} exceeds max_len {self.cfg.max_len}")
        x = self.drop(self.emb_norm(self.embed(input_ids)))
        mask = None
        if attention_mask is not None:
            keep = attention_mask.bool()
            if not bool(keep.all()):
                mask = keep[:, None, None, :]  # (B, 1, 1, T): True where a key may be attended
        for block in self.blocks:
            x = block(x, mask)
        return self.final_norm(x)

    def forward_at(self, input_ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(M, d_model)`` at flat, ascending ``positions`` into ``B*T`` only.

        Equal to ``forward(input_ids).reshape(-1, d)[positions]`` (unpadded input), at a
        fraction of the last layer's cost.
        """
        return self.hidden_at(self.embed(input_ids), positions)

    def positions(self, length: int, start: int = 0) -> torch.Tensor:
        """Position vectors ``(length, d_model)`` for positions ``start, start + 1, ...``."""
        table = self.pos_emb.weight if self.cfg.positions == "learned" else self.pos_table
        return table[start:start + length]

    def embed(self, input_ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Token plus position embeddings ``(B, T, d_model)``, before any norm or dropout."""
        x = self.tok_emb(input_ids)
        if self.embed_scale != 1.0:
            x = x * self.embed_scale
        return x + self.positions(input_ids.shape[1], start)

    def hidden_at(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """:meth:`forward_at` from embeddings ``x`` ``(B, T, d_model)`` (e.g. another
        encoder's, projected: the ELECTRA generator shares the discriminator's table)."""
        b, t = x.shape[:2]
        x = self.drop(self.emb_norm(x))
        for block in self.blocks[:-1]:
            x = block(x, None)
        rows, row, slot = _rows_of(positions, b, t)
        return self.final_norm(self.blocks[-1](x, None, rows)[row, slot])


class MaskedLMHead(nn.Module):
    """Dense + activation + LayerNorm, then logits against the (tied) token table."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.d_model, cfg.d_model)
        self.act = activation_fn(cfg.activation)
        self.norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        self.apply(_init_weights)

    def forward(self, hidden: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        return F.linear(self.norm(self.act(self.dense(hidden))), table, self.bias)


class MaskedLM(nn.Module):
    """Encoder + MLM head; ``forward`` returns the mean cross-entropy at masked positions."""

    def __init__(self, encoder: TransformerEncoder, head: MaskedLMHead | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head if head is not None else MaskedLMHead(encoder.cfg)

    def forward(self, input_ids: torch.Tensor, positions: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """``positions``: ascending flat indices into ``B*T`` of the masked tokens;
        ``targets``: their true ids."""
        picked = self.encoder.forward_at(input_ids, positions)
        logits = self.head(picked, self.encoder.tok_emb.weight)
        return F.cross_entropy(logits, targets)


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=INIT_STD)
