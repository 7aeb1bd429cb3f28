"""Static training end to end: corpus -> engine -> chunks on a thread pool -> model directory.

:func:`train` validates the settings, encodes the corpus once into ``OUTPUT.work/`` (next to the
output directory), trains epoch by epoch over chunks of whole sentences (about ``chunk_words``
tokens each, visited in :func:`chunk_order`) with ``threads`` numba kernels running at once, and
writes a :class:`~tokvec.static_model.StaticModel` directory (``training.jsonl`` included). The
work folder is removed after success.

Interrupts: SIGINT/SIGTERM (or ``should_stop`` returning True) stop submitting chunks, let the
running ones finish, write a checkpoint and raise :class:`TrainingInterrupted`. A checkpoint is
also written every ``checkpoint_every`` minutes. ``resume=True`` continues from the checkpoint:
position, learning rate (a function of the position), RNG (seeded per chunk from the seed and
the position) and tables, so with ``threads=1`` the resumed run ends bit-identical to an
uninterrupted one.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "c.txt").write_text("the cat sat on the mat\\n" * 50)
>>> cfg = TrainConfig(dim=8, min_count=1, epochs=1, threads=1, sample=0)
>>> model = train(d / "c.txt", d / "model", cfg)
>>> model.vectors.words[:3], (d / "model" / "training.jsonl").is_file()
(['the', 'cat', 'mat'], True)
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import full_disk_error, raise_if_full
from ..errors import DiskFull, TokvecError, TrainingDiverged
from ..modeldir import TRAINING_LOG, base_config
from ..static_model import StaticModel
from ..textio import require_nonempty
from .checkpoint import has_checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .corpus import EncodedCorpus, prepare_corpus
from .interrupt import StopRequest, TrainingInterrupted, interrupted_message
from .progress import TrainingMonitor


def work_dir_for(output_dir: str | os.PathLike[str]) -> Path:
    """The work folder beside ``output_dir``: ``OUTPUT.work``."""
    out = Path(output_dir)
    return out.with_name(out.name + ".work")


def train(corpus_path: str | os.PathLike[str], output_dir: str | os.PathLike[str],
          config: TrainConfig, resume: bool = False,
          should_stop: Callable[[int], bool] | None = None) -> StaticModel:
    """Train static vectors; ``should_stop(chunks_done)`` may request a checkpointed stop."""
    cfg = config.resolved()
    corpus_path, out = Path(corpus_path), Path(output_dir)
    work = work_dir_for(out)
    shutil.rmtree(work.with_name(f".{work.name}.trash"), ignore_errors=True)  # a killed clean-up
    require_nonempty(corpus_path)
    _check_device(cfg)
    if cfg.method != "glove":
        if resume and not has_checkpoint(work):
            raise TokvecError("nothing to resume: no checkpoint here (run without --resume to "
                              "start)", path=work)
        if not resume and work.is_dir():
            shutil.rmtree(work / "checkpoint", ignore_errors=True)
            (work / TRAINING_LOG).unlink(missing_ok=True)
    created = not work.exists()
    started = time.perf_counter()
    try:
        corpus = prepare_corpus(corpus_path, work, cfg.min_count, cfg.max_vocab, cfg.tokenizer,
                                cfg.lowercase, cfg.encoding_errors, cfg.progress)
    except BaseException as exc:
        if created:
            shutil.rmtree(work, ignore_errors=True)
        raise_if_full(exc, work)
        raise
    prepare_seconds = time.perf_counter() - started
    try:
        if cfg.method == "glove":
            from .glove_bridge import train_glove_model

            vectors, extra, stats = train_glove_model(cfg, corpus, work, resume, should_stop)
        else:
            vectors, extra, stats = _train_sgd(cfg, corpus, work, resume, should_stop)
        stats["prepare_seconds"] = round(prepare_seconds, 3)
        return _save(cfg, corpus_path, corpus, out, work, vectors, extra, stats)
    except Exception as exc:
        full = full_disk_error(exc, out)
        if full is None:
            raise
        if has_checkpoint(work):
            raise DiskFull(full.path, f"; the checkpoint in {work} is kept: free some space "
                                      "and run again with --resume") from None
        remove_work(work)
        raise full from None



def _make_engine(cfg: TrainConfig, corpus: EncodedCorpus) -> Any:
    vocab = corpus.tokenizer.vocabulary()
    total = corpus.num_tokens * int(cfg.epochs or 1)
    gpu_method = cfg.method in ("sgns", "cbow")
    use_torch = cfg.engine == "torch" or (cfg.engine == "auto" and cfg.device != "cpu"
                                          and gpu_method and _cuda_available(cfg.device))
    if use_torch:
        from .torch_engine import TorchEngine

        device = cfg.device
        if device == "auto":
            device = "cuda" if _cuda_available("auto") else "cpu"
        return TorchEngine(cfg, corpus.counts, total, vocab.num_specials, device)
    from .engines import NumbaEngine

    return NumbaEngine(cfg, corpus.counts, total, vocab.tokens, vocab.num_specials)


def _check_device(cfg: TrainConfig) -> None:
    """Refuse device/engine choices that cannot work, before anything is written."""
    gpu_method = cfg.method in ("sgns", "cbow")
    if (cfg.device.startswith("cuda") or cfg.engine == "torch") and not gpu_method:
        raise TokvecError(f"the GPU (torch) path trains sgns and cbow, not {cfg.method}; "
                          "use --device cpu")
    if cfg.device.startswith("cuda") and not _cuda_available(cfg.device):
        raise TokvecError(f"--device {cfg.device}: no CUDA device is available")


def _cuda_available(device: str) -> bool:
    """True when torch sees a GPU; torch is imported only when a GPU driver is present."""
    if device == "auto" and not (os.path.exists("/proc/driver/nvidia")
                                 or os.path.exists("/dev/nvidia0")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _train_sgd(cfg: TrainConfig, corpus: EncodedCorpus, work: Path, resume: bool,
               should_stop: Callable[[int], bool] | None) -> tuple[Any, dict, dict]:
    engine = _make_engine(cfg, corpus)
    state: dict[str, Any] = {"epoch": 0, "chunk": 0, "words_done": 0, "step": 0,
                             "elapsed_s": 0.0}
    log_path = work / TRAINING_LOG
    if resume:
        tables, saved = load_checkpoint(work)
        _check_same(cfg, corpus, saved, work)
        engine.load_tables(tables)
        state.update({k: saved[k] for k in state})
        with open(log_path, "a+b") as handle:
            # Cut the lines written after the checkpoint; never pad a shorter log with NULs.
            handle.truncate(min(int(saved.get("log_bytes", 0)), handle.seek(0, os.SEEK_END)))
    tok, sent = corpus.chunk_bounds(cfg.chunk_words)
    with StopRequest() as stop:
        monitor = TrainingMonitor(log_path, corpus.num_tokens * cfg.epochs, state["words_done"],
                                  state["step"], state["elapsed_s"], bar=cfg.progress,
                                  log_every=cfg.log_every, desc=f"training {cfg.method}")
        try:
            _Loop(cfg, corpus, engine, monitor, tok, sent, work, should_stop).run(
                state["epoch"], state["chunk"], stop)
        finally:
            monitor.close()
            engine.close()
    tables = engine.tables()
    check_finite(tables, monitor.step, work)
    extra = {"context": np.array(tables["output"]), **engine.subword_tensors()}
    seconds = monitor.elapsed
    words = corpus.num_tokens * cfg.epochs
    stats = {"train_seconds": round(seconds, 3), "words_per_s": round(words / seconds, 1),
             "final_loss": monitor.last_loss, "engine": type(engine).__name__}
    return engine.word_vectors(), extra, stats


def _check_same(cfg: TrainConfig, corpus: EncodedCorpus, saved: dict[str, Any],
                work: Path) -> None:
    now, then = cfg.hyperparameters(), saved.get("hyperparameters", {})
    changed = sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))
    if changed:
        detail = ", ".join(f"{k}: {then.get(k)!r} -> {now.get(k)!r}" for k in changed)
        raise TokvecError(f"cannot resume with different settings ({detail})", path=work)
    meta = json.loads((corpus.directory / "meta.json").read_text(encoding="utf-8"))
    if saved.get("fingerprint") != meta["fingerprint"]:
        raise TokvecError("cannot resume: the corpus changed since the checkpoint", path=work)


def check_finite(tables: dict[str, np.ndarray], step: int, work: Path) -> None:
    """Raise :class:`TrainingDiverged` if a table holds NaN or infinite values."""
    for name, table in tables.items():
        if not np.isfinite(table).all():
            raise diverged(f"the {name} table holds NaN or infinite values", step, work)


def diverged(problem: str, step: int, work: Path) -> TrainingDiverged:
    """The error for a run whose numbers broke; names the checkpoint that is still good."""
    ckpt = work / "checkpoint"
    return TrainingDiverged(problem, step, f"the last good checkpoint in {ckpt}"
                            if has_checkpoint(work) else None)


def _zero_specials(table: np.ndarray, corpus: EncodedCorpus) -> np.ndarray:
    table[: corpus.tokenizer.vocabulary().num_specials] = 0.0
    return table


class _Loop:
    """The epoch/chunk loop: submission, results, checkpoints and stop requests."""

    def __init__(self, cfg: TrainConfig, corpus: EncodedCorpus, engine: Any,
                 monitor: TrainingMonitor, tok: np.ndarray, sent: np.ndarray, work: Path,
                 should_stop: Callable[[int], bool] | None) -> None:
        self.cfg, self.corpus, self.engine, self.monitor = cfg, corpus, engine, monitor
        self.tok, self.sent, self.work = tok, sent, work
        self.should_stop = should_stop
        self.nchunks = len(tok) - 1
        self.total = corpus.num_tokens * cfg.epochs
        self.sizes = np.diff(np.asarray(tok, dtype=np.int64))
        self.order = self.slot_start = np.zeros(0, dtype=np.int64)  # set per epoch by run()

    def lr_at(self, words_done: int) -> float:
        cfg = self.cfg
        return cfg.lr - (cfg.lr - cfg.min_lr) * (words_done / self.total)

    def _start_epoch(self, epoch: int) -> None:
        """Fix this epoch's chunk order and where each slot starts in the lr schedule."""
        self.order = chunk_order(self.nchunks, self.cfg.chunk_order, self.cfg.seed, epoch)
        self.slot_start = np.concatenate(([0], np.cumsum(self.sizes[self.order])[:-1]))

    def _job(self, epoch: int, slot: int) -> Callable[[], tuple[float, int]]:
        from .kernels_w2v import chunk_seed

        chunk = int(self.order[slot])
        ids, ends = self.corpus.chunk(self.tok, self.sent, chunk)
        pos0 = epoch * self.corpus.num_tokens + int(self.slot_start[slot])
        seed = chunk_seed(self.cfg.seed, epoch, chunk)
        return lambda: self.engine.run(ids, ends, pos0, seed)

    def run(self, epoch: int, chunk: int, stop: StopRequest) -> None:
        cfg, monitor = self.cfg, self.monitor
        pool = ThreadPoolExecutor(cfg.threads) if cfg.threads > 1 else None
        every = cfg.checkpoint_every * 60.0
        last_ckpt = time.perf_counter()
        try:
            while epoch < cfg.epochs:
                self._start_epoch(epoch)
                pending: dict[Future, int] = {}
                nxt = chunk
                while nxt < self.nchunks or pending:
                    stopping = stop.signum is not None or (
                        self.should_stop is not None and self.should_stop(monitor.step))
                    due = every > 0 and time.perf_counter() - last_ckpt >= every
                    if (stopping or due) and not pending:
                        self._checkpoint(epoch, nxt)
                        last_ckpt = time.perf_counter()
                        if stopping:
                            raise self._interrupted(stop.signum)
                        due = False  # the interval restarts now: train before saving again
                    if not (stopping or due):
                        while nxt < self.nchunks and (
                                (pool is None and not pending) or len(pending) < cfg.threads):
                            job = self._job(epoch, nxt)
                            pending[pool.submit(job) if pool else _done(job)] = nxt
                            nxt += 1
                    done = wait(pending, return_when=FIRST_COMPLETED).done if pending else ()
                    for fut in done:
                        slot = pending.pop(fut)
                        loss, examples = fut.result()
                        if not math.isfinite(loss):
                            raise diverged(f"the loss became {loss}", monitor.step + 1,
                                           self.work)
                        words = int(self.sizes[self.order[slot]])
                        monitor.update(words, loss, examples, self.lr_at(monitor.words_done),
                                       epoch + 1)
                epoch, chunk = epoch + 1, 0
                monitor.write_line(epoch, self.lr_at(monitor.words_done))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    def _checkpoint(self, epoch: int, chunk: int) -> None:
        self.monitor.write_line(epoch + 1, self.lr_at(self.monitor.words_done))
        if chunk >= self.nchunks:
            epoch, chunk = epoch + 1, 0
        meta = json.loads((self.corpus.directory / "meta.json").read_text(encoding="utf-8"))
        state = {"epoch": epoch, "chunk": chunk, "words_done": self.monitor.words_done,
                 "step": self.monitor.step, "elapsed_s": self.monitor.elapsed,
                 "log_bytes": self.monitor.log_size(),
                 "hyperparameters": self.cfg.hyperparameters(),
                 "fingerprint": meta["fingerprint"],
                 "rng": "xorshift64* per chunk, seeded by splitmix64(seed, epoch, chunk)",
                 "order": "chunk = the epoch's permutation (seed, epoch) at slot 'chunk'"}
        tables = self.engine.tables()
        check_finite(tables, self.monitor.step, self.work)
        save_checkpoint(self.work, tables, state)

    def _interrupted(self, signum: int | None) -> TrainingInterrupted:
        done = self.monitor.words_done / max(self.total, 1)
        return TrainingInterrupted(
            interrupted_message(signum, done, self.work / "checkpoint"), signum)


def chunk_order(nchunks: int, how: str, seed: int, epoch: int) -> np.ndarray:
    """The order in which one epoch visits the corpus chunks.

    ``"shuffled"`` is a random permutation drawn from ``(seed, epoch)``: a new one each epoch,
    the same one again on resume. ``"file"`` reads the chunks front to back, as word2vec and
    gensim read a corpus. Shuffling matters when a corpus is several sources one after another:
    the learning rate decays to almost zero, so in file order the sources read last shape the
    vectors most (on the benchmark corpus, which ends with WordNet glosses and nlp-corpus, file
    order scored WordSim-353 0.077 lower for fasttext and 0.020 lower for skip-gram; see
    docs/static-benchmark.md).

    >>> chunk_order(6, "shuffled", 1, 0).tolist() != chunk_order(6, "shuffled", 1, 1).tolist()
    True
    >>> sorted(chunk_order(6, "shuffled", 1, 0).tolist()), chunk_order(4, "file", 1, 0).tolist()
    ([0, 1, 2, 3, 4, 5], [0, 1, 2, 3])
    """
    if how == "file":
        return np.arange(nchunks)
    return np.random.default_rng([seed, epoch, 0x5EED]).permutation(nchunks)


def _done(job: Callable[[], Any]) -> Future:
    """Run ``job`` now (one thread: deterministic order) and wrap its result as a future."""
    fut: Future = Future()
    fut.set_result(job())
    return fut


def _save(cfg: TrainConfig, corpus_path: Path, corpus: EncodedCorpus, out: Path, work: Path,
          vectors: np.ndarray, extra: dict[str, np.ndarray], stats: dict[str, Any]
          ) -> StaticModel:
    vectors = _zero_specials(np.asarray(vectors, dtype=np.float32), corpus)
    extra = {**extra, "counts": corpus.counts}
    if "context" in extra:
        extra["context"] = _zero_specials(np.array(extra["context"], np.float32), corpus)
    training = {**cfg.hyperparameters(), "threads": cfg.threads, "device": cfg.device,
                "corpus": str(corpus_path), "num_tokens": corpus.num_tokens,
                "num_sentences": corpus.num_sentences, "vocab_size": corpus.tokenizer.vocab_size,
                **stats}
    extra_cfg: dict[str, Any] = {}
    subwords = None
    if cfg.method == "fasttext":
        from .subwords import SubwordVectors

        extra_cfg["subwords"] = {"minn": cfg.minn, "maxn": cfg.maxn, "buckets": cfg.buckets}
        subwords = SubwordVectors.from_model_parts(extra_cfg["subwords"], corpus.tokenizer,
                                                   vectors, extra)
    config = base_config("static", cfg.dim, method=cfg.method, training=training, **extra_cfg)
    model = StaticModel(corpus.tokenizer, vectors, config, extra, subwords)
    log = work / TRAINING_LOG
    model.save(out, {TRAINING_LOG: log.read_bytes()} if log.is_file() else None)
    remove_work(work)
    return model


def remove_work(work: Path) -> None:
    """Delete the work folder so that a kill midway leaves it whole or gone, never half.

    It is renamed to a hidden name first (one atomic step) and deleted from there; a leftover
    from an earlier kill is deleted too.
    """
    trash = work.with_name(f".{work.name}.trash")
    shutil.rmtree(trash, ignore_errors=True)
    if work.exists():
        os.replace(work, trash)
        shutil.rmtree(trash, ignore_errors=True)


__all__ = ["TrainConfig", "TrainingInterrupted", "train", "work_dir_for"]
