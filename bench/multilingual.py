"""Bilingual lexicon induction on the Bible: the Dice baseline against ``tokvec train-parallel``.

Run (one thread, so that timings compare; outputs go under ``--out``, default /tmp/tp/bench)::

    .venv/bin/python bench/multilingual.py --only dice,parallel

Data: the verse-aligned train split ``/work/shared/data/parallel/bible/train.{zh,es,en}``
(29,695 verses), zh segmented by jieba (``zh-word``), every side lowercased; scored on
``/work/shared/data/dict/{zh,es}-en.test.tsv``.

**Dice** (the co-occurrence baseline of issue 13): for a source word ``s`` and a target word
``t``, ``dice(s, t) = 2 c(s, t) / (c(s) + c(t))`` with ``c`` counting verses (a word counted once
per verse) and ``c(s, t)`` the verses where both occur. Target candidates are the words seen at
least 3 times (as in the dictionaries); each source word's candidates are ranked by Dice (ties
by frequency) and P@k is the fraction of scored source words with a gold translation in the top
k. A source word is scored when it occurs in the corpus and one of its translations is a
candidate, the rule of ``tokvec evaluate --bli`` (:mod:`tokvec.multilingual.bli`).

**train-parallel**: :func:`tokvec.multilingual.parallel.train_parallel` with its defaults (the
CLI's), scored by :func:`tokvec.multilingual.bli.evaluate_bli` with CSLS and with cosine (nn)
retrieval. Time is training plus encoding, one thread.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from tokvec.multilingual.bli import BLI_KS, evaluate_bli
from tokvec.multilingual.dictionary import read_dictionary
from tokvec.multilingual.parallel import ParallelConfig, encode_side, train_parallel

BIBLE = Path("/work/shared/data/parallel/bible")
DICTS = Path("/work/shared/data/dict")
PAIRS = {"zh-en": ("zh", "zh-word"), "es-en": ("es", "word")}
MIN_CANDIDATE = 3


def _verse_matrix(ids: np.ndarray, ends: np.ndarray, vocab: int) -> sparse.csr_matrix:
    """Binary verses x words matrix (a word counted once per verse)."""
    rows = np.repeat(np.arange(ends.shape[0]), np.diff(ends, prepend=0))
    m = sparse.csr_matrix((np.ones(ids.shape[0], np.float32), (rows, ids)),
                          shape=(ends.shape[0], vocab))
    m.data[:] = 1.0  # duplicates were summed
    return m


def dice_bli(src_path: Path, tgt_path: Path, dictionary: Path, src_tokenizer: str,
             tgt_tokenizer: str = "word", lowercase: bool = True,
             min_candidate: int = MIN_CANDIDATE) -> dict[str, Any]:
    """P@1/5/10 of translating ``dictionary``'s source words by the Dice coefficient."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        a = encode_side(src_path, Path(tmp) / "a", src_tokenizer, lowercase, 1)
        b = encode_side(tgt_path, Path(tmp) / "b", tgt_tokenizer, lowercase, 1)
    va, vb = a.tokenizer.vocabulary(), b.tokenizer.vocabulary()
    xa = _verse_matrix(a.ids, a.ends, len(va))
    xb = _verse_matrix(b.ids, b.ends, len(vb))
    norm = (lambda w: w.lower()) if lowercase else (lambda w: w)
    gold: dict[int, set[int]] = {}
    sources: set[str] = set()
    candidate = b.counts >= min_candidate
    for s, t in read_dictionary(dictionary):
        sources.add(norm(s))
        i, j = va.get(norm(s)), vb.get(norm(t))
        if i is None or i < va.num_specials:
            continue
        gold.setdefault(i, set())
        if j is not None and j >= vb.num_specials and candidate[j]:
            gold[i].add(j)
    gold = {i: g for i, g in gold.items() if g}
    query = np.fromiter(gold, dtype=np.int64)
    df_a = np.asarray(xa.sum(axis=0)).ravel()
    df_b = np.asarray(xb.sum(axis=0)).ravel()
    both = (xa[:, query].T @ xb).toarray()
    dice = 2.0 * both / (df_a[query][:, None] + df_b[None, :] + 1e-12)
    dice[:, ~candidate] = -1.0
    kmax = max(BLI_KS)
    # rank by dice, ties broken by target frequency (ids are in frequency order)
    top = np.argsort(-dice, axis=1, kind="stable")[:, :kmax]
    first = np.array([next((r for r, j in enumerate(row.tolist()) if j in gold[int(q)]), kmax)
                      for q, row in zip(query, top, strict=True)])
    out: dict[str, Any] = {f"p@{k}": float(np.mean(first < k)) for k in BLI_KS}
    out.update(words=len(gold), oov=len(sources) - len(gold),
               seconds=time.perf_counter() - started)
    return out


def parallel_bli(pair: str, out_dir: Path, threads: int, **overrides: Any) -> list[dict]:
    """Train ``pair`` with train-parallel's defaults; BLI rows for csls and nn."""
    src, kind = PAIRS[pair]
    cfg = ParallelConfig(src_lang=src, tgt_lang="en", src_tokenizer=kind, lowercase=True,
                         threads=threads, **overrides)
    started = time.perf_counter()
    model = train_parallel(BIBLE / f"train.{src}", BIBLE / "train.en", out_dir / pair, cfg)
    seconds = time.perf_counter() - started
    info = model.config["training"]
    rows = []
    for retrieval in ("csls", "nn"):
        r = evaluate_bli(model.vectors, DICTS / f"{pair}.test.tsv", retrieval=retrieval)
        rows.append({**r, "method": f"train-parallel {cfg.objective}, {retrieval}",
                     "seconds": seconds, "words_per_s": info["words_per_s"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="dice,parallel", help="comma-separated: dice, parallel")
    parser.add_argument("--pairs", default="zh-en,es-en")
    parser.add_argument("--out", default="/tmp/tp/bench", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    parser.add_argument("--objective", default=None, help="override the default objective")
    args = parser.parse_args()
    only = set(args.only.split(","))
    overrides = {k: v for k, v in (("epochs", args.epochs), ("objective", args.objective))
                 if v is not None}
    rows = []
    for pair in args.pairs.split(","):
        src, kind = PAIRS[pair]
        if "dice" in only:
            r = dice_bli(BIBLE / f"train.{src}", BIBLE / "train.en", DICTS / f"{pair}.test.tsv",
                         kind)
            rows.append({**r, "pair": pair, "method": "Dice (verse co-occurrence)"})
        if "parallel" in only:
            for r in parallel_bli(pair, args.out, args.threads, **overrides):
                rows.append({**r, "pair": pair})
    print("| pair | method | P@1 | P@5 | P@10 | words | oov | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pair']} | {r['method']} | {r['p@1']:.3f} | {r['p@5']:.3f} | "
              f"{r['p@10']:.3f} | {r['words']} | {r['oov']} | {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
