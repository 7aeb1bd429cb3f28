"""The numba kernel of ``tokvec train-parallel``: SGNS over one chunk of aligned line pairs.

One kernel call trains the line pairs of one chunk (ids and per-line ends of each side, the
same number of lines on both sides) with the building blocks of
:mod:`tokvec.static.kernels_w2v`: the same xorshift64* RNG, alias-table noise draws, word2vec
subsampling, reduced windows and the exact negative-sampling update of ``train_example``.
Like the static kernels it runs without the GIL on a thread pool (Hogwild) and is compiled once
per machine (``cache=True``).

Rows. ``w_in`` holds the words of both languages (source block, then target block: global ids).
``w_out`` holds the same word rows followed by one row per line pair (the sentence ids). The
three parts of the objective, each switched on by its flag:

- ``sid`` (Levy et al. 2017): every kept word of either side of line ``n`` is an example
  ``w_in[word] -> w_out[sid0 + n]``, noise lines drawn from ``noise_s`` (line weights);
- ``window > 0``, monolingual skip-gram: as ``sgns_shared_chunk``, per side, noise words drawn
  from that side's table (``noise_a`` / ``noise_b``) and shared by a centre's contexts;
- ``cross > 0``, bilingual skip-gram (Luong et al. 2015): the word at position ``i`` of one side
  (of ``n1`` kept words) is a centre for the words of the other side (``n2`` kept) within
  ``cross`` of the proportionally aligned position ``(i + 1/2) n2 / n1``.

Every side shares the output rows, so both languages' input vectors land in one space. The
learning rate decays linearly with the words done (both sides counted), refreshed per line.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..static.kernels_w2v import (
    MAX_SENTENCE,
    draw_targets,
    rand64,
    reduced_window,
    subsample,
    train_example,
)

_S32 = np.uint64(32)


@njit(inline="always")
def _update(w_in, row, grad):
    for d in range(w_in.shape[1]):
        w_in[row, d] += grad[d]


@njit(inline="always")
def _skipgram(sent, n, w_in, w_out, noise_p, noise_a, window, negative, alpha, state,
              targets, fs, grad):
    """Monolingual skip-gram over sent[:n]; returns (loss, examples, state)."""
    loss = 0.0
    examples = 0
    for i in range(n):
        lo, hi, state = reduced_window(i, n, window, state)
        nt, state = draw_targets(sent[i], negative, noise_p, noise_a, targets, state)
        for j in range(lo, hi):
            if j == i:
                continue
            ctx = sent[j]
            grad[:] = 0.0
            loss += train_example(w_in[ctx], w_out, targets, nt, alpha, fs, grad)
            _update(w_in, ctx, grad)
            examples += 1
    return loss, examples, state


@njit(inline="always")
def _cross(centres, n1, others, n2, w_in, w_out, noise_p, noise_a, cross, negative, alpha,
           state, targets, fs, grad):
    """Each centres[i] is predicted by others[] around the aligned position; (loss, n, state)."""
    loss = 0.0
    examples = 0
    if n1 == 0 or n2 == 0:
        return loss, examples, state
    for i in range(n1):
        j = np.int64((2 * i + 1) * n2 // (2 * n1))
        state, r = rand64(state)
        b = np.int64((r >> _S32) % np.uint64(cross))
        lo = max(0, j - cross + b)
        hi = min(n2, j + cross - b + 1)
        nt, state = draw_targets(centres[i], negative, noise_p, noise_a, targets, state)
        for k in range(lo, hi):
            ctx = others[k]
            grad[:] = 0.0
            loss += train_example(w_in[ctx], w_out, targets, nt, alpha, fs, grad)
            _update(w_in, ctx, grad)
            examples += 1
    return loss, examples, state


@njit(nogil=True, fastmath=True, cache=True)
def parallel_chunk(ids_a, ends_a, ids_b, ends_b, line0, w_in, w_out, keep,
                   noise_pa, noise_aa, noise_pb, noise_ab, noise_ps, noise_as, sid0,
                   sid, window, cross, negative, lr0, lr1, pos0, total, state, stats):
    """Train one chunk of aligned lines; ``stats`` gets (loss sum, examples); returns the RNG."""
    dim = w_in.shape[1]
    sent_a = np.empty(MAX_SENTENCE, np.int64)
    sent_b = np.empty(MAX_SENTENCE, np.int64)
    grad = np.empty(dim, np.float32)
    targets = np.empty(negative + 1, np.int64)
    fs = np.empty(negative + 1, np.float32)
    loss = 0.0
    examples = 0
    start_a = 0
    start_b = 0
    for li in range(ends_a.shape[0]):
        alpha = np.float32(lr0 - (lr0 - lr1) * ((pos0 + start_a + start_b) / total))
        na, state = subsample(ids_a, start_a, ends_a[li], keep, sent_a, state)
        nb, state = subsample(ids_b, start_b, ends_b[li], keep, sent_b, state)
        start_a = ends_a[li]
        start_b = ends_b[li]
        if sid:
            row = sid0 + line0 + li
            for side in range(2):
                sent = sent_a if side == 0 else sent_b
                n = na if side == 0 else nb
                for i in range(n):
                    nt, state = draw_targets(row, negative, noise_ps, noise_as, targets, state)
                    w = sent[i]
                    grad[:] = 0.0
                    loss += train_example(w_in[w], w_out, targets, nt, alpha, fs, grad)
                    _update(w_in, w, grad)
                    examples += 1
        if window > 0:
            lo, ex, state = _skipgram(sent_a, na, w_in, w_out, noise_pa, noise_aa, window,
                                      negative, alpha, state, targets, fs, grad)
            loss += lo
            examples += ex
            lo, ex, state = _skipgram(sent_b, nb, w_in, w_out, noise_pb, noise_ab, window,
                                      negative, alpha, state, targets, fs, grad)
            loss += lo
            examples += ex
        if cross > 0:
            lo, ex, state = _cross(sent_a, na, sent_b, nb, w_in, w_out, noise_pa, noise_aa,
                                   cross, negative, alpha, state, targets, fs, grad)
            loss += lo
            examples += ex
            lo, ex, state = _cross(sent_b, nb, sent_a, na, w_in, w_out, noise_pb, noise_ab,
                                   cross, negative, alpha, state, targets, fs, grad)
            loss += lo
            examples += ex
    stats[0] = loss
    stats[1] = examples
    return state
