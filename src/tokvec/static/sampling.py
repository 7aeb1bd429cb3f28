"""Noise distribution and frequent-word subsampling, as tables the numba kernels read.

**Noise.** Negative words are drawn from the unigram distribution raised to 0.75 (word2vec;
fastText uses 0.5),
with Walker's alias method: one random 64-bit number picks a slot (high 32 bits) and flips a
biased coin (low 32 bits), O(1) per draw from two |V|-long arrays that stay in cache (word2vec's
10^8-entry table would cost 400 MB and cache misses).

**Subsampling.** A word seen ``f`` times among ``total`` corpus words is kept with probability
``(sqrt(f / (s * total)) + 1) * (s * total) / f`` (capped at 1), word2vec's and gensim's formula;
``s = 0`` keeps everything. Probabilities are stored as 32-bit thresholds: keep when a uniform
32-bit random number is below it.

>>> counts = np.array([0, 0, 8, 4, 2, 1])
>>> prob, alias = alias_table(noise_weights(counts))
>>> bool(np.isclose(alias_probabilities(prob, alias)[2:].sum(), 1.0))
True
>>> keep_thresholds(np.array([0, 1000, 1]), 0.1)[1:].tolist()
[1788793063, 4294967296]
"""

from __future__ import annotations

import numpy as np

ONE = 1 << 32


def noise_weights(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """Unnormalised noise weights ``count ** power`` (zero for zero counts, i.e. specials)."""
    return np.power(np.asarray(counts, dtype=np.float64), power)


def alias_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table: ``(threshold uint64 in [0, 2**32], alias int32)`` per slot."""
    w = np.asarray(weights, dtype=np.float64)
    n = w.shape[0]
    total = w.sum()
    if n == 0 or total <= 0:
        raise ValueError("noise weights must have a positive sum")
    scaled = w * (n / total)
    prob = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int32)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = scaled[g] + scaled[s] - 1.0
        (small if scaled[g] < 1.0 else large).append(g)
    # Leftovers are 1 up to rounding.
    threshold = np.minimum(np.floor(prob * ONE), ONE).astype(np.uint64)
    return threshold, alias


def alias_probabilities(threshold: np.ndarray, alias: np.ndarray) -> np.ndarray:
    """The exact distribution an alias table draws from (for tests and checks)."""
    n = threshold.shape[0]
    p_stay = threshold.astype(np.float64) / ONE
    out = p_stay / n
    np.add.at(out, alias, (1.0 - p_stay) / n)
    return out


def keep_thresholds(counts: np.ndarray, sample: float) -> np.ndarray:
    """Per-word keep thresholds (uint64, 2**32 = always keep) for subsampling rate ``sample``."""
    c = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.full(c.shape[0], ONE, dtype=np.uint64)
    total = c.sum()
    threshold_count = sample if sample >= 1.0 else sample * total
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (np.sqrt(c / threshold_count) + 1.0) * (threshold_count / c)
    p = np.where(c > 0, np.minimum(p, 1.0), 1.0)
    return np.minimum(np.floor(p * ONE), ONE).astype(np.uint64)
