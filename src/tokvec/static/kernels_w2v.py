"""Skip-gram and CBOW with negative sampling: numba kernels over one chunk of the corpus.

Each kernel trains on the sentences of one chunk (ids plus sentence ends), updating the shared
input table ``w_in`` and output table ``w_out`` in place without locks (Hogwild, as word2vec and
gensim do). Kernels release the GIL (``nogil=True``) so a thread pool runs one per core; they are
compiled once per machine (``cache=True``).

Per sentence: frequent words are subsampled (kept when a random 32-bit number is below the word's
threshold), then each remaining position gets a reduced window ``window - b`` with ``b`` uniform
in ``[0, window)``. Skip-gram trains each (context -> centre) pair; CBOW trains the mean of the
window's input vectors -> centre. Each example scores its positive word and ``negative`` noise
words (a noise draw equal to the positive word is skipped, as in word2vec.c), with

    loss = -log sigmoid(v . u_pos) - sum_neg log sigmoid(-v . u_neg)

computed exactly (a numerically stable softplus) and summed over examples; ``stats`` receives
``(loss sum, examples)`` so the caller can report the true mean loss. The learning rate decays
linearly with the global word position: ``lr = lr0 - (lr0 - lr1) * (pos0 + words) / total``,
refreshed at every sentence. The inner loops over the vector dimension are plain loops that LLVM
vectorises (float32, ``fastmath``): no per-pair BLAS call, unlike gensim. For each example all
``1 + negative`` dot products are taken first and the updates applied after, which lets the CPU
overlap the memory loads of the rows; this equals word2vec's one-target-at-a-time order except
when the same noise word is drawn twice for one example.

Randomness is xorshift64*, seeded per chunk by the caller, so a run with one thread is a pure
function of the seed and the chunk order (what makes resume bit-identical).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_MULT = np.uint64(2685821657736338717)
_S12 = np.uint64(12)
_S25 = np.uint64(25)
_S27 = np.uint64(27)
_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
MAX_SENTENCE = 10_000


def chunk_seed(seed: int, epoch: int, chunk: int) -> np.uint64:
    """A well-mixed non-zero 64-bit RNG state for one (seed, epoch, chunk) (splitmix64).

    >>> int(chunk_seed(1, 0, 0)) != int(chunk_seed(1, 0, 1))
    True
    """
    mask = (1 << 64) - 1
    x = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + chunk * 0x94D049BB133111EB
         + 0x632BE59BD9B4E019) & mask
    for _ in range(2):
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & mask
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB & mask
        x ^= x >> 31
    return np.uint64(x or 0x2545F4914F6CDD1D)


@njit(inline="always")
def rand64(state):
    """Advance xorshift64* state; return (new state, random 64-bit output)."""
    state ^= state >> _S12
    state ^= state << _S25
    state ^= state >> _S27
    return state, state * _MULT


@njit(inline="always")
def draw_noise(r, noise_p, noise_a):
    """Alias-method draw from one 64-bit random number."""
    slot = ((r >> _S32) * np.uint64(noise_p.shape[0])) >> _S32
    if (r & _LOW32) < noise_p[slot]:
        return np.int64(slot)
    return np.int64(noise_a[slot])


@njit(inline="always")
def score(f, label):
    """Return (gradient factor label - sigmoid(f), loss -log sigmoid(+-f))."""
    a = math.exp(-abs(f))
    sp = math.log1p(a) + max(-f, np.float32(0.0))  # -log sigmoid(f)
    sig = np.float32(1.0) / (np.float32(1.0) + a) if f >= 0 else a / (np.float32(1.0) + a)
    if label > 0:
        return np.float32(1.0) - sig, sp
    return -sig, sp + f


@njit(inline="always")
def subsample(ids, start, end, keep, sent, state):
    """Copy kept words of ids[start:end] into sent; return (count, state)."""
    n = 0
    for k in range(start, end):
        w = ids[k]
        state, r = rand64(state)
        if (r >> _S32) < keep[w]:
            sent[n] = w
            n += 1
    return n, state


@njit(inline="always")
def draw_targets(word, negative, noise_p, noise_a, targets, state):
    """targets[0] = word, then noise words (draws equal to word skipped); return (count, state)."""
    targets[0] = word
    nt = 1
    for _ in range(negative):
        state, r = rand64(state)
        t = draw_noise(r, noise_p, noise_a)
        if t != word:
            targets[nt] = t
            nt += 1
    return nt, state


@njit(inline="always")
def train_example(v, w_out, targets, nt, alpha, fs, grad):
    """One example: input vector v against targets[:nt] (first positive, rest noise).

    Output rows are updated in place; ``grad`` accumulates the gradient for the input side.
    Returns the example's loss -log s(v.u0) - sum log s(-v.uk).
    """
    dim = v.shape[0]
    for k in range(nt):
        t = targets[k]
        f = np.float32(0.0)
        for d in range(dim):
            f += v[d] * w_out[t, d]
        fs[k] = f
    loss = 0.0
    for k in range(nt):
        g, sp = score(fs[k], 1 if k == 0 else 0)
        loss += sp
        fs[k] = g * alpha
    for k in range(nt):
        t = targets[k]
        g = fs[k]
        for d in range(dim):
            grad[d] += g * w_out[t, d]
            w_out[t, d] += g * v[d]
    return loss


@njit(inline="always")
def reduced_window(i, n, window, state):
    """Bounds [lo, hi) of position i's window, shrunk by a random b in [0, window)."""
    state, r = rand64(state)
    b = np.int64((r >> _S32) % np.uint64(window))
    return max(0, i - window + b), min(n, i + window - b + 1), state


@njit(nogil=True, fastmath=True, cache=True)
def sgns_chunk(ids, ends, w_in, w_out, keep, noise_p, noise_a, window, negative,
               lr0, lr1, pos0, total, state, stats):
    """Skip-gram with negative sampling over one chunk; returns the final RNG state."""
    dim = w_in.shape[1]
    sent = np.empty(MAX_SENTENCE, np.int64)
    neu1e = np.empty(dim, np.float32)
    targets = np.empty(negative + 1, np.int64)
    fs = np.empty(negative + 1, np.float32)
    loss = 0.0
    pairs = 0
    start = 0
    for si in range(ends.shape[0]):
        end = ends[si]
        alpha = np.float32(lr0 - (lr0 - lr1) * ((pos0 + start) / total))
        n, state = subsample(ids, start, end, keep, sent, state)
        start = end
        for i in range(n):
            lo, hi, state = reduced_window(i, n, window, state)
            for j in range(lo, hi):
                if j == i:
                    continue
                nt, state = draw_targets(sent[i], negative, noise_p, noise_a, targets, state)
                ctx = sent[j]
                neu1e[:] = 0.0
                loss += train_example(w_in[ctx], w_out, targets, nt, alpha, fs, neu1e)
                for d in range(dim):
                    w_in[ctx, d] += neu1e[d]
                pairs += 1
    stats[0] = loss
    stats[1] = pairs
    return state


@njit(nogil=True, fastmath=True, cache=True)
def sgns_shared_chunk(ids, ends, w_in, w_out, keep, noise_p, noise_a, window, negative,
                      lr0, lr1, pos0, total, state, stats):
    """Skip-gram whose noise words are drawn once per centre word and shared by its contexts."""
    dim = w_in.shape[1]
    sent = np.empty(MAX_SENTENCE, np.int64)
    neu1e = np.empty(dim, np.float32)
    targets = np.empty(negative + 1, np.int64)
    fs = np.empty(negative + 1, np.float32)
    loss = 0.0
    pairs = 0
    start = 0
    for si in range(ends.shape[0]):
        end = ends[si]
        alpha = np.float32(lr0 - (lr0 - lr1) * ((pos0 + start) / total))
        n, state = subsample(ids, start, end, keep, sent, state)
        start = end
        for i in range(n):
            lo, hi, state = reduced_window(i, n, window, state)
            nt, state = draw_targets(sent[i], negative, noise_p, noise_a, targets, state)
            for j in range(lo, hi):
                if j == i:
                    continue
                ctx = sent[j]
                neu1e[:] = 0.0
                loss += train_example(w_in[ctx], w_out, targets, nt, alpha, fs, neu1e)
                for d in range(dim):
                    w_in[ctx, d] += neu1e[d]
                pairs += 1
    stats[0] = loss
    stats[1] = pairs
    return state


@njit(nogil=True, fastmath=True, cache=True)
def cbow_chunk(ids, ends, w_in, w_out, keep, noise_p, noise_a, window, negative,
               lr0, lr1, pos0, total, state, stats):
    """CBOW (mean of context vectors) with negative sampling over one chunk."""
    dim = w_in.shape[1]
    sent = np.empty(MAX_SENTENCE, np.int64)
    neu1 = np.empty(dim, np.float32)
    neu1e = np.empty(dim, np.float32)
    targets = np.empty(negative + 1, np.int64)
    fs = np.empty(negative + 1, np.float32)
    loss = 0.0
    examples = 0
    start = 0
    for si in range(ends.shape[0]):
        end = ends[si]
        alpha = np.float32(lr0 - (lr0 - lr1) * ((pos0 + start) / total))
        n, state = subsample(ids, start, end, keep, sent, state)
        start = end
        for i in range(n):
            lo, hi, state = reduced_window(i, n, window, state)
            if hi - lo < 2:
                continue
            neu1[:] = 0.0
            neu1e[:] = 0.0
            for j in range(lo, hi):
                if j != i:
                    c = sent[j]
                    for d in range(dim):
                        neu1[d] += w_in[c, d]
            inv = np.float32(1.0) / np.float32(hi - lo - 1)
            for d in range(dim):
                neu1[d] *= inv
            nt, state = draw_targets(sent[i], negative, noise_p, noise_a, targets, state)
            loss += train_example(neu1, w_out, targets, nt, alpha, fs, neu1e)
            for j in range(lo, hi):
                if j != i:
                    c = sent[j]
                    for d in range(dim):
                        w_in[c, d] += neu1e[d]
            examples += 1
    stats[0] = loss
    stats[1] = examples
    return state
