"""One dataclass holds every hyper-parameter of static training, with word2vec/gensim defaults.

Fields are named like the ``tokvec train`` flags. Fields left at ``None`` take the method's own
default when :meth:`TrainConfig.resolved` is called: learning rate 0.025 for skip-gram (``sgns``)
and 0.05 for ``cbow`` and ``fasttext`` (fastText's default), window 5 and 5 epochs, except GloVe
(window 10, 25 epochs, lr 0.05, as the GloVe reference code, and ``x_max`` 10, as its demo
script uses for corpora of millions of words; the paper's 100 suits billions); noise words drawn
from the unigram distribution to the power 0.75 (word2vec), 0.5 for ``fasttext`` (fastText's
choice); threads default to all cores. ``chunk_order`` "shuffled" (default) visits the corpus
chunks (about ``chunk_words`` tokens of whole sentences each) in a new random order each epoch
(see :func:`tokvec.static.trainer.chunk_order`); "file" reads them front to back, as word2vec
and gensim do.

>>> cfg = TrainConfig(method="sgns", dim=50).resolved()
>>> cfg.lr, cfg.window, cfg.epochs
(0.025, 5, 5)
>>> TrainConfig(dim=0).validate()
Traceback (most recent call last):
...
tokvec.errors.TokvecError: --dim must be a positive integer, got 0
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any

from ..errors import TokvecError

METHODS = ("sgns", "cbow", "glove", "fasttext")
DEVICES = ("auto", "cpu", "cuda")
ENGINES = ("auto", "numba", "torch")
CHUNK_ORDERS = ("shuffled", "file")
TOKENIZER_KINDS = ("word", "whitespace", "char", "zh-char", "zh-word")

_DEFAULT_LR = {"sgns": 0.025, "cbow": 0.05, "fasttext": 0.05, "glove": 0.05}
_DEFAULT_WINDOW = {"glove": 10}
_DEFAULT_EPOCHS = {"glove": 25}
_DEFAULT_NOISE_POWER = {"fasttext": 0.5}

# Settings that change the trained vectors (a checkpoint only resumes under the same values).
_RUN_ONLY = ("threads", "checkpoint_every", "progress", "device", "engine", "log_every")


@dataclass
class TrainConfig:
    """Hyper-parameters of one static training run (see the module docs for defaults)."""

    method: str = "sgns"
    dim: int = 100
    window: int | None = None
    negative: int = 5
    min_count: int = 5
    sample: float = 1e-3
    noise_power: float | None = None
    epochs: int | None = None
    lr: float | None = None
    min_lr: float = 1e-4
    threads: int | None = None
    seed: int = 1
    tokenizer: str = "word"
    lowercase: bool = False
    max_vocab: int | None = None
    checkpoint_every: float = 10.0
    minn: int = 3
    maxn: int = 6
    buckets: int = 2_000_000
    x_max: float = 10.0
    memory_mb: float = 1024.0
    encoding_errors: str = "strict"
    device: str = "auto"
    progress: bool = False
    shared_negatives: bool = True
    chunk_order: str = "shuffled"
    engine: str = "auto"
    torch_batch: int = 4096
    chunk_words: int = 16384
    log_every: float = 5.0

    def resolved(self) -> TrainConfig:
        """A copy with method defaults filled in and the whole config validated."""
        cfg = dataclasses.replace(self)
        cfg.validate()
        if cfg.lr is None:
            cfg.lr = _DEFAULT_LR[cfg.method]
        if cfg.window is None:
            cfg.window = _DEFAULT_WINDOW.get(cfg.method, 5)
        if cfg.epochs is None:
            cfg.epochs = _DEFAULT_EPOCHS.get(cfg.method, 5)
        if cfg.noise_power is None:
            cfg.noise_power = _DEFAULT_NOISE_POWER.get(cfg.method, 0.75)
        if cfg.threads is None:
            cfg.threads = max(1, os.cpu_count() or 1)
        return cfg

    def validate(self) -> None:
        """Refuse nonsense values with one clear :class:`TokvecError` naming the flag."""
        _choice("--method", self.method, METHODS)
        _choice("--tokenizer", self.tokenizer, TOKENIZER_KINDS)
        if not (self.device in DEVICES or str(self.device).startswith("cuda:")):
            raise TokvecError(f"--device must be one of {', '.join(DEVICES)} (or cuda:N), "
                              f"got {self.device!r}")
        _choice("--engine", self.engine, ENGINES)
        _choice("--chunk-order", self.chunk_order, CHUNK_ORDERS)
        _choice("--encoding-errors", self.encoding_errors, ("strict", "replace"))
        _int_at_least("--dim", self.dim, 1, "a positive integer")
        _int_at_least("--window", self.window, 1, "a positive integer")
        _int_at_least("--epochs", self.epochs, 1, "a positive integer")
        _int_at_least("--min-count", self.min_count, 1, "a positive integer")
        _int_at_least("--threads", self.threads, 1, "a positive integer")
        _int_at_least("--negative", self.negative, 0, "an integer >= 0")
        if self.method != "glove" and self.negative == 0:
            raise TokvecError(f"--negative must be >= 1 for --method {self.method} (training "
                              "uses negative sampling; there is no hierarchical softmax)")
        _int_at_least("--max-vocab", self.max_vocab, 1, "a positive integer")
        _int_at_least("--minn", self.minn, 1, "a positive integer")
        _int_at_least("--maxn", self.maxn, 1, "a positive integer")
        if self.maxn < self.minn:
            raise TokvecError(f"--maxn ({self.maxn}) must be >= --minn ({self.minn})")
        _int_at_least("--buckets", self.buckets, 1, "a positive integer")
        if self.buckets >= 1 << 31:
            raise TokvecError(f"--buckets must be below 2**31, got {self.buckets}")
        _int_at_least("chunk_words", self.chunk_words, 1, "a positive integer")
        _int_at_least("torch_batch", self.torch_batch, 1, "a positive integer")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise TokvecError(f"--seed must be an integer >= 0, got {self.seed!r}")
        _number("--sample", self.sample, allow_zero=True)
        _number("--x-max", self.x_max, allow_zero=False)
        _number("--memory-mb", self.memory_mb, allow_zero=False)
        _number("noise_power", self.noise_power, allow_zero=True)
        _number("--lr", self.lr, allow_zero=False)
        _number("min_lr", self.min_lr, allow_zero=True)
        _number("--checkpoint-every", self.checkpoint_every, allow_zero=True)
        _number("log_every", self.log_every, allow_zero=True)
        if self.lr is not None and self.min_lr >= self.lr:
            raise TokvecError(f"min_lr ({self.min_lr}) must be below --lr ({self.lr})")

    def hyperparameters(self) -> dict[str, Any]:
        """Everything that shapes the vectors (recorded in config.json and checkpoints)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in _RUN_ONLY}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _choice(flag: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise TokvecError(f"{flag} must be one of {', '.join(choices)}, got {value!r}")


def _int_at_least(flag: str, value: Any, low: int, what: str) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise TokvecError(f"{flag} must be {what}, got {value!r}")


def _number(flag: str, value: Any, allow_zero: bool) -> None:
    if value is None:
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        what = "a finite number >= 0" if allow_zero else "a positive number"
        raise TokvecError(f"{flag} must be {what}, got {value!r}")
