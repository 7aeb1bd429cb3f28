"""Static embedding benchmark: tokvec against gensim 4.4 (skip-gram, CBOW) and fastText 0.9.2.

Run (timings must not overlap with other benchmarks on a shared machine)::

    flock /tmp/tokvec-bench.lock .venv/bin/python bench/static.py            # full, writes docs
    flock /tmp/tokvec-bench.lock .venv/bin/python bench/static.py --only sgns --epochs 1

The corpus (/work/shared/data/en/corpus.txt) is lowercased and reduced to letter runs (regex
``[a-z]+``, one output line per input line), cached under bench/out/. ``--corpus shuffled`` uses
the same lines in a fixed random order (seed 1): this corpus is six sources one after another
(Brown, State of the Union, Moby-Dick, Shakespeare and Milton, WordNet glosses, nlp-corpus), and
with a learning rate that decays to zero the sources read last shape the vectors most, so the
order in which a tool reads the file moves the scores by a few hundredths. tokvec reads its
chunks (~16k tokens each) in a new random order every epoch by default (``--chunk-order
shuffled``); the ``-fileorder`` rows read the file front to back as gensim does (``--chunk-order
file``). fastText's threads each start at their own offset in the file, an order of its own.
Each training runs in its own child process, one after the other, so that its peak RSS
(``ru_maxrss`` from ``wait4``) is its own. All tools get the same settings: dim 100, window 5,
negative 5, min-count 5, sample 1e-3, 2 threads; skip-gram lr 0.025, CBOW 0.05; fasttext lr 0.05
(fastText's default) for both, minn 3, maxn 6, 2,000,000 buckets.

words/s = corpus tokens (whitespace words of the cached file) x epochs / training seconds, the
same numerator for every tool (ratios: tokvec over the peer, time and memory lower is better).
Training seconds: tokvec, the training loop (config.json
``training.train_seconds``: after the corpus is encoded, numba's cached-code loading included);
gensim, ``Word2Vec.train()`` (after ``build_vocab``); fastText, the whole
``train_unsupervised`` call (it reads the vocabulary inside). Wall is the child process, start
to exit (imports, corpus reading, training, saving). gensim runs twice: the usual way
(``train(total_examples=...)``, learning rate decayed by sentences) and with ``total_words``
(decayed by words, as tokvec and word2vec.c do; rows ``-words``).

Every model is evaluated with :func:`tokvec.evaluation.evaluate_vectors` on WordSim-353,
SimLex-999, MEN (Spearman) and the Google analogies (30,000 most frequent words; accuracy over
all questions, and over covered ones).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DATA = Path("/work/shared/data/en")
SOURCE = DATA / "corpus.txt"
CACHE = OUT / "corpus.letters.txt"
SETTINGS = {"dim": 100, "window": 5, "negative": 5, "min_count": 5, "sample": 1e-3,
            "threads": 2}
# tokvec run, then its peers. "-words" runs gensim with its learning rate decayed by words
# (``train(total_words=...)``), the schedule tokvec uses; plain gensim runs decay it by sentences.
GROUPS = {"sgns": (("tokvec-sgns", "tokvec-sgns-fileorder"), ("gensim-sgns", "gensim-sgns-words")),
          "cbow": (("tokvec-cbow", "tokvec-cbow-fileorder"), ("gensim-cbow", "gensim-cbow-words")),
          "fasttext": (("tokvec-fasttext", "tokvec-fasttext-fileorder"), ("fasttext",))}
CORPORA = {"letters": CACHE, "shuffled": OUT / "corpus.letters.shuffled.txt"}
LR = {"sgns": 0.025, "cbow": 0.05, "fasttext": 0.05}


def preprocess(source: Path = SOURCE, target: Path = CACHE) -> int:
    """Lowercased letter runs, one line per input line; returns the token count."""
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return _count_tokens(target)
    letters = re.compile(r"[a-z]+")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with open(source, encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
        for line in src:
            dst.write(" ".join(letters.findall(line.lower())) + "\n")
    tmp.replace(target)
    return _count_tokens(target)


def shuffled_copy(source: Path, target: Path, seed: int = 1) -> None:
    """The lines of ``source`` in a fixed random order (cached)."""
    import random

    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    random.Random(seed).shuffle(lines)
    tmp = target.with_suffix(".tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    tmp.replace(target)


def _count_tokens(path: Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(len(line.split()) for line in handle)


# ----- children: one training each ---------------------------------------------------------
def child(name: str, epochs: int, corpus: Path, model_dir: Path, result: Path) -> None:
    method = name.split("-")[1] if name != "fasttext" else "fasttext"
    info: dict = {}
    if name.startswith("tokvec-"):
        from tokvec.static import TrainConfig, train

        order = "file" if name.endswith("-fileorder") else "shuffled"
        cfg = TrainConfig(method=method, epochs=epochs, lr=LR[method], tokenizer="whitespace",
                          chunk_order=order, **SETTINGS)
        model = train(corpus, model_dir, cfg)
        info["train_seconds"] = model.config["training"]["train_seconds"]
        info["final_loss"] = model.config["training"]["final_loss"]
    elif name.startswith("gensim-"):
        from gensim.models import Word2Vec
        from gensim.models.word2vec import LineSentence

        w2v = Word2Vec(vector_size=SETTINGS["dim"], window=SETTINGS["window"],
                       negative=SETTINGS["negative"], min_count=SETTINGS["min_count"],
                       sample=SETTINGS["sample"], workers=SETTINGS["threads"],
                       sg=1 if method == "sgns" else 0, alpha=LR[method], seed=1)
        w2v.build_vocab(LineSentence(str(corpus)))
        start = time.perf_counter()
        if name.endswith("-words"):
            effective, _ = w2v.train(LineSentence(str(corpus)),
                                     total_words=w2v.corpus_total_words, epochs=epochs)
        else:
            effective, _ = w2v.train(LineSentence(str(corpus)),
                                     total_examples=w2v.corpus_count, epochs=epochs)
        info["train_seconds"] = time.perf_counter() - start
        info["effective_words"] = effective
        _save_plain(model_dir, list(w2v.wv.index_to_key), w2v.wv.vectors, "gensim")
    else:
        import fasttext
        import numpy as np

        start = time.perf_counter()
        ft = fasttext.train_unsupervised(
            str(corpus), model="skipgram", dim=SETTINGS["dim"], ws=SETTINGS["window"],
            neg=SETTINGS["negative"], minCount=SETTINGS["min_count"], t=SETTINGS["sample"],
            epoch=epochs, minn=3, maxn=6, bucket=2_000_000, thread=SETTINGS["threads"],
            lr=LR["fasttext"], verbose=0)
        info["train_seconds"] = time.perf_counter() - start
        words = list(ft.get_words())
        matrix = np.stack([ft.get_word_vector(w) for w in words])
        _save_plain(model_dir, words, matrix, "fastText 0.9.2")
    result.write_text(json.dumps(info))


def _save_plain(model_dir: Path, words: list, matrix, source: str) -> None:
    from tokvec.static_model import StaticModel

    StaticModel.from_vectors(words, matrix, tokenizer_kind="whitespace",
                             source={"tool": source}).save(model_dir)


# ----- parent ------------------------------------------------------------------------------
def run_child(name: str, epochs: int, corpus: str) -> dict:
    model_dir = _models(corpus) / name
    result = OUT / f"{name}.result.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name,
           "--epochs", str(epochs), "--corpus", corpus]
    env = {**os.environ, "TOKVEC_PROGRESS": "0"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed with exit status {proc.returncode}")
    info = json.loads(result.read_text())
    info.update(wall_seconds=wall, peak_rss_mb=usage.ru_maxrss / 1024, model_dir=str(model_dir))
    return info


def _models(corpus: str) -> Path:
    return OUT / ("models" if corpus == "letters" else f"models-{corpus}")


def evaluate(model_dir: str) -> dict:
    from tokvec.evaluation import evaluate_vectors
    from tokvec.static_model import StaticModel

    vectors = StaticModel.load(model_dir).vectors
    res = evaluate_vectors(vectors, similarity=[DATA / "wordsim353.tsv", DATA / "simlex999.tsv",
                                                DATA / "men.tsv"],
                           analogy=[DATA / "questions-words.txt"], restrict=30000)
    return {"ws353": res["wordsim353"]["spearman"], "simlex": res["simlex999"]["spearman"],
            "men": res["men"]["spearman"], "analogy": 100 * res["questions-words"]["accuracy"],
            "analogy_cov": 100 * res["questions-words"]["accuracy_covered"]}


COLUMNS = [("wall s", "wall_seconds", "{:.1f}"), ("train s", "train_seconds", "{:.1f}"),
           ("words/s", "words_per_s", "{:,.0f}"), ("peak RSS MB", "peak_rss_mb", "{:.0f}"),
           ("WS353", "ws353", "{:.3f}"), ("SimLex", "simlex", "{:.3f}"), ("MEN", "men", "{:.3f}"),
           ("analogy %", "analogy", "{:.1f}"), ("analogy cov. %", "analogy_cov", "{:.1f}")]


def table(results: dict, methods: list[str]) -> str:
    lines = ["| run | " + " | ".join(c for c, _, _ in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for method in methods:
        names, peers = GROUPS[method]
        for run in (*names, *peers):
            if run not in results:
                continue
            r = results[run]
            lines.append(f"| {run} | " + " | ".join(f.format(r[k]) for _, k, f in COLUMNS)
                         + " |")
        for name, peer_name in ((n, p) for n in names for p in peers):
            if name not in results or peer_name not in results:
                continue
            ours = results[name]
            peer = results[peer_name]
            ratio = [f"{ours['wall_seconds'] / peer['wall_seconds']:.2f}x",
                     f"{ours['train_seconds'] / peer['train_seconds']:.2f}x",
                     f"**{ours['words_per_s'] / peer['words_per_s']:.2f}x**",
                     f"{ours['peak_rss_mb'] / peer['peak_rss_mb']:.2f}x"]
            ratio += [f"{ours[k] - peer[k]:+.3f}" for k in ("ws353", "simlex", "men")]
            ratio += [f"{ours[k] - peer[k]:+.1f}" for k in ("analogy", "analogy_cov")]
            lines.append(f"| {name} vs {peer_name} | " + " | ".join(ratio) + " |")
    return "\n".join(lines)


def machine() -> str:
    import fasttext  # noqa: F401  (version below)
    import gensim
    import numba
    import numpy

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy "
            f"{numpy.__version__}, numba {numba.__version__}, gensim {gensim.__version__}, "
            "fasttext-wheel 0.9.2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="sgns,cbow,fasttext",
                        help="comma-separated subset of sgns,cbow,fasttext")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="letters",
                        help="letters: the file's own line order (default); shuffled: the same "
                             "lines in a fixed random order")
    parser.add_argument("--runs", help="comma-separated run names to keep (default: all of "
                                       "the chosen methods, e.g. tokvec-sgns,gensim-sgns)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--no-docs", action="store_true",
                        help="do not rewrite docs/static-benchmark.md")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.epochs, CORPORA[args.corpus], _models(args.corpus) / args.child,
              OUT / f"{args.child}.result.json")
        return
    methods = [m for m in args.only.split(",") if m]
    unknown = [m for m in methods if m not in GROUPS]
    if unknown:
        raise SystemExit(f"--only: unknown method(s) {', '.join(unknown)}")
    tokens = preprocess()
    corpus = CORPORA[args.corpus]
    if args.corpus == "shuffled":
        shuffled_copy(CACHE, corpus)
    print(f"corpus: {corpus} ({tokens:,} tokens), {args.epochs} epochs", file=sys.stderr)
    wanted = set(args.runs.split(",")) if args.runs else None
    results = {}
    for method in methods:
        for name in (*GROUPS[method][0], *GROUPS[method][1]):
            if wanted is not None and name not in wanted:
                continue
            print(f"training {name} ...", file=sys.stderr)
            r = run_child(name, args.epochs, args.corpus)
            r["words_per_s"] = tokens * args.epochs / r["train_seconds"]
            results[name] = r
    for r in results.values():
        r.update(evaluate(r["model_dir"]))
    text = table(results, methods)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = f"bench/static.py --corpus {args.corpus} --only {','.join(methods)}"
    if args.runs:
        command += f" --runs {args.runs}"
    header = (f"{stamp}; {machine()}\n\ncorpus {corpus.name}, {tokens:,} tokens x "
              f"{args.epochs} epochs; command: `{command} --epochs {args.epochs}`")
    print(header + "\n\n" + text)
    (OUT / f"static-results-{args.corpus}.json").write_text(json.dumps(results, indent=2))
    full = (args.corpus == "shuffled" or set(methods) == set(GROUPS)) and args.epochs == 5
    if full and not args.no_docs:
        write_docs(header, text, "results" if args.corpus == "letters" else args.corpus)


def write_docs(header: str, text: str, section: str) -> None:
    """Replace the text between the two ``<!-- section -->`` markers of the benchmark page."""
    doc = ROOT / "docs" / "static-benchmark.md"
    marker = f"<!-- {section} -->"
    notes = doc.read_text(encoding="utf-8").split(marker)
    if len(notes) != 3:
        raise SystemExit(f"{doc}: expected two {marker} markers around the results")
    doc.write_text(f"{notes[0]}{marker}\n{header}\n\n{text}\n{marker}{notes[2]}",
                   encoding="utf-8")


if __name__ == "__main__":
    main()
