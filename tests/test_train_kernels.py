"""The numba kernels do exactly what a plain-Python word2vec/fastText loop does.

The reference below is written from the algorithm's description (word2vec.c's order of
operations), drawing from the same xorshift64* stream, so the tables after a chunk must agree to
float32 rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tokvec.static.kernels_ft import fasttext_chunk, mean_shifts, vocabulary_ngrams
from tokvec.static.kernels_w2v import cbow_chunk, chunk_seed, sgns_chunk, sgns_shared_chunk
from tokvec.static.sampling import alias_table, keep_thresholds, noise_weights

MASK = (1 << 64) - 1


class Rng:
    def __init__(self, state: int) -> None:
        self.s = int(state)

    def next(self) -> int:
        s = self.s
        s ^= s >> 12
        s ^= (s << 25) & MASK
        s ^= s >> 27
        self.s = s
        return (s * 2685821657736338717) & MASK


def _noise(r: int, prob: np.ndarray, alias: np.ndarray) -> int:
    slot = ((r >> 32) * len(prob)) >> 32
    return slot if (r & 0xFFFFFFFF) < int(prob[slot]) else int(alias[slot])


def _example(v, w_out, targets, alpha):
    """Return (input gradient, loss); update output rows (dots first, then updates)."""
    fs = [float(np.dot(v, w_out[t])) for t in targets]
    grad = np.zeros_like(v)
    loss = 0.0
    for k, (t, f) in enumerate(zip(targets, fs, strict=True)):
        sig = 1.0 / (1.0 + math.exp(-f))
        label = 1.0 if k == 0 else 0.0
        loss += -math.log(sig) if k == 0 else -math.log(1.0 - sig)
        g = np.float32((label - sig) * alpha)
        grad += g * w_out[t]
        w_out[t] += g * v
    return grad, loss


def reference(kind, ids, ends, w_in, w_out, keep, prob, alias, window, negative, lr, total,
              seed, ng=None):
    rng = Rng(seed)
    start, loss, examples = 0, 0.0, 0

    def targets_for(word):
        out = [word]
        for _ in range(negative):
            t = _noise(rng.next(), prob, alias)
            if t != word:
                out.append(t)
        return out

    for end in ends:
        alpha = np.float32(lr[0] - (lr[0] - lr[1]) * (start / total))
        sent = [w for w in ids[start:end] if (rng.next() >> 32) < int(keep[w])]
        start = end
        n = len(sent)
        for i in range(n):
            b = (rng.next() >> 32) % window
            lo, hi = max(0, i - window + b), min(n, i + window - b + 1)
            ctx = [j for j in range(lo, hi) if j != i]
            if kind == "shared":
                shared = targets_for(sent[i])
            if kind in ("sgns", "shared"):
                for j in ctx:
                    tg = targets_for(sent[i]) if kind == "sgns" else shared
                    grad, l_ = _example(w_in[sent[j]].copy(), w_out, tg, alpha)
                    w_in[sent[j]] += grad
                    loss, examples = loss + l_, examples + 1
            elif kind == "cbow" and ctx:
                v = np.mean([w_in[sent[j]] for j in ctx], axis=0).astype(np.float32)
                grad, l_ = _example(v, w_out, targets_for(sent[i]), alpha)
                for j in ctx:
                    w_in[sent[j]] += grad
                loss, examples = loss + l_, examples + 1
            elif kind == "fasttext" and ctx:
                ptr, rows = ng
                # fastText itself: the mean of the centre's rows (repeats included) predicts
                # each context word, and every listed row takes the gradient after each pair.
                mine = [sent[i], *rows[ptr[sent[i]]:ptr[sent[i] + 1]]]
                for j in ctx:
                    v = np.mean([w_in[r] for r in mine], axis=0).astype(np.float32)
                    grad, l_ = _example(v, w_out, targets_for(sent[j]), alpha)
                    for r in mine:
                        w_in[r] += grad
                    loss, examples = loss + l_, examples + 1
    return loss, examples


@pytest.mark.parametrize("kind", ["sgns", "shared", "cbow", "fasttext"])
def test_kernel_matches_plain_python_reference(kind):
    rng = np.random.default_rng(4)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "ab", "abc", "bcd", "cd", "dab",
             "ca", "bb", "abab"]
    vocab, dim = len(words), 8
    counts = np.array([0] * 5 + [50, 30, 20, 10, 8, 5, 3, 6])  # "abab" repeats n-grams
    ids = rng.choice(np.arange(5, vocab), size=120, p=counts[5:] / counts.sum()).astype(np.uint32)
    ends = np.array([15, 40, 41, 80, 120], dtype=np.int64)
    keep = keep_thresholds(counts, 0.05)
    prob, alias = alias_table(noise_weights(counts))
    ng = None
    if kind == "fasttext":
        ptr, rows, buckets = vocabulary_ngrams(words, 5, 2, 3, 97)
        ng = (ptr, rows)
        vocab_in = vocab + len(buckets)
    else:
        vocab_in = vocab
    w_in = rng.uniform(-0.5, 0.5, (vocab_in, dim)).astype(np.float32)
    w_out = rng.uniform(-0.5, 0.5, (vocab, dim)).astype(np.float32)
    seed = chunk_seed(3, 0, 0)
    args = (keep, prob, alias, 3, 4, 0.05, 0.001, 0, 500, seed)
    stats = np.zeros(2)
    a_in, a_out = w_in.copy(), w_out.copy()
    if kind == "fasttext":
        fasttext_chunk(ids, ends, a_in, a_out, ng[0], ng[1], mean_shifts(ng[0], ng[1]), *args,
                       stats)
    else:
        kernel = {"sgns": sgns_chunk, "shared": sgns_shared_chunk, "cbow": cbow_chunk}[kind]
        kernel(ids, ends, a_in, a_out, *args, stats)
    b_in, b_out = w_in.copy(), w_out.copy()
    loss, examples = reference(kind, ids.tolist(), ends.tolist(), b_in, b_out, keep, prob,
                               alias, 3, 4, (0.05, 0.001), 500, int(seed), ng)
    assert stats[1] == examples > 20
    assert stats[0] == pytest.approx(loss, rel=1e-4)
    np.testing.assert_allclose(a_in, b_in, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a_out, b_out, rtol=1e-4, atol=1e-5)
