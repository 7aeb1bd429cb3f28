"""Hyper-parameters of the contextual encoders, as plain dataclasses saved in ``config.json``.

Two architectures share one model directory layout:

- ``bert``: a Transformer encoder (learned positions, ``layers`` blocks of multi-head
  self-attention and a feed-forward net). ``norm="pre"`` (our default: LayerNorm before each
  sub-layer plus a final LayerNorm) trains stably at high learning rates; ``norm="post"``
  (LayerNorm after each residual sum, LayerNorm on the embeddings) is the original BERT layout
  and reproduces HuggingFace checkpoints exactly. ``dropout`` applies to the embeddings and to
  each sub-layer's output; ``attn_dropout`` (default 0) to the attention probabilities, off by
  default because the fused attention kernels on the CPU have no dropout.
- ``bilstm``: an ELMo-style pair of LSTM language models (``layers`` each way, cell size
  ``hidden``, each layer projected to ``d_model // 2``) sharing the token table.

>>> cfg = EncoderConfig(vocab_size=100, d_model=32, layers=2, heads=4, ffn=64, max_len=16)
>>> EncoderConfig.from_dict(cfg.to_dict()) == cfg
True
>>> EncoderConfig(vocab_size=100, d_model=30, heads=4)
Traceback (most recent call last):
...
tokvec.errors.TokvecError: d_model (30) must be divisible by heads (4)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import TokvecError

NORMS = ("pre", "post")
POSITIONS = ("learned", "sinusoidal")
ACTIVATIONS = ("gelu", "gelu_tanh", "relu")


def _positive(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise TokvecError(f"{name} must be a positive integer, got {value!r}")


def _real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _dropout(value: float) -> None:
    if not _real(value) or not 0.0 <= value < 1.0:
        raise TokvecError(f"dropout must be in [0, 1), got {value!r}")


class _DictMixin:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):  # type: ignore[no-untyped-def]
        """Build from a config mapping, ignoring keys that belong to other parts."""
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class EncoderConfig(_DictMixin):
    """A BERT-style Transformer encoder."""

    vocab_size: int
    d_model: int = 256
    layers: int = 4
    heads: int = 4
    ffn: int = 1024
    max_len: int = 128
    dropout: float = 0.1
    norm: str = "pre"
    activation: str = "gelu"
    layer_norm_eps: float = 1e-5
    attn_dropout: float = 0.0
    positions: str = "learned"  # or "sinusoidal" (Vaswani et al.; Marian's layout)
    scale_embeddings: bool = False  # token vectors times sqrt(d_model), as in Vaswani et al.
    embedding_norm: bool | None = None  # LayerNorm on the embeddings; default: post-norm only

    @property
    def norms_embeddings(self) -> bool:
        return self.norm == "post" if self.embedding_norm is None else bool(self.embedding_norm)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "d_model", "layers", "heads", "ffn", "max_len"):
            _positive(name, getattr(self, name))
        if self.d_model % self.heads:
            raise TokvecError(f"d_model ({self.d_model}) must be divisible by heads "
                              f"({self.heads})")
        _dropout(self.dropout)
        _dropout(self.attn_dropout)
        if self.norm not in NORMS:
            raise TokvecError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.activation not in ACTIVATIONS:
            raise TokvecError(f"activation must be one of {ACTIVATIONS}, got "
                              f"{self.activation!r}")
        if not _real(self.layer_norm_eps) or not 0.0 < self.layer_norm_eps < 1.0:
            raise TokvecError(f"layer_norm_eps must be in (0, 1), got {self.layer_norm_eps!r}")
        if self.positions not in POSITIONS:
            raise TokvecError(f"positions must be one of {POSITIONS}, got {self.positions!r}")


@dataclass(frozen=True)
class BiLSTMConfig(_DictMixin):
    """An ELMo-style bidirectional LSTM language model."""

    vocab_size: int
    d_model: int = 256
    layers: int = 2
    hidden: int = 1024
    max_len: int = 128
    dropout: float = 0.1

    def __post_init__(self) -> None:
        for name in ("vocab_size", "d_model", "layers", "hidden", "max_len"):
            _positive(name, getattr(self, name))
        if self.d_model % 2 or self.d_model < 2:
            raise TokvecError(f"a bilstm needs an even d_model (each direction gives half), "
                              f"got {self.d_model}")
        if self.hidden <= self.d_model // 2:
            raise TokvecError(f"the LSTM cell size (--ffn, {self.hidden}) must exceed "
                              f"d_model / 2 ({self.d_model // 2})")
        _dropout(self.dropout)


ARCHS = {"bert": EncoderConfig, "bilstm": BiLSTMConfig}


def arch_config(kind: str, data: dict[str, Any]) -> EncoderConfig | BiLSTMConfig:
    """The architecture config of a model directory's ``kind`` from its config mapping."""
    if kind not in ARCHS:
        raise TokvecError(f"unknown contextual architecture {kind!r}; choose one of "
                          f"{', '.join(ARCHS)}")
    return ARCHS[kind].from_dict(data)
