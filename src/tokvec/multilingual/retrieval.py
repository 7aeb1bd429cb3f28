"""Nearest-neighbour and CSLS retrieval between two sets of unit vectors, in bounded memory.

Cross-domain similarity local scaling (CSLS, Conneau et al. 2018, "Word translation without
parallel data") corrects cosine for *hubs*, target words that are near everything:

    CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y)

where ``r_T(x)`` is the mean cosine of ``x`` to its ``k`` nearest target rows and ``r_S(y)`` the
mean cosine of ``y`` to its ``k`` nearest source rows (``k = 10`` in the paper). For one query
``r_T(x)`` is a constant, so ranking targets needs only ``2 cos(x, y) - r_S(y)``. That is a plain
dot product with one extra column, ``[x, 1] . [2y, -r_S(y)]``, so :func:`csls_top_k` reuses the
blocked exact top-k of :func:`tokvec.vectors.top_k`.

A hub ``h`` (close to both queries) wins plain nearest-neighbour retrieval for each, but CSLS
discounts it and gives each query its own neighbour:

>>> import numpy as np
>>> tgt = np.array([[1, 1], [1, 0.05], [0.05, 1]], np.float32)     # row 0 is the hub
>>> queries = np.array([[0.9, 0.44], [0.44, 0.9]], np.float32)
>>> tgt /= np.linalg.norm(tgt, axis=1, keepdims=True)
>>> queries /= np.linalg.norm(queries, axis=1, keepdims=True)
>>> top_k(tgt, queries, 1)[0].ravel().tolist()            # nearest neighbour: the hub twice
[0, 0]
>>> r = mean_top_k(tgt, queries, k=2)                     # each target row's density
>>> csls_top_k(tgt, queries, r, 1)[0].ravel().tolist()    # CSLS: each query its own row
[1, 2]
"""

from __future__ import annotations

import numpy as np

from ..vectors import top_k

QUERY_BLOCK = 1024
CSLS_K = 10


def mean_top_k(queries: np.ndarray, rows: np.ndarray, k: int = CSLS_K,
               exclude_self: bool = False) -> np.ndarray:
    """Mean cosine of each (unit) query to its ``k`` nearest (unit) ``rows``.

    Queries go in blocks of :data:`QUERY_BLOCK`, so memory stays at a block times the rows.
    ``exclude_self`` drops each query's best match (itself, when ``queries`` are ``rows``).
    """
    n = queries.shape[0]
    out = np.zeros(n, dtype=np.float32)
    extra = 1 if exclude_self else 0
    kk = min(k + extra, rows.shape[0])
    for start in range(0, n, QUERY_BLOCK):
        _, scores = top_k(rows, queries[start: start + QUERY_BLOCK], kk)
        scores = scores[:, extra:] if kk > extra else scores
        out[start: start + QUERY_BLOCK] = scores.mean(axis=1) if scores.shape[1] else 0.0
    return out


def csls_rows(rows: np.ndarray, r_rows: np.ndarray) -> np.ndarray:
    """Rows augmented for CSLS ranking: ``[2 y, -r(y)]`` (see the module docstring)."""
    return np.concatenate([2 * rows, -r_rows[:, None]], axis=1).astype(np.float32)


def csls_top_k(rows: np.ndarray, queries: np.ndarray, r_rows: np.ndarray, k: int,
               augmented: np.ndarray | None = None,
               r_queries: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` rows per query by CSLS; ``r_rows[j]`` is row ``j``'s mean top-k cosine to the
    query side.

    Scores are ``2 cos - r(y)``, minus ``r_queries`` (each query's own density) when given.
    ``augmented`` passes a cached :func:`csls_rows` of ``rows``.
    """
    aug = csls_rows(rows, r_rows) if augmented is None else augmented
    ids_all, scores_all = [], []
    for start in range(0, queries.shape[0], QUERY_BLOCK):
        q = queries[start: start + QUERY_BLOCK]
        q_aug = np.concatenate([q, np.ones((q.shape[0], 1), q.dtype)], axis=1)
        ids, scores = top_k(aug, q_aug.astype(np.float32), k)
        ids_all.append(ids)
        scores_all.append(scores)
    ids = np.concatenate(ids_all) if ids_all else np.empty((0, k), np.int64)
    scores = np.concatenate(scores_all) if scores_all else np.empty((0, k), np.float32)
    if r_queries is not None:
        scores = scores - r_queries[:, None]
    return ids, scores


def retrieve(rows: np.ndarray, queries: np.ndarray, k: int, retrieval: str = "nn",
             r_rows: np.ndarray | None = None, csls_k: int = CSLS_K) -> np.ndarray:
    """Ids of the top-``k`` rows per query, by ``"nn"`` (cosine) or ``"csls"``.

    ``r_rows`` (CSLS only) is computed from ``queries`` when not given; pass it when the query
    side is larger than the queries at hand (a whole source vocabulary).
    """
    check_retrieval(retrieval)
    if retrieval == "nn":
        ids_all = [top_k(rows, queries[s: s + QUERY_BLOCK], k)[0]
                   for s in range(0, queries.shape[0], QUERY_BLOCK)]
        return np.concatenate(ids_all) if ids_all else np.empty((0, k), np.int64)
    if r_rows is None:
        r_rows = mean_top_k(rows, queries, csls_k)
    return csls_top_k(rows, queries, r_rows, k)[0]


def check_retrieval(retrieval: str) -> None:
    """Refuse a retrieval method other than ``nn`` and ``csls``."""
    if retrieval not in ("nn", "csls"):
        from ..errors import TokvecError

        raise TokvecError(f"unknown retrieval {retrieval!r}; choose nn or csls")
