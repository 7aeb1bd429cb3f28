"""Bounded memory: peak RSS of counting, tokenizing and training at 100 MB and 1 GB of corpus.

Builds two corpora by repeating ../shared/data/en/corpus.txt (lowercased letter runs, as the
static benchmark uses) up to 100 MB and 1 GB under bench/out/, then runs each step in a child
process and reads the child's peak RSS (ru_maxrss). The bar: the 1 GB figure is at most 10% above
the 100 MB figure for every step.

    .venv/bin/python bench/memory.py [--sizes 100,1000] [--steps vocab,encode,train]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
SHARED = HERE.parents[1] / "shared" / "data" / "en" / "corpus.txt"
TOKVEC = [sys.executable, "-m", "tokvec.cli"]


def make_corpus(megabytes: int) -> Path:
    target = OUT / f"repeat_{megabytes}mb.txt"
    if target.exists():
        return target
    OUT.mkdir(parents=True, exist_ok=True)
    letters = re.compile(r"[a-z]+")
    base = "".join(" ".join(letters.findall(line.lower())) + "\n"
                   for line in SHARED.read_text(encoding="utf-8").splitlines())
    tmp = target.with_suffix(".tmp")
    limit = megabytes * 1_000_000
    with open(tmp, "w", encoding="utf-8") as f:
        written = 0
        while written < limit:
            chunk = base[: limit - written]
            f.write(chunk)
            written += len(chunk)
    os.replace(tmp, target)
    return target


def peak_rss_mb(argv: list[str]) -> tuple[float, float]:
    """Run ``argv`` in a child; return (peak RSS in MB, wall seconds)."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak < before:
        raise SystemExit("ru_maxrss went down; run each size in its own process")
    return peak / 1024, seconds


def step_argv(step: str, corpus: Path, work: Path) -> list[str]:
    if step == "vocab":
        return [*TOKVEC, "vocab", str(corpus), "--tokenizer", "whitespace", "--min-count", "5",
                "-o", str(work / "vocab.tsv")]
    if step == "encode":
        tok = work / "tok"
        if not tok.exists():
            subprocess.run([*TOKVEC, "vocab", str(corpus), "--tokenizer", "whitespace",
                            "--min-count", "5", "-o", os.devnull, "--save-tokenizer", str(tok)],
                           check=True, stderr=subprocess.DEVNULL)
        return [*TOKVEC, "tokenizer", "encode", str(tok), "-i", str(corpus), "--ids",
                "-o", str(work / "ids.txt")]
    if step == "train":
        # The same vocabulary at every size: with --min-count 5 alone, 25 repeats of the corpus
        # admit words seen once in it (108k words at 1 GB against 57k at 100 MB), and the tables
        # grow with the vocabulary, not with the corpus.
        return [*TOKVEC, "train", str(corpus), "-o", str(work / "model"), "--tokenizer",
                "whitespace", "--epochs", "1", "--threads", "2", "--max-vocab", "50000"]
    raise SystemExit(f"unknown step {step}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000", help="corpus sizes in MB")
    parser.add_argument("--steps", default="vocab,encode,train")
    parser.add_argument("--_child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:  # measure one step in a fresh process so ru_maxrss is its own
        step, corpus, work = args._child
        rss, seconds = peak_rss_mb(step_argv(step, Path(corpus), Path(work)))
        print(f"{rss:.1f} {seconds:.1f}")
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    steps = args.steps.split(",")
    rows: dict[tuple[str, int], tuple[float, float]] = {}
    for size in sizes:
        corpus = make_corpus(size)
        work = OUT / f"memory_{size}mb"
        work.mkdir(parents=True, exist_ok=True)
        for step in steps:
            out = subprocess.run([sys.executable, __file__, "--_child", step, str(corpus),
                                  str(work)], check=True, capture_output=True, text=True).stdout
            rss, seconds = map(float, out.split())
            rows[(step, size)] = (rss, seconds)
            print(f"  {step:<7} {size:>5} MB corpus: peak RSS {rss:8.1f} MB  ({seconds:.0f} s)",
                  flush=True)
    print(f"\n{'step':<8}" + "".join(f"{f'RSS @ {s} MB':>16}" for s in sizes) + f"{'ratio':>8}")
    for step in steps:
        values = [rows[(step, s)][0] for s in sizes]
        ratio = values[-1] / values[0]
        print(f"{step:<8}" + "".join(f"{v:>13.1f} MB" for v in values) + f"{ratio:>8.3f}")


if __name__ == "__main__":
    main()
