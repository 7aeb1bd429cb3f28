"""The Transformer encoder-decoder (Vaswani et al. 2017) over tokvec's embedding tables.

The encoder is :class:`tokvec.contextual.bert.TransformerEncoder`, the same blocks that
``tokvec pretrain`` trains (so a pretrained BERT can warm-start it). The decoder's blocks extend
:class:`~tokvec.contextual.bert.EncoderBlock` with cross-attention over the encoder's output and a
causal mask on self-attention (``scaled_dot_product_attention(is_causal=True)``). Token vectors
are scaled by sqrt(d_model) and added to sinusoidal (or learned) positions. The decoder's table
is tied to the output projection; with a joint vocabulary the encoder uses the same table too
(three-way tying: one |V| x d_model matrix serves every language).

Decoding keeps each decoder layer's keys and values (:class:`DecoderState`), so every step
computes one new position; :mod:`tokvec.seq2seq.decode` drives it.

>>> import torch
>>> cfg = Seq2SeqArch(src_vocab=40, tgt_vocab=40, d_model=16, enc_layers=1, dec_layers=1,
...                   heads=2, ffn=32, max_len=16)
>>> model = Seq2SeqTransformer(cfg).eval()
>>> src = torch.tensor([[5, 6, 7, 3], [8, 9, 3, 0]])
>>> tgt_in = torch.tensor([[0, 11, 12], [0, 13, 0]])       # decoding starts from padding
>>> tgt_out = torch.tensor([[11, 12, 3], [13, 3, 0]])
>>> loss, tokens = model(src, tgt_in, tgt_out)
>>> tokens, loss.shape
(5, torch.Size([]))
>>> memory = model.encode(src)
>>> state = model.start(memory, src != 0)
>>> model.step(torch.tensor([0, 0]), state).shape     # log-probabilities of the next token
torch.Size([2, 40])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..contextual.bert import INIT_STD, EncoderBlock, TransformerEncoder, _init_weights, attend
from ..contextual.config import EncoderConfig
from ..contextual.dropout import FastDropout
from .config import Seq2SeqArch


class DecoderBlock(EncoderBlock):
    """Causal self-attention, cross-attention over the source, feed-forward (pre- or post-norm)."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__(cfg)
        d = cfg.d_model
        self.cross_q = nn.Linear(d, d)
        self.cross_kv = nn.Linear(d, 2 * d)
        self.cross_out = nn.Linear(d, d)
        self.norm_cross = nn.LayerNorm(d, eps=cfg.layer_norm_eps)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d) -> (B, H, T, dh)."""
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def _merge(self, y: torch.Tensor) -> torch.Tensor:
        b, h, t, dh = y.shape
        return y.transpose(1, 2).reshape(b, t, h * dh)

    def memory(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-attention keys and values of the encoder output, (B, H, S, dh) each."""
        b, s, d = source.shape
        k, v = self.cross_kv(source).view(b, s, 2, self.heads, d // self.heads).unbind(2)
        return k.transpose(1, 2), v.transpose(1, 2)

    def self_attention(self, x: torch.Tensor, cache: list[torch.Tensor] | None
                       ) -> torch.Tensor:
        b, t, d = x.shape
        h, dh = self.heads, d // self.heads
        q, k, v = self.qkv(x).view(b, t, 3, h, dh).transpose(1, 3).unbind(2)  # (B, H, T, dh)
        if cache is not None:  # incremental: append this step's keys and values
            if cache:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            cache[:] = [k, v]
        y = attend(q, k, v, None, self.attn_dropout if self.training else 0.0,
                   is_causal=cache is None and t > 1)
        return self.drop(self.attn_out(self._merge(y)))

    def cross_attention(self, x: torch.Tensor, memory: tuple[torch.Tensor, torch.Tensor],
                        mask: torch.Tensor | None) -> torch.Tensor:
        y = attend(self._heads(self.cross_q(x)), memory[0], memory[1], mask,
                   self.attn_dropout if self.training else 0.0)
        return self.drop(self.cross_out(self._merge(y)))

    def forward(self, x: torch.Tensor, memory: tuple[torch.Tensor, torch.Tensor],  # type: ignore[override]
                mask: torch.Tensor | None, cache: list[torch.Tensor] | None = None
                ) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.self_attention(self.norm1(x), cache)
            x = x + self.cross_attention(self.norm_cross(x), memory, mask)
            return x + self.feed_forward(self.norm2(x))
        x = self.norm1(x + self.self_attention(x, cache))
        x = self.norm_cross(x + self.cross_attention(x, memory, mask))
        return self.norm2(x + self.feed_forward(x))


def _zero_row(row: int):  # type: ignore[no-untyped-def]
    def hook(grad: torch.Tensor) -> torch.Tensor:
        return grad.index_fill(0, torch.tensor([row], device=grad.device), 0.0)
    return hook


@dataclass
class DecoderState:
    """What incremental decoding carries from step to step, one row per hypothesis."""

    memory: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: cross keys, values
    mask: torch.Tensor | None  # (B, 1, 1, S) True where a source position may be attended
    caches: list[list[torch.Tensor]]  # per layer: self-attention keys, values so far
    length: int = 0  # target positions already decoded

    def select(self, rows: torch.Tensor, memory: bool = True) -> None:
        """Keep (and reorder to) ``rows``: beams that survive, sentences still running.

        ``memory=False`` leaves the source side as it is: right when ``rows`` only reorders
        beams within each sentence, whose rows share one source (the common beam-search step).
        """
        if memory:
            self.memory = [(k.index_select(0, rows), v.index_select(0, rows))
                           for k, v in self.memory]
            if self.mask is not None:
                self.mask = self.mask.index_select(0, rows)
        self.caches = [[t.index_select(0, rows) for t in c] for c in self.caches]


class Seq2SeqTransformer(nn.Module):
    """Encoder-decoder; ``forward`` gives the label-smoothed loss summed over target tokens."""

    def __init__(self, arch: Seq2SeqArch) -> None:
        super().__init__()
        self.arch = arch
        self.encoder = TransformerEncoder(arch.encoder_config())
        dec = arch.decoder_config()
        self.dec_cfg = dec
        if arch.shared_vocab:
            self.tgt_emb = self.encoder.tok_emb
        else:
            self.tgt_emb = nn.Embedding(arch.tgt_vocab, arch.d_model)
            _init_weights(self.tgt_emb)
        # the decoder reuses the encoder's position signals (sinusoidal) or has its own (learned)
        self.dec_positions = (nn.Embedding(arch.max_len, arch.d_model)
                              if arch.positions == "learned" else None)
        if self.dec_positions is not None:
            _init_weights(self.dec_positions)
        self.dec_emb_norm = (nn.LayerNorm(arch.d_model, eps=arch.layer_norm_eps)
                             if dec.norms_embeddings else nn.Identity())
        self.blocks = nn.ModuleList(DecoderBlock(dec) for _ in range(arch.dec_layers))
        for block in self.blocks:
            block.apply(_init_weights)
            if arch.norm == "pre":
                for layer in (block.attn_out, block.cross_out, block.ffn_out):
                    nn.init.normal_(layer.weight, std=INIT_STD / math.sqrt(2 * arch.dec_layers))
        self.dec_final_norm = (nn.LayerNorm(arch.d_model, eps=arch.layer_norm_eps)
                               if arch.norm == "pre" else nn.Identity())
        self.drop = FastDropout(arch.dropout)
        self.register_buffer("out_bias", torch.zeros(arch.tgt_vocab), persistent=True)
        self.embed_scale = math.sqrt(arch.d_model) if arch.scale_embeddings else 1.0
        # Tables start at std d^-1/2 (as in fairseq), so that scaled by sqrt(d) a token vector
        # has unit-size entries, like the position signal it is added to. The padding row,
        # which is also the decoder's start token, is zero and stays zero (Marian's convention:
        # decoding starts from a zero embedding), so exported models decode the same way.
        for table in {id(t): t for t in (self.encoder.tok_emb, self.tgt_emb)}.values():
            nn.init.normal_(table.weight, std=arch.d_model ** -0.5)
            with torch.no_grad():
                table.weight[arch.pad_id].zero_()
            table.weight.register_hook(_zero_row(arch.pad_id))

    # ----- pieces ---------------------------------------------------------------------------
    def encode(self, src: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
        """Encoder output ``(B, S, d_model)`` of right-padded source ids."""
        return self.encoder(src, src != pad_id)

    def _target_embed(self, ids: torch.Tensor, start: int) -> torch.Tensor:
        x = self.tgt_emb(ids) * self.embed_scale
        t = ids.shape[1]
        if self.dec_positions is not None:
            x = x + self.dec_positions.weight[start:start + t]
        else:
            x = x + self.encoder.pos_table[start:start + t]
        return self.drop(self.dec_emb_norm(x))

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return F.linear(hidden, self.tgt_emb.weight, self.out_bias)

    @staticmethod
    def source_mask(src_keep: torch.Tensor) -> torch.Tensor | None:
        return None if bool(src_keep.all()) else src_keep[:, None, None, :]

    def decode_hidden(self, tgt_in: torch.Tensor, memory: torch.Tensor,
                      src_keep: torch.Tensor) -> torch.Tensor:
        """Decoder output ``(B, T, d_model)`` for teacher-forced target inputs."""
        mask = self.source_mask(src_keep)
        x = self._target_embed(tgt_in, 0)
        for block in self.blocks:
            x = block(x, block.memory(memory), mask)
        return self.dec_final_norm(x)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor,
                pad_id: int = 0, label_smoothing: float = 0.1) -> tuple[torch.Tensor, int]:
        """``(summed label-smoothed cross-entropy, number of target tokens)``; the output
        projection runs only at real (non-pad) target positions."""
        src_keep = src != pad_id
        memory = self.encoder(src, src_keep)
        hidden = self.decode_hidden(tgt_in, memory, src_keep)
        keep = tgt_out != pad_id
        picked = hidden[keep]
        loss = F.cross_entropy(self.logits(picked), tgt_out[keep], reduction="sum",
                               label_smoothing=label_smoothing)
        return loss, int(picked.shape[0])

    # ----- incremental decoding -------------------------------------------------------------
    def start(self, memory: torch.Tensor, src_keep: torch.Tensor) -> DecoderState:
        return DecoderState([block.memory(memory) for block in self.blocks],
                            self.source_mask(src_keep), [[] for _ in self.blocks])

    def step(self, last: torch.Tensor, state: DecoderState) -> torch.Tensor:
        """Log-probabilities ``(B, V)`` of the next token after ``last`` ``(B,)``."""
        x = self._target_embed(last[:, None], state.length)
        for block, memory, cache in zip(self.blocks, state.memory, state.caches, strict=True):
            x = block(x, memory, state.mask, cache)
        state.length += 1
        return torch.log_softmax(self.logits(self.dec_final_norm(x[:, 0])).float(), dim=-1)
