"""Bilingual lexicon induction on the Bible: alignment of separate spaces against gensim's
``TranslationMatrix``, plain Procrustes, a random rotation, the Dice baseline and
``tokvec train-parallel`` (the benchmark of issue 13).

Run (one thread, so that timings compare; outputs go under ``--out``, default /tmp/tp/bench)::

    .venv/bin/python bench/multilingual.py                        # every group, both pairs
    .venv/bin/python bench/multilingual.py --only align --pairs zh-en

One markdown table per pair is printed and every row is written to ``--out/results.json``.

Data: the verse-aligned train split ``/work/shared/data/parallel/bible/train.{zh,es,en}``
(29,695 verses), zh segmented by jieba (``zh-word``), es and en lowercased; scored on
``/work/shared/data/dict/{zh,es}-en.test.tsv``.

**align** (same monolingual vectors, same train dictionary for every row): skip-gram d=100,
10 epochs, ``min_count`` 5, seed :data:`SEED`, trained separately on ``train.zh``, ``train.es``
and ``train.en`` with :func:`tokvec.static.train` (cached under ``--out/mono/<lang>``: a rerun
reuses them), seeded by ``dict/{zh,es}-en.train.tsv``:

- tokvec align: :func:`tokvec.multilingual.align.align_models` with 5 refinement rounds
  (``union``, the default, and ``replace``) and with ``refine=0`` (normalised Procrustes);
- plain Procrustes: the orthogonal map of the unit-length vectors (no centring), no refinement;
- random rotation: a seeded random orthogonal matrix (QR of a Gaussian) in place of a learnt
  map, the control that says what chance looks like;
- gensim ``TranslationMatrix`` (Mikolov et al. 2013): ``KeyedVectors`` of the same vectors,
  trained on the train pairs both vocabularies hold, P@k from its own ``translate(topn=10)``
  (cosine nearest neighbours of the mapped unit-length source vector over the whole target
  vocabulary, ``gc=0``); the same map is also scored through tokvec's retrieval (nn, csls).

Every tokvec row (and the gensim map's second row) is a :class:`MultilingualModel` scored by
:func:`tokvec.multilingual.bli.evaluate_bli`; seconds are the fit (the map) only.

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
import json
import platform
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from tokvec.multilingual.align import AlignSettings, align_models, procrustes
from tokvec.multilingual.bli import BLI_KS, evaluate_bli
from tokvec.multilingual.dictionary import covered_pairs, gold_sets, read_dictionary
from tokvec.multilingual.model import MultilingualModel
from tokvec.multilingual.parallel import ParallelConfig, encode_side, train_parallel
from tokvec.static_model import StaticModel, load_static

BIBLE = Path("/work/shared/data/parallel/bible")
DICTS = Path("/work/shared/data/dict")
PAIRS = {"zh-en": ("zh", "zh-word"), "es-en": ("es", "word")}
MIN_CANDIDATE = 3
SEED = 1                      # monolingual skip-gram runs (tokvec train's default seed)
ROTATION_SEED = 0             # the random-rotation control
GROUPS = ("align", "dice", "parallel")


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
        rows.append({**r, "group": "parallel",
                     "method": f"train-parallel ({cfg.objective}, {cfg.epochs} epochs)",
                     "seconds": seconds, "words_per_s": info["words_per_s"]})
    return rows


# ----- the align group ----------------------------------------------------------------------
def mono_model(lang: str, out_dir: Path, threads: int) -> tuple[StaticModel, dict[str, Any]]:
    """Skip-gram d=100, 10 epochs on ``train.<lang>``, cached under ``out_dir/mono/<lang>``."""
    from tokvec.static import TrainConfig, train

    path = out_dir / "mono" / lang
    if (path / "config.json").is_file():
        model = load_static(path)
        cached = True
    else:
        cfg = TrainConfig(method="sgns", dim=100, epochs=10, threads=threads, seed=SEED,
                          tokenizer="zh-word" if lang == "zh" else "word",
                          lowercase=lang != "zh")
        model = train(BIBLE / f"train.{lang}", path, cfg)
        cached = False
    training = model.config.get("training", {})
    info = {"lang": lang, "path": str(path), "cached": cached, "words": len(model.vectors),
            "seed": training.get("seed"), "epochs": training.get("epochs"),
            "train_seconds": training.get("train_seconds", training.get("seconds"))}
    return model, info


def random_rotation(dim: int, seed: int = ROTATION_SEED) -> np.ndarray:
    """A random orthogonal ``dim x dim`` matrix: QR of a Gaussian, signs fixed so that it is
    uniform (Haar) over the orthogonal group.

    >>> q = random_rotation(4)
    >>> bool(np.allclose(q @ q.T, np.eye(4)))
    True
    """
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def precision_at(ranked: list[list[str]], gold: list[set[str]],
                 ks: tuple[int, ...] = BLI_KS) -> dict[str, float]:
    """P@k of ranked candidate lists against gold sets (right at k: any gold word in the top k).

    >>> precision_at([["a", "b"], ["c", "d"]], [{"b"}, {"x"}], ks=(1, 2))
    {'p@1': 0.0, 'p@2': 0.5}
    """
    first = [next((r for r, w in enumerate(words) if w in g), len(words))
             for words, g in zip(ranked, gold, strict=True)]
    return {f"p@{k}": float(np.mean([f < k for f in first])) if first else 0.0 for k in ks}


def with_rows(model: StaticModel, word_rows: np.ndarray) -> StaticModel:
    """``model``'s tokenizer over a new table: ``word_rows`` at the word ids, zero elsewhere."""
    table = np.zeros_like(model.embeddings)
    table[model.word_rows()] = word_rows
    return StaticModel(model.tokenizer, table)


def joint(src: StaticModel, tgt: StaticModel, src_rows: np.ndarray, tgt_rows: np.ndarray,
          src_lang: str, tgt_lang: str = "en") -> MultilingualModel:
    """A joint model of two already-mapped word tables (for evaluate_bli)."""
    return MultilingualModel.from_static({src_lang: with_rows(src, src_rows),
                                          tgt_lang: with_rows(tgt, tgt_rows)})


def _bli_rows(model: MultilingualModel, test: Path, method: str, seconds: float,
              **extra: Any) -> list[dict[str, Any]]:
    rows = []
    for retrieval in ("nn", "csls"):
        r = evaluate_bli(model.vectors, test, retrieval=retrieval)
        rows.append({**r, "group": "align", "method": method, "seconds": seconds, **extra})
    return rows


def gensim_rows(src: StaticModel, tgt: StaticModel, train_pairs: list[tuple[str, str]],
                test: Path, src_lang: str) -> list[dict[str, Any]]:
    """gensim's ``TranslationMatrix`` on the same vectors: its own retrieval, then tokvec's."""
    from gensim.models import KeyedVectors
    from gensim.models.translation_matrix import TranslationMatrix

    sv, tv = src.vectors, tgt.vectors
    kv = []
    for v in (sv, tv):
        k = KeyedVectors(vector_size=v.dim)
        k.add_vectors(v.words, v.vectors)
        kv.append(k)
    covered = covered_pairs(train_pairs, sv, tv)
    word_pairs = [(sv.words[i], tv.words[j]) for i, j in covered.tolist()]
    started = time.perf_counter()
    tm = TranslationMatrix(kv[0], kv[1], random_state=ROTATION_SEED)
    tm.train(word_pairs)
    fit = time.perf_counter() - started
    gold, oov = gold_sets(read_dictionary(test), sv, tv)
    queries = [sv.words[i] for i in gold]
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        translated = tm.translate(queries, topn=max(BLI_KS), source_lang_vec=kv[0],
                                  target_lang_vec=kv[1])
    retrieve_s = time.perf_counter() - started
    ranked = [translated[w] for w in queries]
    gold_words = [{tv.words[j] for j in gold[i]} for i in gold]
    base = {"group": "align", "pairs_covered": len(word_pairs), "seconds": fit}
    rows = [{**precision_at(ranked, gold_words), "words": len(gold), "oov": oov,
             "retrieval": "nn (gensim translate, gc=0)",
             "method": "gensim TranslationMatrix (least squares), its translate()",
             "retrieve_seconds": retrieve_s, **base}]
    # the same map, scored by tokvec (gensim maps unit-length source rows; targets unit-length)
    mapped = (sv.unit @ tm.translation_matrix).astype(np.float32)
    model = joint(src, tgt, mapped, tv.unit, src_lang)
    rows += _bli_rows(model, test, "gensim TranslationMatrix map, tokvec evaluate_bli", fit,
                      pairs_covered=len(word_pairs))
    return rows


def align_bli(pair: str, out_dir: Path, threads: int) -> tuple[list[dict], list[dict]]:
    """Every row of the align group for ``pair`` (and the monolingual runs' details)."""
    src_lang = PAIRS[pair][0]
    (src, src_info), (tgt, tgt_info) = (mono_model(src_lang, out_dir, threads),
                                        mono_model("en", out_dir, threads))
    train_pairs = read_dictionary(DICTS / f"{pair}.train.tsv")
    test = DICTS / f"{pair}.test.tsv"
    rows: list[dict[str, Any]] = []
    for label, settings in (
            ("tokvec align, 5 rounds, union (default)", AlignSettings()),
            ("tokvec align, 5 rounds, replace", AlignSettings(refine_dictionary="replace")),
            ("tokvec align --refine 0 (normalised Procrustes)", AlignSettings(refine=0))):
        started = time.perf_counter()
        model = align_models(src, tgt, train_pairs, src_lang, "en", settings)
        seconds = time.perf_counter() - started
        rows += _bli_rows(model, test, label, seconds,
                          pairs_covered=model.config["alignment"]["pairs_covered"])
    sv, tv = src.vectors, tgt.vectors
    covered = covered_pairs(train_pairs, sv, tv)
    started = time.perf_counter()
    w = procrustes(sv.unit[covered[:, 0]], tv.unit[covered[:, 1]])
    seconds = time.perf_counter() - started
    model = joint(src, tgt, (sv.unit @ w).astype(np.float32), tv.unit, src_lang)
    rows += _bli_rows(model, test, "plain Procrustes (unit length, no centring)", seconds,
                      pairs_covered=int(covered.shape[0]))
    started = time.perf_counter()
    q = random_rotation(sv.dim)
    seconds = time.perf_counter() - started
    model = joint(src, tgt, (sv.unit @ q).astype(np.float32), tv.unit, src_lang)
    rows += _bli_rows(model, test, f"random rotation (control, seed {ROTATION_SEED})", seconds)
    rows += gensim_rows(src, tgt, train_pairs, test, src_lang)
    return rows, [src_info, tgt_info]


# ----- report ---------------------------------------------------------------------------------
def markdown_table(rows: list[dict[str, Any]]) -> str:
    """One markdown table of BLI rows (method, retrieval, P@1/5/10, words, oov, seconds).

    >>> print(markdown_table([{"method": "m", "retrieval": "nn", "p@1": 0.5, "p@5": 1.0,
    ...                        "p@10": 1.0, "words": 2, "oov": 0, "seconds": 1.25}]))
    | method | retrieval | P@1 | P@5 | P@10 | words | oov | seconds |
    |---|---|---|---|---|---|---|---|
    | m | nn | 0.500 | 1.000 | 1.000 | 2 | 0 | 1.2 |
    """
    lines = ["| method | retrieval | P@1 | P@5 | P@10 | words | oov | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        seconds = r.get("seconds")
        secs = "" if seconds is None else (f"{seconds:.1f}" if seconds >= 0.1 else
                                           f"{seconds:.3f}")
        lines.append(f"| {r['method']} | {r.get('retrieval') or ''} | {r['p@1']:.3f} | "
                     f"{r['p@5']:.3f} | {r['p@10']:.3f} | {r['words']} | {r['oov']} | {secs} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(GROUPS),
                        help="comma-separated groups: align, dice, parallel (default: all)")
    parser.add_argument("--pairs", default="zh-en,es-en")
    parser.add_argument("--out", default="/tmp/tp/bench", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None,
                        help="override train-parallel's default epochs")
    parser.add_argument("--objective", default=None,
                        help="override train-parallel's default objective")
    args = parser.parse_args()
    only = set(args.only.split(","))
    unknown = only - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}; choose from "
                     f"{', '.join(GROUPS)}")
    pairs = args.pairs.split(",")
    for pair in pairs:
        if pair not in PAIRS:
            parser.error(f"unknown pair {pair!r}; choose from {', '.join(PAIRS)}")
    overrides = {k: v for k, v in (("epochs", args.epochs), ("objective", args.objective))
                 if v is not None}
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    mono: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        src, kind = PAIRS[pair]
        if "align" in only:
            found, infos = align_bli(pair, args.out, args.threads)
            rows += [{**r, "pair": pair} for r in found]
            mono.update({i["lang"]: i for i in infos})
        if "dice" in only:
            r = dice_bli(BIBLE / f"train.{src}", BIBLE / "train.en", DICTS / f"{pair}.test.tsv",
                         kind)
            rows.append({**r, "pair": pair, "group": "dice", "retrieval": None,
                         "method": "Dice (verse co-occurrence)"})
        if "parallel" in only:
            for r in parallel_bli(pair, args.out, args.threads, **overrides):
                rows.append({**r, "pair": pair})
    for pair in pairs:
        print(f"\n### {pair}\n")
        print(markdown_table([r for r in rows if r["pair"] == pair]))
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": platform.processor()
              or platform.machine(), "threads": args.threads, "groups": sorted(only),
              "monolingual": mono, "rows": rows}
    (args.out / "results.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(f"\nrows written to {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
