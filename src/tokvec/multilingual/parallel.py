"""Bilingual vectors from a sentence-aligned parallel corpus, in one space by construction.

``train_parallel(SRC, TGT, OUT, config)`` reads two files whose line ``n`` translates each other
and trains the words of both languages with skip-gram negative sampling against one shared
output table, so no dictionary and no ``align`` step is needed. The objective is a sum of parts
(``objective``, joined by ``+``):

- ``sid`` (Levy, Søgaard and Goldberg 2017, "A strong baseline for learning cross-lingual word
  embeddings from sentence alignments"): each line pair is one "sentence id" context; every word
  of either side of line ``n`` predicts it, against noise lines drawn by length ** 0.75. Two
  words that occur in the same verses, whatever their language, get similar vectors.
- ``mono``: ordinary skip-gram within each side (``window``), which gives the vectors the
  monolingual neighbourhoods and helps rare words.
- ``cross`` (Luong, Pham and Manning 2015, "Bilingual word representations with monolingual
  quality in mind"): each word is also predicted by the words of the other side within
  ``cross_window`` of the proportionally aligned position.

The defaults (``sid`` alone, 50 epochs, learning rate 0.1, 15 noise samples, subsampling
1e-4) were the best settings tried on the Bible benchmark of ``docs/multilingual.md``; adding
``mono`` lowered zh-en P@1 there (the monolingual examples outnumber the sentence-id ones).
Training runs the numba kernel :func:`tokvec.multilingual.kernels.parallel_chunk` over chunks
of about ``chunk_words`` tokens on ``threads`` threads (Hogwild), in a new random chunk order
each epoch, with the learning rate decayed linearly to ``min_lr``; the
progress bar and ``training.jsonl`` are those of ``tokvec train``. Each side is encoded as
``tokvec train`` encodes a corpus (same tokenizers, vocabulary order, ``min_count``,
subsampling), except that lines stay aligned: a line left without words stays an empty line.
Lines over 10,000 words are cut to their first 10,000. The result is a ``multilingual``
model directory (source language first), read by ``neighbors --lang``, ``similarity`` and
``evaluate --bli``. There is no checkpoint: an interrupted run writes nothing.

A made-up "language" that is English written with other words, in shuffled order:

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> rng = np.random.default_rng(0)
>>> en = [rng.choice(["cat", "dog", "sun", "sea", "red", "big"], 4) for _ in range(300)]
>>> xx = [rng.permutation([w[::-1] for w in line]) for line in en]   # cat -> tac
>>> _ = (d / "s.xx").write_text("".join(" ".join(x) + "\\n" for x in xx))
>>> _ = (d / "t.en").write_text("".join(" ".join(x) + "\\n" for x in en))
>>> cfg = ParallelConfig(src_lang="xx", tgt_lang="en", dim=16, epochs=20, min_count=1,
...                      sample=0, threads=1)
>>> model = train_parallel(d / "s.xx", d / "t.en", d / "joint", cfg)
>>> model.languages
['xx', 'en']
>>> model.vectors.most_similar("tac", src_lang="xx", lang="en", topn=1)[0][0]
'cat'
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import raise_if_full
from ..errors import TokvecError
from ..modeldir import TRAINING_LOG, base_config
from ..static.config import TOKENIZER_KINDS
from ..static.corpus import count_words
from ..static.engines import init_input
from ..static.interrupt import SIGNAL_NAMES, StopRequest, TrainingInterrupted
from ..static.kernels_w2v import MAX_SENTENCE, chunk_seed
from ..static.progress import TrainingMonitor
from ..static.sampling import alias_table, keep_thresholds, noise_weights
from ..static.trainer import check_finite, chunk_order, remove_work, work_dir_for
from ..static_model import StaticModel
from ..textio import ENCODING_ERRORS, ReadError, open_checked, require_nonempty
from ..tokenization import Tokenizer
from .model import MultilingualModel, check_language

PARTS = ("sid", "mono", "cross")
DEFAULT_OBJECTIVE = "sid"


@dataclass
class ParallelConfig:
    """Settings of :func:`train_parallel` (named like the ``tokvec train-parallel`` flags)."""

    src_lang: str = "src"
    tgt_lang: str = "tgt"
    src_tokenizer: str = "word"
    tgt_tokenizer: str = "word"
    lowercase: bool = False
    objective: str = DEFAULT_OBJECTIVE
    dim: int = 100
    window: int = 5
    cross_window: int = 2
    negative: int = 15
    min_count: int = 3
    sample: float = 1e-4
    noise_power: float = 0.75
    epochs: int = 50
    lr: float = 0.1
    min_lr: float = 1e-4
    threads: int | None = None
    seed: int = 1
    chunk_words: int = 16384
    encoding_errors: str = "strict"
    progress: bool = False
    log_every: float = 5.0

    def parts(self) -> set[str]:
        """The objective's parts, e.g. ``{"sid", "mono"}``."""
        return set(self.objective.split("+"))

    def validate(self) -> ParallelConfig:
        """Raise :class:`TokvecError` on a value that cannot work; return self.

        >>> ParallelConfig(objective="sid+bogus").validate()
        Traceback (most recent call last):
        ...
        tokvec.errors.TokvecError: --objective must join sid, mono, cross with '+', got 'sid+bogus'
        """
        parts = self.objective.split("+")
        if not parts or any(p not in PARTS for p in parts) or len(set(parts)) != len(parts):
            raise TokvecError(f"--objective must join {', '.join(PARTS)} with '+', got "
                              f"{self.objective!r}")
        check_language(self.src_lang)
        check_language(self.tgt_lang)
        if self.src_lang == self.tgt_lang:
            raise TokvecError(f"source and target language are both {self.src_lang!r}; "
                              "a parallel corpus needs two languages")
        for name in ("src_tokenizer", "tgt_tokenizer"):
            if getattr(self, name) not in TOKENIZER_KINDS:
                raise TokvecError(f"--{name.replace('_', '-')} must be one of "
                                  f"{', '.join(TOKENIZER_KINDS)}, got {getattr(self, name)!r}")
        for name in ("dim", "negative", "min_count", "epochs", "chunk_words", "window",
                     "cross_window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TokvecError(f"--{name.replace('_', '-')} must be a positive integer, "
                                  f"got {value!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise TokvecError(f"--threads must be a positive integer, got {self.threads!r}")
        for name in ("lr", "min_lr", "sample", "noise_power"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or (name == "lr" and value == 0):
                raise TokvecError(f"--{name.replace('_', '-')} must be a finite number "
                                  f"{'> 0' if name == 'lr' else '>= 0'}, got {value!r}")
        if self.encoding_errors not in ENCODING_ERRORS:
            raise TokvecError(f"--encoding-errors must be one of {ENCODING_ERRORS}")
        return self

    def resolved(self) -> ParallelConfig:
        """A copy with ``threads`` filled in (all cores)."""
        return dataclasses.replace(self, threads=self.threads or os.cpu_count() or 1)

    def hyperparameters(self) -> dict[str, Any]:
        """What config.json records under ``training`` (run-only settings left out)."""
        skip = {"threads", "progress", "log_every"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}


@dataclass
class _Side:
    """One language of the corpus, encoded: line-aligned ids (int32) and line ends (int64)."""

    tokenizer: Tokenizer
    ids: np.ndarray
    ends: np.ndarray
    counts: np.ndarray
    cut_lines: int

    @property
    def num_tokens(self) -> int:
        return int(self.ids.shape[0])


def count_lines(path: str | os.PathLike[str]) -> int:
    """Lines of a text file (a last line without a newline counts), read as bytes.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
    >>> _ = p.write_bytes(b"a\\n\\nb")
    >>> count_lines(p)
    3
    """
    lines, last = 0, b"\n"
    with open_checked(path) as handle:
        try:
            while block := handle.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
        except ReadError as exc:
            raise exc.at(lines + 1) from None
    return lines + (last != b"\n")


def encode_side(path: Path, work: Path, kind: str, lowercase: bool, min_count: int,
                errors: str = "strict", progress: bool = False) -> _Side:
    """Words of every line as ids of a vocabulary built as ``tokvec train`` builds it."""
    work.mkdir(parents=True, exist_ok=True)
    tokenizer, final = count_words(path, work, kind, lowercase, min_count, None, errors,
                                   progress)
    prov = np.fromfile(work / "prov.u32", dtype=np.uint32)
    lengths = np.fromfile(work / "lines.i32", dtype=np.int32).astype(np.int64)
    for name in ("prov.u32", "lines.i32"):
        (work / name).unlink()
    mapped = final[prov]
    del prov
    line_of = np.repeat(np.arange(lengths.shape[0]), lengths)
    keep = mapped >= 0
    mapped, line_of = mapped[keep], line_of[keep]
    per_line = np.bincount(line_of, minlength=lengths.shape[0])
    cut = int((per_line > MAX_SENTENCE).sum())
    if cut:
        first = np.concatenate([[0], np.cumsum(per_line)[:-1]])
        within = np.arange(mapped.shape[0]) - first[line_of]
        mapped = mapped[within < MAX_SENTENCE]
        per_line = np.minimum(per_line, MAX_SENTENCE)
    if mapped.shape[0] == 0:
        raise TokvecError("no word of the vocabulary occurs in the corpus", path=path)
    tok_counts = np.asarray(tokenizer.counts, dtype=np.int64)
    return _Side(tokenizer, mapped.astype(np.int32), np.cumsum(per_line).astype(np.int64),
                 tok_counts, cut)


def _check_inputs(src: Path, tgt: Path) -> int:
    """Both files readable, non-empty, with as many lines; returns the line count."""
    for path in (src, tgt):
        require_nonempty(path)
    n_src, n_tgt = count_lines(src), count_lines(tgt)
    if n_src != n_tgt:
        raise TokvecError(f"SRC has {n_src:,} lines, TGT has {n_tgt:,}: line N of one must "
                          "translate line N of the other")
    return n_src


def _chunks(side_a: _Side, side_b: _Side, chunk_words: int) -> np.ndarray:
    """Line starts of chunks of about ``chunk_words`` tokens (both sides counted)."""
    both = side_a.ends + side_b.ends
    starts = [0]
    target = chunk_words
    while True:
        i = int(np.searchsorted(both, target, side="left")) + 1
        if i >= both.shape[0]:
            break
        starts.append(i)
        target = int(both[i - 1]) + chunk_words
    starts.append(both.shape[0])
    return np.asarray(starts, dtype=np.int64)


class _Trainer:
    """The tables, sampling tables and the chunk loop of one run."""

    def __init__(self, cfg: ParallelConfig, a: _Side, b: _Side) -> None:
        self.cfg, self.a, self.b = cfg, a, b
        va, vb = a.counts.shape[0], b.counts.shape[0]
        self.offset = va
        lines = a.ends.shape[0]
        self.ids_b = b.ids + np.int32(va)
        words = va + vb
        zeros_a, zeros_b = np.zeros(va), np.zeros(vb)
        self.keep = np.concatenate([keep_thresholds(a.counts, cfg.sample),
                                    keep_thresholds(b.counts, cfg.sample)])
        self.noise_a = alias_table(np.concatenate(
            [noise_weights(a.counts, cfg.noise_power), zeros_b]))
        self.noise_b = alias_table(np.concatenate(
            [zeros_a, noise_weights(b.counts, cfg.noise_power)]))
        length = np.diff(a.ends, prepend=0) + np.diff(b.ends, prepend=0)
        sid_w = np.concatenate([np.zeros(words), noise_weights(length, cfg.noise_power)])
        self.noise_s = alias_table(sid_w)
        self.w_in = init_input(words, cfg.dim, 1.0 / cfg.dim, cfg.seed, 0)
        self.w_in[: a.tokenizer.vocabulary().num_specials] = 0.0
        self.w_in[va: va + b.tokenizer.vocabulary().num_specials] = 0.0
        self.w_out = np.zeros((words + lines, cfg.dim), dtype=np.float32)
        self.sid0 = words
        self.starts = _chunks(a, b, cfg.chunk_words)
        self.per_epoch = a.num_tokens + b.num_tokens
        self.total = self.per_epoch * cfg.epochs
        parts = cfg.parts()
        self.flags = ("sid" in parts, cfg.window if "mono" in parts else 0,
                      cfg.cross_window if "cross" in parts else 0)

    def job(self, epoch: int, chunk: int, pos0: int) -> Callable[[], tuple[float, int]]:
        from .kernels import parallel_chunk

        cfg, a, b = self.cfg, self.a, self.b
        lo, hi = int(self.starts[chunk]), int(self.starts[chunk + 1])
        a0 = int(a.ends[lo - 1]) if lo else 0
        b0 = int(b.ends[lo - 1]) if lo else 0
        ids_a, ends_a = a.ids[a0: a.ends[hi - 1]], a.ends[lo:hi] - a0
        ids_b, ends_b = self.ids_b[b0: b.ends[hi - 1]], b.ends[lo:hi] - b0
        seed = chunk_seed(cfg.seed, epoch, chunk)
        sid, window, cross = self.flags

        def run() -> tuple[float, int]:
            stats = np.zeros(2, dtype=np.float64)
            parallel_chunk(ids_a, ends_a, ids_b, ends_b, lo, self.w_in, self.w_out, self.keep,
                           *self.noise_a, *self.noise_b, *self.noise_s, self.sid0, sid,
                           window, cross, cfg.negative, cfg.lr, cfg.min_lr, pos0, self.total,
                           seed, stats)
            return float(stats[0]), int(stats[1])

        return run

    def chunk_words(self, chunk: int) -> int:
        lo, hi = int(self.starts[chunk]), int(self.starts[chunk + 1])
        a, b = self.a, self.b
        before = (int(a.ends[lo - 1]) + int(b.ends[lo - 1])) if lo else 0
        return int(a.ends[hi - 1]) + int(b.ends[hi - 1]) - before

    def lr_at(self, words_done: int) -> float:
        cfg = self.cfg
        return cfg.lr - (cfg.lr - cfg.min_lr) * (words_done / self.total)

    def run(self, monitor: TrainingMonitor, stop: StopRequest,
            should_stop: Callable[[int], bool] | None = None) -> None:
        cfg = self.cfg
        nchunks = self.starts.shape[0] - 1
        sizes = np.array([self.chunk_words(c) for c in range(nchunks)], dtype=np.int64)
        pool = ThreadPoolExecutor(cfg.threads) if cfg.threads and cfg.threads > 1 else None
        try:
            for epoch in range(cfg.epochs):
                order = chunk_order(nchunks, "shuffled", cfg.seed, epoch)
                slot_start = np.concatenate(([0], np.cumsum(sizes[order])[:-1]))
                pending: dict[Future, int] = {}
                nxt = 0
                while nxt < nchunks or pending:
                    stopping = stop.signum is not None or (
                        should_stop is not None and should_stop(monitor.step))
                    if stopping and not pending:
                        raise _interrupted(stop.signum, monitor.words_done / self.total)
                    while not stopping and nxt < nchunks and len(pending) < (
                            cfg.threads or 1):
                        chunk = int(order[nxt])
                        job = self.job(epoch, chunk, epoch * self.per_epoch
                                       + int(slot_start[nxt]))
                        pending[pool.submit(job) if pool else _now(job)] = chunk
                        nxt += 1
                    done = wait(pending, return_when=FIRST_COMPLETED).done if pending else ()
                    for fut in done:
                        chunk = pending.pop(fut)
                        loss, examples = fut.result()
                        if not math.isfinite(loss):
                            raise TokvecError(f"training diverged: the loss became {loss} "
                                              "(try a lower --lr)")
                        monitor.update(int(sizes[chunk]), loss, examples,
                                       self.lr_at(monitor.words_done), epoch + 1)
                monitor.write_line(epoch + 1, self.lr_at(monitor.words_done))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)


def _now(job: Callable[[], Any]) -> Future:
    fut: Future = Future()
    fut.set_result(job())
    return fut


def _interrupted(signum: int | None, done: float) -> TrainingInterrupted:
    why = SIGNAL_NAMES.get(signum, "stop request") if signum else "stop request"
    return TrainingInterrupted(f"interrupted by {why} at {done:.1%}; train-parallel keeps no "
                               "checkpoint, nothing was written: run the command again to "
                               "start over", signum)


def train_parallel(src_path: str | os.PathLike[str], tgt_path: str | os.PathLike[str],
                   out_dir: str | os.PathLike[str], config: ParallelConfig,
                   should_stop: Callable[[int], bool] | None = None) -> MultilingualModel:
    """Train both languages of a line-aligned corpus into one space; write ``out_dir``.

    SIGINT/SIGTERM (or ``should_stop(chunks_done)`` returning True) stop after the running
    chunks and raise :class:`~tokvec.static.interrupt.TrainingInterrupted`; nothing is written.
    """
    cfg = config.resolved().validate()
    src, tgt, out = Path(src_path), Path(tgt_path), Path(out_dir)
    lines = _check_inputs(src, tgt)
    work = work_dir_for(out)
    shutil.rmtree(work.with_name(f".{work.name}.trash"), ignore_errors=True)
    remove_work(work)
    started = time.perf_counter()
    try:
        work.mkdir(parents=True)
        side_a = encode_side(src, work / "src", cfg.src_tokenizer, cfg.lowercase,
                             cfg.min_count, cfg.encoding_errors, cfg.progress)
        side_b = encode_side(tgt, work / "tgt", cfg.tgt_tokenizer, cfg.lowercase,
                             cfg.min_count, cfg.encoding_errors, cfg.progress)
        prepare = time.perf_counter() - started
        trainer = _Trainer(cfg, side_a, side_b)
        with StopRequest() as stop:
            monitor = TrainingMonitor(work / TRAINING_LOG, trainer.total, bar=cfg.progress,
                                      log_every=cfg.log_every, desc="training parallel")
            try:
                trainer.run(monitor, stop, should_stop)
            finally:
                monitor.close()
        check_finite({"input": trainer.w_in, "output": trainer.w_out}, monitor.step, work)
        seconds = monitor.elapsed
        training = {**cfg.hyperparameters(), "threads": cfg.threads, "source": str(src),
                    "target": str(tgt), "lines": lines,
                    "num_tokens": {cfg.src_lang: side_a.num_tokens,
                                   cfg.tgt_lang: side_b.num_tokens},
                    "cut_lines": {cfg.src_lang: side_a.cut_lines,
                                  cfg.tgt_lang: side_b.cut_lines},
                    "prepare_seconds": round(prepare, 3), "train_seconds": round(seconds, 3),
                    "words_per_s": round(trainer.total / max(seconds, 1e-9), 1),
                    "final_loss": monitor.last_loss}
        model = _model(cfg, side_a, side_b, trainer.w_in, training)
        model.save(out, extra_files={TRAINING_LOG: (work / TRAINING_LOG).read_bytes()})
    except BaseException as exc:
        remove_work(work)
        raise_if_full(exc, out)
        raise
    remove_work(work)
    return model


def _model(cfg: ParallelConfig, a: _Side, b: _Side, table: np.ndarray,
           training: dict[str, Any]) -> MultilingualModel:
    va = a.counts.shape[0]
    parts = {}
    for lang, side, block in ((cfg.src_lang, a, table[:va]), (cfg.tgt_lang, b, table[va:])):
        block = np.array(block, dtype=np.float32)
        block[: side.tokenizer.vocabulary().num_specials] = 0.0
        parts[lang] = StaticModel(side.tokenizer, block)
    config = base_config("multilingual", cfg.dim, method="train-parallel", training=training)
    return MultilingualModel.from_static(parts, config)


__all__ = ["ParallelConfig", "count_lines", "train_parallel"]
