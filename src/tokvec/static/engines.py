"""Training engines: the tables of one method plus a ``run(chunk)`` that trains on it.

An engine owns the trainable tables (``input``, ``output``), the sampling tables and the kernel.
The trainer hands it chunks; ``run`` returns ``(loss sum, examples)``. :class:`NumbaEngine` runs
the CPU kernels (safe to call from several threads at once: Hogwild); the torch engine lives in
:mod:`tokvec.static.torch_engine`.

Initialisation: input rows uniform in ``(-1/d, 1/d)`` (gensim and fastText; word2vec.c uses half
that), output rows zero; special-token rows zero.

>>> t = init_input(10, 4, scale=0.125, seed=0, zero_rows=5)
>>> t.dtype.name, bool((t[:5] == 0).all()), float(abs(t).max()) <= 0.125
('float32', True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import TrainConfig
from .sampling import alias_table, keep_thresholds, noise_weights


def init_input(rows: int, dim: int, scale: float, seed: int, zero_rows: int) -> np.ndarray:
    """A float32 table uniform in ``(-scale, scale)`` with its first ``zero_rows`` rows zero."""
    rng = np.random.default_rng(seed)
    table = np.empty((rows, dim), dtype=np.float32)
    step = 1 << 16
    for start in range(0, rows, step):
        block = rng.random((min(step, rows - start), dim), dtype=np.float32)
        block -= np.float32(0.5)
        block *= np.float32(2.0 * scale)
        table[start:start + block.shape[0]] = block
    table[:zero_rows] = 0.0
    return table


class NumbaEngine:
    """Skip-gram, CBOW or fasttext on the CPU with the numba kernels."""

    def __init__(self, cfg: TrainConfig, counts: np.ndarray, total_words: int,
                 words: list[str], num_specials: int) -> None:
        self.cfg = cfg
        self.method = cfg.method
        self.total = int(total_words)
        self.num_specials = num_specials
        self.keep = keep_thresholds(counts, cfg.sample)
        self.noise_p, self.noise_a = alias_table(noise_weights(counts, cfg.noise_power))
        vocab, dim = len(counts), cfg.dim
        self.ngram_ptr = self.ngram_rows = self.ngram_buckets = None
        if self.method == "fasttext":
            from .kernels_ft import mean_shifts, vocabulary_ngrams

            self.ngram_ptr, self.ngram_rows, self.ngram_buckets = vocabulary_ngrams(
                words, num_specials, cfg.minn, cfg.maxn, cfg.buckets)
            self.ngram_shift = mean_shifts(self.ngram_ptr, self.ngram_rows)
            rows = vocab + self.ngram_buckets.shape[0]
            self.w_in = init_input(rows, dim, 1.0 / dim, cfg.seed, num_specials)
        else:
            self.w_in = init_input(vocab, dim, 1.0 / dim, cfg.seed, num_specials)
        self.w_out = np.zeros((vocab, dim), dtype=np.float32)
        self._kernel = _kernel(self.method, cfg)

    def tables(self) -> dict[str, np.ndarray]:
        return {"input": self.w_in, "output": self.w_out}

    def close(self) -> None:
        """Nothing to release (the torch engine restores its thread setting here)."""

    def load_tables(self, tables: dict[str, np.ndarray]) -> None:
        for name, current in self.tables().items():
            saved = tables.get(name)
            if saved is None or saved.shape != current.shape:
                from ..errors import TokvecError

                raise TokvecError(f"checkpoint table {name!r} does not fit this run "
                                  f"(expected shape {current.shape})")
            current[...] = saved

    def run(self, ids: np.ndarray, ends: np.ndarray, pos0: int, seed: Any) -> tuple[float, int]:
        cfg = self.cfg
        stats = np.zeros(2, dtype=np.float64)
        common = (self.keep, self.noise_p, self.noise_a, cfg.window, cfg.negative,
                  cfg.lr, cfg.min_lr, pos0, self.total, seed, stats)
        if self.method == "fasttext":
            self._kernel(ids, ends, self.w_in, self.w_out, self.ngram_ptr, self.ngram_rows,
                         self.ngram_shift, *common)
        else:
            self._kernel(ids, ends, self.w_in, self.w_out, *common)
        return float(stats[0]), int(stats[1])

    def word_vectors(self) -> np.ndarray:
        """The vectors a model stores: input rows, or composed subword vectors for fasttext."""
        vocab = self.w_out.shape[0]
        if self.method != "fasttext":
            out = self.w_in.copy()
        else:
            from .kernels_ft import compose_vectors

            out = compose_vectors(self.w_in, self.ngram_ptr, self.ngram_rows, vocab)
        out[: self.num_specials] = 0.0
        return out

    def subword_tensors(self) -> dict[str, np.ndarray]:
        if self.method != "fasttext":
            return {}
        vocab = self.w_out.shape[0]
        return {"ngrams": self.w_in[vocab:].copy(), "ngram_buckets": self.ngram_buckets}


def _kernel(method: str, cfg: TrainConfig) -> Any:
    from . import kernels_w2v

    if method == "sgns":
        return kernels_w2v.sgns_shared_chunk if cfg.shared_negatives else kernels_w2v.sgns_chunk
    if method == "cbow":
        return kernels_w2v.cbow_chunk
    from . import kernels_ft

    return kernels_ft.fasttext_chunk
