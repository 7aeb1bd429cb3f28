"""Sorted runs of ``(key, value)`` records on disk: write in pieces, read slices, merge-sum.

The spill-and-merge half of GloVe's bounded-memory co-occurrence counting
(:mod:`tokvec.static.cooccur`). A run is a 1-D ``.npy`` file of :data:`RUN_DTYPE` records sorted
by key with unique keys. :func:`merged_rounds` merges runs in rounds that each hold at most
``block`` records per run, summing the values of equal keys; :func:`merge_levels` first merges
groups of runs until few enough are left that a round of them fits the memory budget (at most
:data:`MERGE_FANIN`, and ``block`` at least :data:`MIN_MERGE_BLOCK`). No pickle: plain ``.npy``.

>>> import tempfile
>>> from pathlib import Path
>>> d = Path(tempfile.mkdtemp())
>>> for name, keys in (("a", [1, 4, 9]), ("b", [4, 5])):
...     run = np.zeros(len(keys), RUN_DTYPE)
...     run["key"], run["val"] = keys, 10
...     np.save(d / f"{name}.npy", run)
>>> merged = np.concatenate(list(merged_rounds([d / "a.npy", d / "b.npy"], block=1)))
>>> merged.tolist()
[(1, 10), (4, 20), (5, 10), (9, 10)]
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numba
import numpy as np

from ..errors import TokvecError

RUN_DTYPE = np.dtype([("key", "<i8"), ("val", "<i8")])
MERGE_FANIN = 32
MERGE_BYTES_PER_RECORD = 120
MIN_MERGE_BLOCK = 256


class NpyFile:
    """Random access to slices of a 1-D ``.npy`` file without loading (or mapping) it whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, self.dtype = read_header(f)
            self.offset = f.tell()
        if len(shape) != 1 or fortran:
            raise TokvecError(f"expected a 1-D array, got shape {shape}", path)
        self.length = int(shape[0])

    def read(self, start: int, stop: int) -> np.ndarray:
        with open(self.path, "rb") as f:
            f.seek(self.offset + start * self.dtype.itemsize)
            return np.fromfile(f, dtype=self.dtype, count=stop - start)


class NpyAppender:
    """Write a 1-D ``.npy`` file piece by piece; :meth:`finish` fixes the length in the header.

    numpy pads ``.npy`` headers so the length field can grow in place (the header of a length-0
    array is as long as that of any length), which this relies on and checks.
    """

    def __init__(self, path: Path, dtype: np.dtype) -> None:
        self.path, self.dtype, self.length = path, dtype, 0
        self._header_size = self._write_header(path.open("wb"))

    def _write_header(self, f) -> int:
        with f:
            np.lib.format.write_array_header_1_0(f, {
                "descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                "shape": (self.length,)})
            return f.tell()

    def append(self, arr: np.ndarray) -> None:
        if arr.size:
            with self.path.open("ab") as f:
                np.ascontiguousarray(arr, dtype=self.dtype).tofile(f)
            self.length += arr.size

    def finish(self) -> int:
        """Write the final header; return the number of records."""
        if self._write_header(self.path.open("r+b")) != self._header_size:
            raise RuntimeError(f"{self.path}: .npy header changed size")
        return self.length


@numba.njit(nogil=True, cache=True, error_model="numpy")
def reduce_sorted_runs(rec):
    """Sum records with equal keys in a key-sorted RUN_DTYPE array in place; return the count."""
    if rec.size == 0:
        return 0
    w = 0
    for k in range(1, rec.size):
        if rec[k]["key"] == rec[w]["key"]:
            rec[w]["val"] += rec[k]["val"]
        else:
            w += 1
            rec[w]["key"] = rec[k]["key"]
            rec[w]["val"] = rec[k]["val"]
    return w + 1


def merged_rounds(runs: list[Path], block: int) -> Iterator[np.ndarray]:
    """Yield key-sorted, key-unique RUN_DTYPE batches covering all runs, in key order."""
    files = [NpyFile(p) for p in runs]
    pos = [0] * len(files)
    no_frontier = np.iinfo(np.int64).max
    while True:
        chunks: list[tuple[int, np.ndarray]] = []
        frontier = no_frontier
        for r, f in enumerate(files):
            if pos[r] >= f.length:
                continue
            chunk = f.read(pos[r], min(f.length, pos[r] + block))
            chunks.append((r, chunk))
            if pos[r] + chunk.size < f.length:
                frontier = min(frontier, int(chunk["key"][-1]))
        if not chunks:
            return
        taken = []
        for r, chunk in chunks:
            count = chunk.size
            if frontier != no_frontier:
                count = int(np.searchsorted(chunk["key"], frontier, side="right"))
            taken.append(chunk[:count])
            pos[r] += count
        batch = np.concatenate(taken)
        del chunks, taken
        batch = batch[np.argsort(batch["key"], kind="stable")]
        yield batch[:reduce_sorted_runs(batch)]


def merge_fanin(budget: int) -> int:
    """How many runs one merge round may read at once within ``budget`` bytes (2 or more)."""
    return int(np.clip(budget // (MERGE_BYTES_PER_RECORD * MIN_MERGE_BLOCK), 2, MERGE_FANIN))


def merge_block(budget: int, n_runs: int) -> int:
    """Records to read per run and round when merging ``n_runs`` runs within ``budget`` bytes."""
    return max(MIN_MERGE_BLOCK, budget // (MERGE_BYTES_PER_RECORD * max(n_runs, 1)))


def merge_levels(runs: list[Path], directory: Path, budget: int) -> list[Path]:
    """Merge groups of runs until at most :func:`merge_fanin` runs are left."""
    fanin = merge_fanin(budget)
    level = 0
    while len(runs) > fanin:
        merged: list[Path] = []
        for g in range(0, len(runs), fanin):
            group = runs[g:g + fanin]
            path = directory / f"merge{level}_{len(merged):05d}.npy"
            writer = NpyAppender(path, RUN_DTYPE)
            for batch in merged_rounds(group, merge_block(budget, len(group))):
                writer.append(batch)
            writer.finish()
            for p in group:
                p.unlink()
            merged.append(path)
        runs = merged
        level += 1
    return runs
