"""What shapes a translation model and its training: one dataclass, :class:`Seq2SeqConfig`.

:class:`Seq2SeqConfig` holds every option of ``tokvec seq2seq`` (architecture, tokenization,
batching, optimisation, budget); it is saved in the checkpoint and in ``config.json``. The
architecture part is :class:`Seq2SeqArch`, which the model is built from.

>>> cfg = Seq2SeqConfig(d_model=64, heads=4, enc_layers=2, dec_layers=2, ffn=128)
>>> arch = cfg.arch(src_vocab=1000, tgt_vocab=1000)
>>> arch.shared_vocab, arch.encoder_config().scale_embeddings
(True, True)
>>> Seq2SeqConfig(d_model=30, heads=4)
Traceback (most recent call last):
...
tokvec.errors.TokvecError: d_model (30) must be divisible by heads (4)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from ..contextual.config import ACTIVATIONS, NORMS, POSITIONS, EncoderConfig
from ..contextual.precision import PRECISIONS
from ..errors import TokvecError

SCHEDULES = ("inverse-sqrt", "linear", "cosine")
SEGMENTERS = ("none", "char", "jieba")
SUBWORD_KINDS = ("bpe", "unigram")
METRICS = ("bleu", "loss")


@dataclass(frozen=True)
class Seq2SeqArch:
    """The network: sizes, norm placement, positions, vocabularies (saved in config.json)."""

    src_vocab: int
    tgt_vocab: int
    d_model: int = 256
    enc_layers: int = 3
    dec_layers: int = 3
    heads: int = 4
    ffn: int = 1024
    max_len: int = 256
    dropout: float = 0.1
    attn_dropout: float = 0.0
    norm: str = "pre"
    activation: str = "relu"
    positions: str = "sinusoidal"
    shared_vocab: bool = True
    pad_id: int = 0  # padding, and the decoder's start token (its row stays zero)
    # Vaswani et al.'s embedding layout; a BERT encoder warm start brings its own
    scale_embeddings: bool = True
    embedding_norm: bool = False
    layer_norm_eps: float = 1e-5

    def _block_config(self, vocab: int, layers: int) -> EncoderConfig:
        return EncoderConfig(vocab, self.d_model, layers, self.heads, self.ffn, self.max_len,
                             self.dropout, self.norm, self.activation, self.layer_norm_eps,
                             self.attn_dropout, self.positions,
                             scale_embeddings=self.scale_embeddings,
                             embedding_norm=self.embedding_norm)

    def encoder_config(self) -> EncoderConfig:
        return self._block_config(self.src_vocab, self.enc_layers)

    def decoder_config(self) -> EncoderConfig:
        return self._block_config(self.tgt_vocab, self.dec_layers)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seq2SeqArch:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Seq2SeqConfig:
    """Every option of a translation training run, with the defaults ``tokvec seq2seq`` uses."""

    # architecture
    d_model: int = 256
    enc_layers: int = 3
    dec_layers: int = 3
    heads: int = 4
    ffn: int = 1024
    max_len: int = 256
    dropout: float = 0.1
    attn_dropout: float = 0.0
    norm: str = "pre"
    activation: str = "relu"
    positions: str = "sinusoidal"
    scale_embeddings: bool = True  # token vectors times sqrt(d_model)
    embedding_norm: bool = False  # LayerNorm on the summed embeddings
    layer_norm_eps: float = 1e-5
    # tokenization
    tokenizer: str = "bpe"  # bpe or unigram, learned on the training text
    vocab: str | None = None  # or: a tokenizer directory to use as the joint vocabulary
    vocab_size: int = 8000
    joint_vocab: bool = True  # one vocabulary (and one table) for every language
    src_segment: str = "none"  # Chinese source: none, char or jieba before subwords
    tgt_segment: str = "none"
    # batching and optimisation
    batch_tokens: int = 4096  # target tokens per batch (padding included), per process
    accumulate: int = 1
    lr: float = 1e-3
    warmup: int = 400
    schedule: str = "inverse-sqrt"
    weight_decay: float = 0.0
    clip: float = 1.0
    label_smoothing: float = 0.1
    precision: str = "fp32"  # bf16: bfloat16 matrix products in training (fp32 weights)
    # budget and bookkeeping
    steps: int | None = None
    epochs: int | None = None
    max_minutes: float | None = None
    eval_every: int = 200  # steps between dev evaluations (and averaging snapshots)
    patience: int | None = None  # stop after this many evaluations without improvement
    metric: str = "bleu"  # what early stopping watches: dev BLEU or dev loss
    average_last: int = 1  # average the weights of the last K snapshots at the end
    freeze_embeddings: bool = False
    seed: int = 0
    threads: int | None = None
    checkpoint_every: float = 10.0
    log_every: int = 10

    def __post_init__(self) -> None:
        for name in ("d_model", "enc_layers", "dec_layers", "heads", "ffn", "max_len",
                     "vocab_size", "batch_tokens", "accumulate", "eval_every", "average_last",
                     "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise TokvecError(f"{name.replace('_', '-')} must be a positive integer, "
                                  f"got {value!r}")
        if self.d_model % self.heads:
            raise TokvecError(f"d_model ({self.d_model}) must be divisible by heads "
                              f"({self.heads})")
        choices = {"norm": NORMS, "activation": ACTIVATIONS, "positions": POSITIONS,
                   "schedule": SCHEDULES, "src_segment": SEGMENTERS,
                   "tgt_segment": SEGMENTERS, "tokenizer": SUBWORD_KINDS, "metric": METRICS,
                   "precision": PRECISIONS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise TokvecError(f"{name.replace('_', '-')} must be one of "
                                  f"{', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.steps is not None and self.epochs is not None:
            raise TokvecError("give --steps or --epochs, not both")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise TokvecError(f"--max-minutes must be positive, got {self.max_minutes}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise TokvecError(f"label smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.max_len < 8:
            raise TokvecError(f"max-len must be at least 8, got {self.max_len}")

    def arch(self, src_vocab: int, tgt_vocab: int) -> Seq2SeqArch:
        return Seq2SeqArch(src_vocab, tgt_vocab, self.d_model, self.enc_layers, self.dec_layers,
                           self.heads, self.ffn, self.max_len, self.dropout, self.attn_dropout,
                           self.norm, self.activation, self.positions, self.joint_vocab,
                           scale_embeddings=self.scale_embeddings,
                           embedding_norm=self.embedding_norm,
                           layer_norm_eps=self.layer_norm_eps)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Options that may change when resuming; everything else comes from the checkpoint.
RUN_FIELDS = ("steps", "epochs", "max_minutes", "threads", "checkpoint_every", "log_every",
              "patience")


def resolve_config(given: dict[str, Any] | Seq2SeqConfig | None,
                   saved: dict[str, Any] | None) -> Seq2SeqConfig:
    """A fresh run: ``given`` over the defaults. Resuming: the saved options, with only
    :data:`RUN_FIELDS` open to change."""
    given = given.to_dict() if isinstance(given, Seq2SeqConfig) else dict(given or {})
    names = {f.name for f in fields(Seq2SeqConfig)}
    unknown = sorted(set(given) - names)
    if unknown:
        raise TokvecError(f"unknown seq2seq options: {', '.join(unknown)}")
    if saved is None:
        return Seq2SeqConfig(**given)
    base = {k: v for k, v in saved.items() if k in names}
    defaults = Seq2SeqConfig().to_dict()
    for key, value in given.items():
        if key in RUN_FIELDS or value is None or value == base.get(key):
            continue
        if value == defaults.get(key):
            continue  # a programmatic caller passing the defaults along
        raise TokvecError(f"--{key.replace('_', '-')} cannot change when resuming "
                          f"(checkpoint has {base.get(key)!r})")
    if given.get("steps") is not None or given.get("epochs") is not None:
        base["steps"], base["epochs"] = given.get("steps"), given.get("epochs")
    base.update({k: given[k] for k in RUN_FIELDS[2:] if given.get(k) is not None})
    return Seq2SeqConfig(**base)
