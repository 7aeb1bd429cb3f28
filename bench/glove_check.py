"""Quality and speed check of tokvec's GloVe on the shared English corpus, scored with gensim.

The corpus is lowercased and split into letter runs (``[a-z]+``); words seen at least
``--min-count`` times get ids 0..V-1 by descending count (ties alphabetical). ``W + W~`` is then
evaluated with gensim's ``KeyedVectors``: Spearman correlation on WordSim-353, SimLex-999 and
MEN, and accuracy on the Google analogies (restrict_vocab=30000). Run it under the bench lock::

    flock /tmp/tokvec-bench.lock .venv/bin/python bench/glove_check.py --epochs 20

It prints one line per epoch and a JSON summary (time per epoch, counting time, peak memory).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from tokvec.static.glove import train_glove

DATA = Path("/work/shared/data/en")
WORD = re.compile(r"[a-z]+")


def rss_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS now, VmHWM peak) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_corpus(path: Path, min_count: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Vocabulary (by descending count) and the corpus as flat ids plus sentence offsets."""
    counts: Counter[str] = Counter()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            counts.update(WORD.findall(line.lower()))
    words = sorted((w for w, c in counts.items() if c >= min_count),
                   key=lambda w: (-counts[w], w))
    index = {w: i for i, w in enumerate(words)}
    ids: list[np.ndarray] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            found = [index[w] for w in WORD.findall(line.lower()) if w in index]
            ids.append(np.array(found, dtype=np.int32))
    offsets = np.concatenate([[0], np.cumsum([a.size for a in ids])]).astype(np.int64)
    return words, np.concatenate(ids), offsets


def evaluate(words: list[str], vectors: np.ndarray) -> dict[str, float]:
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    scores: dict[str, float] = {}
    for name in ("wordsim353", "simlex999", "men"):
        _, spearman, oov = kv.evaluate_word_pairs(DATA / f"{name}.tsv", delimiter="\t")
        scores[f"{name}_spearman"] = round(float(spearman.statistic), 4)
        scores[f"{name}_oov_percent"] = round(float(oov), 1)
    accuracy, _ = kv.evaluate_word_analogies(DATA / "questions-words.txt", restrict_vocab=30000)
    scores["analogy_accuracy"] = round(float(accuracy), 4)
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.txt")
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--x-max", type=float, default=100.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit-mb", type=float, default=1024)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    words, ids, offsets = load_corpus(args.corpus, args.min_count)
    load_s = time.perf_counter() - start
    print(f"corpus: {ids.size:,} tokens, {offsets.size - 1:,} lines, vocabulary {len(words):,} "
          f"({load_s:.1f} s); RSS {rss_mb('VmRSS'):.0f} MiB", file=sys.stderr)

    def sentences():
        return (ids[offsets[k]:offsets[k + 1]] for k in range(offsets.size - 1))

    epoch_ends: list[float] = []

    def log(report: dict) -> None:
        if abs(report["progress"] * args.epochs - report["epoch"]) < 1e-9:
            epoch_ends.append(time.perf_counter())
            print(f"epoch {report['epoch']:2d}  loss {report['loss']:.4f}  "
                  f"{report['pairs_per_s'] / 1e6:.2f} M pairs/s  "
                  f"peak RSS {rss_mb('VmHWM'):.0f} MiB", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="glove_check.") as work:
        train_start = time.perf_counter()
        W, W_tilde = train_glove(sentences, len(words), dim=args.dim, window=args.window,
                                 epochs=args.epochs, x_max=args.x_max, threads=args.threads,
                                 seed=args.seed,
                                 memory_limit_mb=args.memory_limit_mb, work_dir=work, log=log)
        train_s = time.perf_counter() - train_start
    epoch_s = float(np.mean(np.diff(epoch_ends))) if len(epoch_ends) > 1 else float("nan")
    summary = {
        "tokens": int(ids.size), "vocab": len(words), "dim": args.dim, "window": args.window,
        "epochs": args.epochs, "x_max": args.x_max, "threads": args.threads,
        "memory_limit_mb": args.memory_limit_mb,
        "train_total_s": round(train_s, 1), "epoch_s": round(epoch_s, 2),
        "counting_s": round(epoch_ends[0] - train_start - epoch_s, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        **evaluate(words, W + W_tilde),
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
