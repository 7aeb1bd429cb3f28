"""``--method glove``: run :func:`tokvec.static.glove.train_glove` on the encoded corpus.

GloVe (co-occurrence counting and AdaGrad on weighted least squares) lives in
:mod:`tokvec.static.glove`; this module feeds it the corpus sentences, turns its reports into
``training.jsonl`` lines and a progress bar, maps SIGINT/SIGTERM to its ``should_stop`` and its
interrupt to :class:`~tokvec.static.interrupt.TrainingInterrupted`. The saved model stores
``W + W~`` as the word vectors (the GloVe paper's choice) and ``W~`` as the ``context`` table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TokvecError
from ..modeldir import TRAINING_LOG
from .config import TrainConfig
from .corpus import EncodedCorpus
from .interrupt import StopRequest, TrainingInterrupted, interrupted_message

_SETTINGS = "glove_settings.json"


def _glove_api() -> tuple[Any, type[BaseException]]:
    try:
        from . import glove
    except ModuleNotFoundError as exc:
        if exc.name == f"{__package__}.glove":
            raise TokvecError("--method glove is not available: tokvec.static.glove is "
                              "missing from this installation") from None
        raise
    return glove.train_glove, getattr(glove, "TrainingInterrupted", KeyboardInterrupt)


def train_glove_model(cfg: TrainConfig, corpus: EncodedCorpus, work: Path, resume: bool,
                      should_stop: Callable[[int], bool] | None
                      ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, Any]]:
    """Train GloVe; return (word vectors W + W~, extra tensors, run statistics)."""
    from tqdm.auto import tqdm

    train_glove, glove_interrupted = _glove_api()
    settings = work / _SETTINGS
    if resume:
        if not settings.is_file():
            raise TokvecError("nothing to resume: no GloVe checkpoint here", path=work)
        if json.loads(settings.read_text(encoding="utf-8")) != cfg.hyperparameters():
            raise TokvecError("cannot resume with different settings", path=settings)
    else:
        settings.write_text(json.dumps(cfg.hyperparameters()), encoding="utf-8")
    started = time.perf_counter()
    bar = tqdm(total=1000, desc="training glove", disable=not cfg.progress, leave=False,
               dynamic_ncols=True)
    reports = {"step": 0, "loss": None}
    log = open(work / TRAINING_LOG, "a", encoding="utf-8")  # noqa: SIM115

    def on_report(row: dict[str, Any]) -> None:
        reports["step"] = int(row.get("step", reports["step"] + 1))
        reports["loss"] = row.get("loss")
        line = {"step": reports["step"], "epoch": row.get("epoch"),
                "progress": row.get("progress"), "loss": row.get("loss"), "lr": row.get("lr"),
                "words_per_s": row.get("words_per_s"), "pairs_per_s": row.get("pairs_per_s"),
                "words_done": None, "elapsed_s": round(time.perf_counter() - started, 3)}
        log.write(json.dumps(line) + "\n")
        log.flush()
        bar.n = int(1000 * float(row.get("progress") or 0.0))
        bar.set_postfix({"loss": row.get("loss"), "lr": row.get("lr")}, refresh=True)

    try:
        with StopRequest() as stop:
            def stop_now() -> bool:
                return stop.signum is not None or (
                    should_stop is not None and should_stop(reports["step"]))

            try:
                w, w_tilde = train_glove(
                    corpus.sentences, corpus.tokenizer.vocab_size, dim=cfg.dim,
                    window=cfg.window, epochs=cfg.epochs, lr=cfg.lr, x_max=cfg.x_max,
                    memory_limit_mb=cfg.memory_mb, threads=cfg.threads,
                    seed=cfg.seed, work_dir=work / "glove", log=on_report,
                    should_stop=stop_now, resume=resume)
            except glove_interrupted:
                raise TrainingInterrupted(interrupted_message(
                    stop.signum, float(bar.n) / 1000, work / "glove"), stop.signum) from None
    finally:
        bar.close()
        log.close()
    seconds = time.perf_counter() - started
    w, w_tilde = np.asarray(w, np.float32), np.asarray(w_tilde, np.float32)
    stats = {"train_seconds": round(seconds, 3), "final_loss": reports["loss"],
             "words_per_s": round(corpus.num_tokens * cfg.epochs / seconds, 1),
             "engine": "glove"}
    return w + w_tilde, {"context": w_tilde.copy()}, stats
