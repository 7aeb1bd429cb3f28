"""GloVe co-occurrence counting with bounded memory: count, spill sorted runs, merge, bucket.

For every pair of tokens ``d`` positions apart (``1 <= d <= window``, inside one sentence) the
pair gains ``1/d``, in both directions (``X[a, b]`` and ``X[b, a]``; a word next to itself adds
``2/d`` to ``X[a, a]``), exactly as the reference GloVe ``cooccur`` with a symmetric window.

How memory stays bounded by ``memory_limit_mb`` (call it ``M`` bytes):

1. Counting keeps a dense table for the frequent pairs, those with ``(a+1)*(b+1) <= P`` (ids sorted
   by descending count make this the bulk of all events), sized to at most ``dense_fraction * M``,
   and a fixed buffer for every other pair event, 8 bytes per event plus 16 per distinct pair at
   spill time, sized to the rest of ``M``; sentences are read in batches of at most
   ``min(2**20, buffer / 8)`` tokens. Values are integers in units of ``1/scale``
   (``scale = lcm(1..window)`` for windows up to 22, so sums are exact and independent of the
   order of spills).
2. When the buffer is full it is sorted in place, equal pairs are summed, and the result is
   written to ``work_dir`` as a sorted run (``.npy`` of ``(key, val)`` records, no pickle).
3. The runs (and the dense table, written as one more run) are merged in rounds of at most
   ``M / 120`` records over all runs read at once (about 120 bytes each while sorted, summed,
   expanded and shuffled), merging in levels first when there are too many runs for that (see
   :mod:`tokvec.static.cooccur_runs`). Each round is expanded into directed ``(row, col,
   value)`` records, shuffled, and dealt evenly to ``n_buckets`` bucket files sized so that one
   bucket (12 bytes a record, shuffled in place) fits in ``M``. Training loads one at a time.

So the peak is about ``M`` plus ``8 * vocab_size`` bytes (row sums), with a floor of a few
hundred KB for limits under 1 MB; ``tests/test_glove.py`` measures it with ``tracemalloc``.

>>> import tempfile
>>> import numpy as np
>>> sentences = lambda: iter([np.array([5, 6, 7], dtype=np.int32)])
>>> data = count_cooccurrences(sentences, vocab_size=8, window=2, work_dir=tempfile.mkdtemp())
>>> recs = np.sort(data.read_all(), order=["row", "col"])
>>> [(int(r), int(c), float(v)) for r, c, v in recs]
[(5, 6, 1.0), (5, 7, 0.5), (6, 5, 1.0), (6, 7, 1.0), (7, 5, 0.5), (7, 6, 1.0)]
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from ..atomic import write_json
from ..errors import TokvecError
from .cooccur_runs import (
    RUN_DTYPE,
    NpyAppender,
    NpyFile,
    merge_block,
    merge_levels,
    merged_rounds,
)

COO_DTYPE = np.dtype([("row", "<i4"), ("col", "<i4"), ("val", "<f4")])
MANIFEST = "manifest.json"
FORMAT = "tokvec-glove-cooccur/1"
TRAIN_BYTES_PER_RECORD = COO_DTYPE.itemsize
_EXACT_SCALE_LIMIT = 2**32


class CountingStopped(Exception):
    """``should_stop()`` said stop while counting; nothing was kept."""


def weight_scale(window: int) -> tuple[int, np.ndarray]:
    """The fixed-point scale and the integer weight of each distance ``1..window``.

    >>> weight_scale(4)
    (12, array([12,  6,  4,  3]))
    """
    scale = math.lcm(*range(1, window + 1))
    if scale > _EXACT_SCALE_LIMIT:
        scale = _EXACT_SCALE_LIMIT
    units = np.array([round(scale / d) for d in range(1, window + 1)], dtype=np.int64)
    return scale, units


@dataclass(frozen=True)
class CooccurrenceData:
    """The counted co-occurrences of one corpus, as shuffled bucket files in ``directory``."""

    directory: Path
    vocab_size: int
    window: int
    seed: int
    scale: int
    n_tokens: int
    n_pairs: int
    n_runs: int
    bucket_files: tuple[str, ...]
    bucket_sizes: tuple[int, ...]

    @property
    def n_buckets(self) -> int:
        return len(self.bucket_files)

    def read_bucket(self, index: int) -> np.ndarray:
        """Load bucket ``index`` whole: a ``COO_DTYPE`` array of directed records."""
        return np.load(self.directory / self.bucket_files[index], allow_pickle=False)

    def read_all(self) -> np.ndarray:
        """All records (every bucket concatenated): for small data and tests."""
        return np.concatenate([self.read_bucket(i) for i in range(self.n_buckets)])

    def row_weights(self) -> np.ndarray:
        """Sum of ``X[i, :]`` for each id (zero for ids that never co-occur)."""
        return np.load(self.directory / "row_weights.npy", allow_pickle=False)

    def save_manifest(self) -> None:
        write_json(self.directory / MANIFEST, {
            "format": FORMAT, "vocab_size": self.vocab_size, "window": self.window,
            "seed": self.seed, "scale": self.scale, "n_tokens": self.n_tokens,
            "n_pairs": self.n_pairs, "n_runs": self.n_runs,
            "buckets": [{"file": f, "records": n}
                        for f, n in zip(self.bucket_files, self.bucket_sizes, strict=True)],
        })

    @classmethod
    def load(cls, directory: str | Path) -> CooccurrenceData:
        """Open counted data written by :func:`count_cooccurrences` (complete runs only)."""
        d = Path(directory)
        path = d / MANIFEST
        if not path.is_file():
            raise TokvecError("no complete co-occurrence data here (manifest.json missing)", d)
        try:
            m = json.loads(path.read_text(encoding="utf-8"))
            if m.get("format") != FORMAT:
                raise TokvecError(f"unknown co-occurrence format {m.get('format')!r}", path)
            buckets = m["buckets"]
            if any(Path(str(b["file"])).name != b["file"] for b in buckets):
                raise TokvecError("bucket file names must stay inside the directory", path)
            return cls(d, int(m["vocab_size"]), int(m["window"]), int(m["seed"]),
                       int(m["scale"]), int(m["n_tokens"]), int(m["n_pairs"]), int(m["n_runs"]),
                       tuple(str(b["file"]) for b in buckets),
                       tuple(int(b["records"]) for b in buckets))
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
            raise TokvecError(f"malformed co-occurrence manifest ({exc})", path) from None


# ---------------------------------------------------------------- numba kernels


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _count_events(tokens, bounds, pos, sent, window, vocab_size, units,
                  product_limit, dense, dense_offsets, buf, fill):
    """Add the pairs ending at tokens ``pos..``; stop when ``buf`` might overflow.

    Returns ``(pos, sent, fill)`` to resume from. ``bounds`` holds sentence start offsets.
    """
    n = tokens.size
    n_rows = dense_offsets.size - 1
    cap = buf.size
    while pos < n:
        if cap - fill < window:
            return pos, sent, fill
        while bounds[sent + 1] <= pos:
            sent += 1
        start = bounds[sent]
        b = tokens[pos]
        lowest = max(start, pos - window)
        for q in range(pos - 1, lowest - 1, -1):
            a = tokens[q]
            d = pos - q
            lo = min(a, b)
            hi = max(a, b)
            if lo < n_rows and (lo + 1) * (hi + 1) <= product_limit:
                dense[dense_offsets[lo] + hi - lo] += units[d - 1]
            else:
                buf[fill] = (lo * vocab_size + hi) * window + (d - 1)
                fill += 1
        pos += 1
    return pos, sent, fill


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _reduce_codes(codes, window, units, out):
    """Sum sorted event codes into ``out`` (RUN_DTYPE) by pair; return the number of pairs."""
    m = -1
    last = -1
    for k in range(codes.size):
        code = codes[k]
        key = code // window
        if key != last:
            m += 1
            out[m]["key"] = key
            out[m]["val"] = 0
            last = key
        out[m]["val"] += units[code % window]
    return m + 1


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _dense_nonzeros(dense, dense_offsets, vocab_size, entry, row, out):
    """Copy nonzero dense entries from flat index ``entry`` into ``out``; return resume state."""
    m = 0
    n_rows = dense_offsets.size - 1
    while row < n_rows:
        end = dense_offsets[row + 1]
        while entry < end:
            if m == out.size:
                return entry, row, m
            v = dense[entry]
            if v != 0:
                out[m]["key"] = row * vocab_size + row + (entry - dense_offsets[row])
                out[m]["val"] = v
                m += 1
            entry += 1
        row += 1
    return entry, row, m


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _expand_directed(rec, vocab_size, scale, out, row_weights):
    """Turn canonical ``a <= b`` pairs into directed records; return how many were written."""
    m = 0
    for k in range(rec.size):
        a = rec[k]["key"] // vocab_size
        b = rec[k]["key"] % vocab_size
        x = rec[k]["val"] / scale
        if a == b:
            out[m]["row"] = a
            out[m]["col"] = a
            out[m]["val"] = np.float32(2.0 * x)
            row_weights[a] += 2.0 * x
            m += 1
        else:
            out[m]["row"] = a
            out[m]["col"] = b
            out[m]["val"] = np.float32(x)
            out[m + 1]["row"] = b
            out[m + 1]["col"] = a
            out[m + 1]["val"] = np.float32(x)
            row_weights[a] += x
            row_weights[b] += x
            m += 2
    return m


# ---------------------------------------------------------------- counting


def _dense_layout(vocab_size: int, max_entries: int) -> tuple[int, np.ndarray]:
    """Largest product limit ``P`` whose upper-triangle region fits ``max_entries``.

    Row ``a`` covers columns ``a .. min(V, P // (a+1)) - 1``. Returns ``(P, offsets)``.
    """

    def layout(p: int) -> np.ndarray:
        rows = min(vocab_size, math.isqrt(p))
        a = np.arange(rows, dtype=np.int64)
        widths = np.minimum(vocab_size, p // (a + 1)) - a
        return np.concatenate([[0], np.cumsum(np.maximum(widths, 0))]).astype(np.int64)

    lo, hi = 0, vocab_size * vocab_size
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if layout(mid)[-1] <= max_entries:
            lo = mid
        else:
            hi = mid - 1
    return lo, layout(lo)


def _token_batches(sentences: Iterable[np.ndarray], vocab_size: int,
                   batch_tokens: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Group sentences into ``(tokens int32, sentence start offsets)`` batches, checking ids."""
    parts: list[np.ndarray] = []
    numbers: list[int] = []
    size = 0

    def flush() -> tuple[np.ndarray, np.ndarray]:
        lengths = np.array([p.size for p in parts], dtype=np.int64)
        bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        tokens = np.concatenate(parts) if parts else np.empty(0, np.int64)
        if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab_size):
            for number, p in zip(numbers, parts, strict=True):
                if p.min() < 0 or p.max() >= vocab_size:
                    bad = int(p[(p < 0) | (p >= vocab_size)][0])
                    raise TokvecError(f"sentence {number}: token id {bad} outside "
                                      f"[0, {vocab_size})")
        return tokens.astype(np.int32, copy=False), bounds

    for number, sentence in enumerate(sentences, start=1):
        arr = np.asarray(sentence)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise TokvecError(f"sentence {number}: expected a 1-D integer array of token ids, "
                              f"got {arr.dtype} with shape {arr.shape}")
        if arr.size == 0:
            continue
        parts.append(arr)
        numbers.append(number)
        size += arr.size
        if size >= batch_tokens:
            yield flush()
            parts, numbers, size = [], [], 0
    if parts:
        yield flush()


@dataclass
class _Spiller:
    """Writes sorted runs of the event buffer into ``directory``."""

    directory: Path
    window: int
    units: np.ndarray
    runs: list[Path]

    def spill(self, buf: np.ndarray, fill: int) -> None:
        if fill == 0:
            return
        codes = buf[:fill]
        codes.sort()
        out = np.empty(fill, RUN_DTYPE)
        m = _reduce_codes(codes, self.window, self.units, out)
        path = self.directory / f"run_{len(self.runs):05d}.npy"
        np.save(path, out[:m], allow_pickle=False)
        self.runs.append(path)


def _write_dense_run(dense: np.ndarray, offsets: np.ndarray, vocab_size: int, path: Path,
                     block: int) -> bool:
    out = np.empty(max(block, 1), RUN_DTYPE)
    writer = NpyAppender(path, RUN_DTYPE)
    entry, row = 0, 0
    while True:
        entry, row, m = _dense_nonzeros(dense, offsets, vocab_size, entry, row, out)
        writer.append(out[:m])
        if m < out.size:
            break
    return writer.finish() > 0


def _count_runs(sentences: Callable[[], Iterable[np.ndarray]], vocab_size: int, window: int,
                directory: Path, budget: int, dense_fraction: float,
                should_stop: Callable[[], bool] | None) -> tuple[list[Path], int, int]:
    """Count into the dense table and spilled runs; return (run files, tokens, spilled runs)."""
    units = weight_scale(window)[1]
    product_limit, dense_offsets = _dense_layout(vocab_size, int(budget * dense_fraction) // 8)
    dense = np.zeros(int(dense_offsets[-1]), dtype=np.int64)
    cap = max(4 * window, (budget - dense.nbytes) // 24)
    buf = np.empty(cap, dtype=np.int64)
    spiller = _Spiller(directory, window, units, [])
    n_tokens = 0
    fill = 0
    for tokens, bounds in _token_batches(sentences(), vocab_size, min(2**20, cap // 8 + 1)):
        if should_stop is not None and should_stop():
            raise CountingStopped(f"stopped after {n_tokens} tokens")
        n_tokens += tokens.size
        pos, sent = 0, 0
        while pos < tokens.size:
            pos, sent, fill = _count_events(tokens, bounds, pos, sent, window, vocab_size,
                                            units, product_limit, dense, dense_offsets, buf, fill)
            if pos < tokens.size:
                spiller.spill(buf, fill)
                fill = 0
    spiller.spill(buf, fill)
    del buf
    runs = list(spiller.runs)
    dense_path = directory / "run_dense.npy"
    if _write_dense_run(dense, dense_offsets, vocab_size, dense_path, budget // 4 // 16):
        runs.append(dense_path)
    else:
        dense_path.unlink()
    if not runs:
        raise TokvecError("the corpus has no pair of tokens within the window "
                          "(empty, or every sentence shorter than 2 tokens)")
    return runs, n_tokens, len(spiller.runs)


def _write_buckets(runs: list[Path], vocab_size: int, window: int, directory: Path,
                   budget: int, seed: int) -> tuple[int, ...]:
    """Merge the runs into directed records dealt to shuffled buckets; return bucket sizes."""
    scale = weight_scale(window)[0]
    runs = merge_levels(runs, directory, budget)
    upper_records = 2 * sum(NpyFile(p).length for p in runs)
    n_buckets = max(1, math.ceil(upper_records * TRAIN_BYTES_PER_RECORD / budget))
    buckets = [NpyAppender(directory / f"bucket_{b:05d}.npy", COO_DTYPE)
               for b in range(n_buckets)]
    row_weights = np.zeros(vocab_size, dtype=np.float64)
    rng = np.random.default_rng([seed, 1])
    block = merge_block(budget, len(runs))
    first = 0
    for batch in merged_rounds(runs, block):
        records = np.empty(2 * batch.size, COO_DTYPE)
        records = records[:_expand_directed(batch, vocab_size, scale, records, row_weights)]
        del batch
        rng.shuffle(records)
        # array_split makes the first (size % n_buckets) parts one longer: rotate who gets them
        for k, part in enumerate(np.array_split(records, n_buckets)):
            buckets[(first + k) % n_buckets].append(part)
        first = (first + records.size) % n_buckets
    for p in runs:
        p.unlink()
    np.save(directory / "row_weights.npy", row_weights, allow_pickle=False)
    return tuple(b.finish() for b in buckets)


# ---------------------------------------------------------------- driver


def count_cooccurrences(sentences: Callable[[], Iterable[np.ndarray]], vocab_size: int,
                        window: int, work_dir: str | Path, *, memory_limit_mb: float = 1024,
                        seed: int = 1, dense_fraction: float = 0.5,
                        directory_name: str = "glove_cooccur",
                        should_stop: Callable[[], bool] | None = None) -> CooccurrenceData:
    """Count distance-weighted co-occurrences of ``sentences()`` into ``work_dir/directory_name``.

    ``sentences`` returns an iterator of 1-D integer arrays of ids in ``[0, vocab_size)``; it is
    read once. Peak memory is about ``memory_limit_mb`` plus ``8 * vocab_size`` bytes (see the
    module docstring for the breakdown).
    Raises :class:`TokvecError` for ids out of range or a corpus without any pair, and
    :class:`CountingStopped` (after removing its files) when ``should_stop()``, asked between
    batches of sentences, returns True.
    """
    budget = int(memory_limit_mb * 2**20)
    if not budget > 0:
        raise TokvecError(f"memory_limit_mb must be positive, got {memory_limit_mb}")
    if vocab_size * vocab_size * window >= 2**63:
        raise TokvecError(f"vocab_size {vocab_size} with window {window} is too large for "
                          "64-bit pair keys")
    directory = Path(work_dir) / directory_name
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)

    try:
        runs, n_tokens, n_spilled = _count_runs(sentences, vocab_size, window, directory, budget,
                                                dense_fraction, should_stop)
        sizes = _write_buckets(runs, vocab_size, window, directory, budget, seed)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    data = CooccurrenceData(directory, vocab_size, window, seed, weight_scale(window)[0],
                            n_tokens, sum(sizes), n_spilled,
                            tuple(f"bucket_{b:05d}.npy" for b in range(len(sizes))), sizes)
    data.save_manifest()
    return data
