"""The fine-tuning loop: optimisers, learning-rate schedule, early stopping, checkpoints, resume.

Each epoch shuffles the training set (seeded by ``seed`` and the epoch number, so a resumed run
sees the same order), trains, and scores the dev set; ``training.jsonl`` gets one line per epoch.
After an epoch, and at most every ``checkpoint_interval`` seconds (default 30; 0: after every
epoch), the task directory is brought up to date atomically: the best weights so far by dev
macro-F1, and ``checkpoint/`` with the latest state (weights, optimizer moments, random state), so
``resume=True`` continues an interrupted run exactly from there. (Short epochs would otherwise
spend more time writing a large table than training it.) The first epoch is always saved.
Training stops after ``patience`` epochs without improvement; the final directory holds the best
weights, and the checkpoint is removed.

After training, the best weights get a softmax temperature fitted on the dev set
(:mod:`tokvec.classify.calibration`; ``calibrate=False`` leaves T = 1): it is stored under
``"calibration"`` in ``config.json``, logged in the closing line of ``training.jsonl``, and the
dev (and test) scores in ``metrics.json`` gain ``ece`` and ``log_loss`` with and without it.
It is computed from the best weights alone, so a resumed run fits the same temperature.

Optimisers and the learning-rate schedule (constant, linear or cosine after a linear warm-up)
live in :mod:`tokvec.classify.optim`.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ..atomic import atomic_dir, atomic_file, write_json
from ..errors import TokvecError, TrainingDiverged
from ..modeldir import METRICS, TRAINING_LOG
from .base import load_start
from .calibration import fit_calibration, uncalibrated
from .checkpoint import load_checkpoint, read_state, save_checkpoint
from .config import FinetuneConfig
from .data import LabelledData, LabelMap, check_classes, read_labelled
from .features import Encoded, batch_order
from .heads import StaticClassifier
from .languages import joint_config
from .metrics import class_balance, classification_report, probability_report
from .model import TaskModel
from .optim import lr_factor, make_optimizers

CHECKPOINT = "checkpoint"
Log = Callable[[str], None] | None


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _warn_truncated(data: LabelledData, enc: Encoded, max_len: int | None, log: Log) -> None:
    if not enc.truncated or log is None:
        return
    first = enc.truncated[0]
    log(f"{data.path}:{data.lines[first]}: text has {enc.lengths[first]} tokens, more than the "
        f"window of {max_len}; kept the first {max_len} ({len(enc.truncated)} text(s) in this "
        "file cut the same way)")


class _Run:
    """Bookkeeping of one run: log lines, best score, counters."""

    def __init__(self, output: Path, log: Log) -> None:
        self.output = output
        self.log = log
        self.records: list[dict[str, Any]] = []
        self.best_f1 = -1.0
        self.best_epoch = 0
        self.bad_epochs = 0
        self.epoch = 0
        self.step = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.touched: dict[str, torch.Tensor] = {}
        self.best_report: dict[str, Any] = {}
        self.best_unsaved = False
        self.last_save: float | None = None

    def track_rows(self, model: TaskModel) -> None:
        """Start recording which rows of the trainable static tables training touches."""
        net = model.network
        if not isinstance(net, StaticClassifier):
            return
        tables = {"embed.weight": net.embed.weight}
        if net.bigram_embed is not None:
            tables["bigram_embed.weight"] = net.bigram_embed.weight
        for name, weight in tables.items():
            if weight.requires_grad and name not in self.touched:
                self.touched[name] = torch.zeros(weight.shape[0], dtype=torch.bool)

    def touch(self, batch: Any) -> None:
        if "embed.weight" in self.touched:
            self.touched["embed.weight"][batch.ids.flatten().cpu()] = True
        if "bigram_embed.weight" in self.touched and batch.bigrams is not None:
            self.touched["bigram_embed.weight"][batch.bigrams.flatten().cpu()] = True

    def rows(self) -> dict[str, torch.Tensor]:
        return {k: v.nonzero().squeeze(1) for k, v in self.touched.items()}

    def log_text(self) -> str:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.records)

    def loop_state(self, cfg: FinetuneConfig) -> dict[str, Any]:
        return {"epoch": self.epoch, "step": self.step, "best_f1": self.best_f1,
                "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs,
                "config": cfg.to_dict()}


def _data_summary(train: LabelledData, dev: LabelledData, test: LabelledData | None,
                  encoded: dict[str, Encoded]) -> dict[str, Any]:
    files = {"train": train, "dev": dev, **({"test": test} if test else {})}
    return {"files": {k: {"path": v.path, "examples": len(v)} for k, v in files.items()},
            "class_balance": {k: class_balance(v.labels) for k, v in files.items()},
            "truncated": {k: len(e.truncated) for k, e in encoded.items()}}


def _check_output(out: Path, base: str, resume: bool) -> None:
    """Refuse to replace something that is not a model directory, or the base itself."""
    if out.exists() and not out.is_dir():
        raise TokvecError("the output exists and is a file, not a task directory", path=out)
    if resume:
        return
    if out.is_dir() and any(out.iterdir()) and not (out / "config.json").is_file():
        raise TokvecError("the output directory exists and is not a model directory; refusing "
                          "to replace it (choose a new path)", path=out)
    if base != "none" and Path(base).exists() and out.exists() and out.resolve() == Path(
            base).resolve():
        raise TokvecError("the output would replace the base model; choose another path",
                          path=out)


def finetune(base: str, output: str | os.PathLike[str], train_path: str | os.PathLike[str],
             dev_path: str | os.PathLike[str], test_path: str | os.PathLike[str] | None = None,
             config: FinetuneConfig | None = None, resume: bool = False,
             progress: bool = False, errors: str = "strict", log: Log = _stderr,
             on_epoch: Callable[[dict[str, Any]], None] | None = None) -> TaskModel:
    """Train a classifier from ``base`` on labelled TSV files; write the task directory.

    ``base`` is "none", a static, multilingual or contextual model directory, or a vector
    file; a multilingual base needs ``config.language`` and keeps its table frozen
    (:mod:`tokvec.classify.languages`). With
    ``resume=True`` the settings come from ``output``'s checkpoint (``config`` is ignored).
    Returns the model with the best dev weights; ``metrics.json`` holds dev and test scores.
    """
    out = Path(output)
    _check_output(out, base, resume)
    train = read_labelled(train_path, errors)
    dev = read_labelled(dev_path, errors)
    test = read_labelled(test_path, errors) if test_path is not None else None
    check_classes(train)
    label_map = LabelMap.from_labels(train.labels)
    y_train = torch.from_numpy(label_map.encode(train.labels, train.path, train.lines))
    label_map.encode(dev.labels, dev.path, dev.lines)
    if test is not None:
        label_map.encode(test.labels, test.path, test.lines)
    run = _Run(out, log)
    if resume:
        saved = read_state(out / CHECKPOINT)
        cfg = FinetuneConfig.from_dict(saved["config"]).resolved()
        model = TaskModel.load(out)
        if model.labels != label_map.labels:
            raise TokvecError(f"the training labels ({', '.join(label_map.labels)}) differ from "
                              f"the checkpoint's ({', '.join(model.labels)})", path=train.path)
        model.network.train()
        model.set_trainable(cfg)
    else:
        cfg = (joint_config(base, config or FinetuneConfig(), log)).resolved()
        torch.manual_seed(cfg.seed)
        start = load_start(base, train.texts, cfg.head, bool(cfg.train_embeddings), cfg.dim,
                           cfg.tokenizer, cfg.lowercase, cfg.min_count, cfg.extend_vocab,
                           cfg.seed, progress, cfg.language)
        model = TaskModel.build(start, label_map.labels, cfg)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if torch.cuda.is_available() and cfg.head == "encoder":
        model.to("cuda")
    enc = {"train": model.featurizer.encode(train.texts), "dev": model.featurizer.encode(dev.texts)}
    if test is not None:
        enc["test"] = model.featurizer.encode(test.texts)
    for name, data in (("train", train), ("dev", dev), ("test", test)):
        if data is not None:
            _warn_truncated(data, enc[name], model.featurizer.max_len, log)
    optimizers = make_optimizers(model.network, cfg)
    summary = _data_summary(train, dev, test, enc)
    if resume:
        best = TaskModel.load(out)  # before the random state is restored: building draws from it
        run.best_state = {k: v.clone() for k, v in best.network.state_dict().items()}
        state = load_checkpoint(out / CHECKPOINT, model.network, optimizers)
        run.track_rows(model)
        for name, idx in state.get("rows", {}).items():
            if name in run.touched:
                run.touched[name][idx] = True
        run.epoch, run.step = int(state["epoch"]), int(state["step"])
        run.best_f1, run.best_epoch = float(state["best_f1"]), int(state["best_epoch"])
        run.bad_epochs = int(state["bad_epochs"])
        # Epochs logged after the checkpoint are trained again: drop their lines.
        run.records = [r for r in _read_log(out / TRAINING_LOG)
                       if r.get("event") in ("start", "resume")
                       or (r.get("event") == "epoch" and int(r["epoch"]) <= run.epoch)]
        run.best_report = best.metrics.get("dev", {})
        run.records.append({"event": "resume", "epoch": run.epoch, "step": run.step})
    else:
        run.records.append({"event": "start", "config": cfg.to_dict(),
                            "labels": label_map.labels, **summary,
                            "vocabulary": model.config.get("vocabulary", {}),
                            "base": model.config.get("base", {})})
        if log is not None:
            bal = ", ".join(f"{k} {v['count']} ({v['proportion']:.1%})"
                            for k, v in summary["class_balance"]["train"].items())
            log(f"training data: {len(train)} examples, {len(label_map)} classes: {bal}")
    run.track_rows(model)
    _train_loop(model, cfg, run, enc, y_train, dev, optimizers, len(train), progress, on_epoch)
    return _finish(model, run, cfg, dev, test, enc)


def _train_loop(model: TaskModel, cfg: FinetuneConfig, run: _Run, enc: dict[str, Encoded],
                y_train: torch.Tensor, dev: LabelledData,
                optimizers: list[torch.optim.Optimizer], n_train: int, progress: bool,
                on_epoch: Callable[[dict[str, Any]], None] | None) -> None:
    from tqdm.auto import tqdm

    assert cfg.epochs is not None and cfg.batch_size is not None and cfg.lr is not None
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    base_lrs = [[cfg.lr * group.get("lr_scale", 1.0) for group in opt.param_groups]
                for opt in optimizers]
    sparse_ids = ({id(p) for p in model.network.embedding_parameters()}
                  if isinstance(model.network, StaticClassifier) else set())
    dense = [p for p in model.network.parameters()
             if p.requires_grad and id(p) not in sparse_ids]
    y_train = y_train.to(model.device)
    lengths = [len(x) for x in enc["train"].ids]
    bar = tqdm(total=n_train * cfg.epochs, initial=run.epoch * n_train,
               unit="ex", desc="finetune", disable=not progress, leave=False,
               dynamic_ncols=True, file=sys.stderr)
    last_dev = ""
    try:
        while run.epoch < cfg.epochs and run.bad_epochs < (cfg.patience or cfg.epochs):
            epoch = run.epoch + 1
            model.network.train()
            rng = np.random.default_rng([cfg.seed, epoch])
            loss_sum, seen, started = 0.0, 0, time.perf_counter()
            for idx in batch_order(lengths, cfg.batch_size, rng):
                factor = lr_factor(run.step, total_steps, str(cfg.schedule), cfg.warmup or 0.0)
                for opt, lrs in zip(optimizers, base_lrs, strict=True):
                    for group, lr in zip(opt.param_groups, lrs, strict=True):
                        group["lr"] = lr * factor
                batch = model.make_batch(enc["train"], idx)
                run.touch(batch)
                logits = model.network(batch)
                loss = F.cross_entropy(logits, y_train[torch.from_numpy(idx).to(model.device)])
                if not bool(torch.isfinite(loss)):
                    _diverged(run, float(loss.detach()))
                for opt in optimizers:
                    opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip and dense:
                    torch.nn.utils.clip_grad_norm_(dense, cfg.grad_clip)
                for opt in optimizers:
                    opt.step()
                run.step += 1
                loss_sum += float(loss.detach()) * len(idx)
                seen += len(idx)
                bar.update(len(idx))
                bar.set_postfix_str(f"epoch {epoch} loss {loss_sum / seen:.4f}{last_dev}",
                                    refresh=False)
            seconds = time.perf_counter() - started
            report = classification_report(dev.labels, _predict(model, enc["dev"]), model.labels)
            run.epoch = epoch
            record = {"event": "epoch", "epoch": epoch, "step": run.step,
                      "loss": round(loss_sum / max(seen, 1), 6),
                      "dev_accuracy": round(report["accuracy"], 6),
                      "dev_macro_f1": round(report["macro_f1"], 6),
                      "lr": optimizers[0].param_groups[0]["lr"],
                      "examples_per_s": round(seen / max(seconds, 1e-9), 1),
                      "seconds": round(seconds, 3)}
            improved = report["macro_f1"] > run.best_f1
            record["best"] = improved
            run.records.append(record)
            last_dev = f" dev_f1 {report['macro_f1']:.4f}"
            if improved:
                run.best_f1, run.best_epoch, run.bad_epochs = report["macro_f1"], epoch, 0
                run.best_state = {k: v.detach().clone()
                                  for k, v in model.network.state_dict().items()}
                run.best_report, run.best_unsaved = _short(report), True
            else:
                run.bad_epochs += 1
            # The log before the checkpoint: lines past the checkpoint are dropped on resume,
            # while a checkpoint ahead of its log line would lose that line for good.
            _write_log(run)
            now = time.perf_counter()
            if run.last_save is None or now - run.last_save >= cfg.checkpoint_interval:
                if run.best_unsaved:
                    _write_all(model, run, cfg, optimizers, {"dev": run.best_report})
                else:
                    save_checkpoint(run.output / CHECKPOINT, model.network, optimizers,
                                    run.loop_state(cfg), run.rows())
                run.last_save, run.best_unsaved = time.perf_counter(), False
            if run.log is not None:
                line = (f"epoch {epoch}: loss {record['loss']:.4f} dev accuracy "
                        f"{record['dev_accuracy']:.4f} macro-F1 {record['dev_macro_f1']:.4f} "
                        f"({record['examples_per_s']:.0f} ex/s){' *' if improved else ''}")
                if progress:
                    bar.write(line, file=sys.stderr)
                else:
                    run.log(line)
            if on_epoch is not None:
                on_epoch(record)
    finally:
        bar.close()


def _diverged(run: _Run, loss: float) -> None:
    """Stop before a non-finite loss reaches the weights; the last save stays as it was."""
    try:
        epoch = read_state(run.output / CHECKPOINT).get("epoch")
        kept: str | None = f"the task directory {run.output} as saved after epoch {epoch}"
    except TokvecError:
        kept = None
    raise TrainingDiverged(f"the loss became {loss}", run.step + 1, kept)


def _predict(model: TaskModel, encoded: Encoded) -> list[str]:
    logits = model.logits_encoded(encoded)
    return [model.labels[i] for i in logits.argmax(1)]


def _short(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in ("examples", "accuracy", "macro_f1", "per_class", "labels",
                                   "confusion")}


def _write_all(model: TaskModel, run: _Run, cfg: FinetuneConfig,
               optimizers: list[torch.optim.Optimizer] | None,
               metrics: dict[str, Any]) -> None:
    """Rewrite the whole task directory atomically: the best weights, and (while training) a
    checkpoint of the current ones."""
    current = None
    if run.best_state is not None:
        current = {k: v.detach().clone() for k, v in model.network.state_dict().items()}
        model.network.load_state_dict(run.best_state)
    with atomic_dir(run.output) as tmp:
        try:
            model.write_files(tmp)
        finally:
            if current is not None:
                model.network.load_state_dict(current)
        write_json(tmp / METRICS, metrics)
        (tmp / TRAINING_LOG).write_text(run.log_text(), encoding="utf-8")
        if optimizers is not None:
            save_checkpoint(tmp / CHECKPOINT, model.network, optimizers, run.loop_state(cfg),
                            run.rows())


def _write_log(run: _Run) -> None:
    with atomic_file(run.output / TRAINING_LOG, "w") as handle:
        handle.write(run.log_text())


def _read_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def _finish(model: TaskModel, run: _Run, cfg: FinetuneConfig, dev: LabelledData,
            test: LabelledData | None, enc: dict[str, Encoded]) -> TaskModel:
    """Restore the best weights, fit the temperature on dev, score dev and test, write the
    final directory."""
    if run.best_state is not None:
        model.network.load_state_dict(run.best_state)
    model.network.eval()
    index = {label: i for i, label in enumerate(model.labels)}
    logits = {"dev": model.logits_encoded(enc["dev"])}
    gold = {"dev": np.array([index[x] for x in dev.labels], dtype=np.int64)}
    if test is not None:
        logits["test"] = model.logits_encoded(enc["test"])
        gold["test"] = np.array([index[x] for x in test.labels], dtype=np.int64)
    if cfg.calibrate:
        model.config["calibration"] = fit_calibration(logits["dev"], gold["dev"], "dev")
    else:
        model.config["calibration"] = uncalibrated("calibrate=False (--no-calibrate)")
    temperature = model.temperature
    metrics: dict[str, Any] = {"best_epoch": run.best_epoch,
                               "calibration": dict(model.config["calibration"])}
    for name, data in (("dev", dev), ("test", test)):
        if data is None:
            continue
        predicted = [model.labels[i] for i in logits[name].argmax(1)]
        metrics[name] = {**_short(classification_report(data.labels, predicted, model.labels)),
                         **probability_report(logits[name], gold[name], temperature)}
    stopped = "early stopping" if run.bad_epochs >= (cfg.patience or cfg.epochs or 1) else "epochs"
    calibration = model.config["calibration"]
    run.records.append({"event": "end", "best_epoch": run.best_epoch, "epochs": run.epoch,
                        "stopped_by": stopped, "dev_macro_f1": metrics["dev"]["macro_f1"],
                        **({"test_accuracy": metrics["test"]["accuracy"],
                            "test_macro_f1": metrics["test"]["macro_f1"]} if test else {}),
                        "temperature": temperature, "calibration": calibration["method"],
                        **({"dev_nll_before": calibration["dev_nll_before"],
                            "dev_nll_after": calibration["dev_nll_after"]}
                           if "dev_nll_before" in calibration else {}),
                        **({"test_ece": metrics["test"]["ece"],
                            "test_ece_uncalibrated": metrics["test"]["ece_uncalibrated"]}
                           if test else {})})
    _write_all(model, run, cfg, None, metrics)  # the new directory has no checkpoint/
    model.metrics = metrics
    return model
