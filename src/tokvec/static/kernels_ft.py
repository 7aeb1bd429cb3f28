"""fastText-style skip-gram with subwords: n-gram hashing and the training kernel (numba).

:func:`vocabulary_ngrams` hashes the n-grams of every vocabulary word exactly as fastText does
(it walks UTF-8 bytes and starts n-grams only at character starts, FNV-1a with sign-extended
bytes; :mod:`tokvec.static.subwords` has the plain-Python twin used for queries) and maps the
buckets that occur to compact rows placed after the word rows of one input table, so training
memory grows with the n-grams the vocabulary uses, not with ``buckets``.

:func:`fasttext_chunk` trains skip-gram where the input vector of a centre word is the mean of its
word row and its n-gram rows; the centre predicts each context word (positive) against
``negative`` noise words. fastText adds each pair's input gradient, unscaled, to every one of
the centre's rows and recomputes their mean for the next pair. Adding ``g`` to each of ``k`` rows
moves their mean by exactly ``g``, so the kernel keeps the mean and moves it by ``g`` after every
pair (the same sequence of hidden vectors as fastText's, without re-reading the rows) and writes
the summed gradient to the rows once the centre is done. A word whose n-grams repeat ("ana" in
"banana") lists a row twice, fastText adds the gradient twice, and the mean moves by ``g``
times :func:`mean_shifts`'s factor for that word. Output rows update after every target, as in
fastText.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels_w2v import MAX_SENTENCE, draw_targets, reduced_window, subsample, train_example


@njit(cache=True)
def _hash_ngrams(data, offsets, minn, maxn, buckets, out, fill):
    total = 0
    for w in range(offsets.shape[0] - 1):
        a = offsets[w]
        z = offsets[w + 1]
        for i in range(a, z):
            if (data[i] & 0xC0) == 0x80:
                continue
            h = np.uint32(2166136261)
            j = i
            n = 1
            while j < z and n <= maxn:
                while True:
                    b = np.uint32(data[j])
                    if b >= 0x80:
                        b |= np.uint32(0xFFFFFF00)
                    h = np.uint32((h ^ b) * np.uint32(16777619))
                    j += 1
                    if j >= z or (data[j] & 0xC0) != 0x80:
                        break
                if n >= minn and not (n == 1 and (i == a or j == z)):
                    if fill:
                        out[total] = np.int64(h % np.uint32(buckets))
                    total += 1
                n += 1
        if not fill:
            out[w] = total
    return total


def vocabulary_ngrams(words: list[str], first: int, minn: int, maxn: int,
                      buckets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR n-gram rows for ``words`` (ids < ``first`` get none).

    Returns ``(ptr, rows, row_buckets)``: the n-grams of word ``w`` are input-table rows
    ``rows[ptr[w]:ptr[w+1]]`` (each ``len(words) + index into row_buckets``), and
    ``row_buckets`` lists the distinct buckets in ascending order.

    >>> ptr, rows, b = vocabulary_ngrams(["[PAD]", "ab", "b"], 1, 3, 3, 100)
    >>> ptr.tolist(), len(b), (rows >= 3).all()
    ([0, 0, 2, 3], 3, np.True_)
    """
    encoded = [b"" if i < first else f"<{w}>".encode() for i, w in enumerate(words)]
    offsets = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    if data.size == 0:
        data = np.zeros(1, dtype=np.uint8)
    per_word_end = np.zeros(len(words), dtype=np.int64)
    _hash_ngrams(data, offsets, minn, maxn, buckets, per_word_end, False)
    ptr = np.zeros(len(words) + 1, dtype=np.int64)
    ptr[1:] = per_word_end
    flat = np.zeros(max(int(ptr[-1]), 1), dtype=np.int64)
    _hash_ngrams(data, offsets, minn, maxn, buckets, flat, True)
    flat = flat[: int(ptr[-1])]
    row_buckets = np.unique(flat)
    rows = len(words) + np.searchsorted(row_buckets, flat)
    return ptr, rows.astype(np.int64), row_buckets


def mean_shifts(ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per word: how far the mean of its rows moves when ``g`` is added once per listed row.

    With rows listed ``m_r`` times among the word's ``k`` entries (its own row included), the
    mean moves by ``g * sum(m_r ** 2) / k``: 1 for a word without repeated n-grams.

    >>> ptr = np.array([0, 2, 5]); rows = np.array([7, 8, 9, 10, 9])
    >>> mean_shifts(ptr, rows).tolist()   # word 1 lists row 9 twice: (1 + 4 + 1) / 4
    [1.0, 1.5]
    """
    words = len(ptr) - 1
    per_word = np.diff(ptr)
    owner = np.repeat(np.arange(words, dtype=np.int64), per_word)
    width = int(rows.max()) + 1 if rows.size else 1
    pairs, mult = np.unique(owner * width + rows, return_counts=True)
    squares = np.bincount(pairs // width, weights=mult.astype(np.float64) ** 2, minlength=words)
    return ((1.0 + squares) / (1.0 + per_word)).astype(np.float32)


@njit(nogil=True, fastmath=True, cache=True)
def fasttext_chunk(ids, ends, w_in, w_out, ng_ptr, ng_rows, ng_shift, keep, noise_p, noise_a,
                   window, negative, lr0, lr1, pos0, total, state, stats):
    """Subword skip-gram over one chunk; returns the final RNG state."""
    dim = w_in.shape[1]
    sent = np.empty(MAX_SENTENCE, np.int64)
    hidden = np.empty(dim, np.float32)
    grad = np.empty(dim, np.float32)
    total_grad = np.empty(dim, np.float32)
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
            if hi - lo < 2:
                continue
            word = sent[i]
            p0 = ng_ptr[word]
            p1 = ng_ptr[word + 1]
            for d in range(dim):
                hidden[d] = w_in[word, d]
            for p in range(p0, p1):
                row = ng_rows[p]
                for d in range(dim):
                    hidden[d] += w_in[row, d]
            inv = np.float32(1.0) / np.float32(1 + p1 - p0)
            for d in range(dim):
                hidden[d] *= inv
            total_grad[:] = 0.0
            for j in range(lo, hi):
                if j == i:
                    continue
                nt, state = draw_targets(sent[j], negative, noise_p, noise_a, targets, state)
                grad[:] = 0.0
                loss += train_example(hidden, w_out, targets, nt, alpha, fs, grad)
                pairs += 1
                shift = ng_shift[word]
                for d in range(dim):
                    hidden[d] += shift * grad[d]
                    total_grad[d] += grad[d]
            for d in range(dim):
                w_in[word, d] += total_grad[d]
            for p in range(p0, p1):
                row = ng_rows[p]
                for d in range(dim):
                    w_in[row, d] += total_grad[d]
    stats[0] = loss
    stats[1] = pairs
    return state


@njit(nogil=True, fastmath=True, cache=True)
def compose_vectors(w_in, ng_ptr, ng_rows, vocab):
    """fastText word vectors: mean of each word's own row and its n-gram rows."""
    dim = w_in.shape[1]
    out = np.empty((vocab, dim), np.float32)
    for w in range(vocab):
        p0 = ng_ptr[w]
        p1 = ng_ptr[w + 1]
        for d in range(dim):
            out[w, d] = w_in[w, d]
        for p in range(p0, p1):
            row = ng_rows[p]
            for d in range(dim):
                out[w, d] += w_in[row, d]
        inv = np.float32(1.0) / np.float32(1 + p1 - p0)
        for d in range(dim):
            out[w, d] *= inv
    return out
