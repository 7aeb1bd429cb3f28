"""Training a translation model: ``train_seq2seq(pairs, output, config)``.

One or more aligned ``(source file, target file)`` pairs train one model (several source
languages share the vocabulary and the table). The joint subword tokenizer (or one per side) is
learned on the training text; pairs become length-bucketed batches of about ``batch_tokens``
target tokens (:mod:`~tokvec.seq2seq.data`). The loss is label-smoothed cross-entropy per target
token; the optimizer is Adam (0.9, 0.98) with the Transformer paper's inverse-square-root
warm-up, or AdamW with linear or cosine decay; gradients are clipped and can be accumulated.

With dev files, every ``eval_every`` steps the dev loss and greedy dev BLEU are logged; with
``patience`` the run stops after that many evaluations without improvement of ``metric`` and the
best weights are kept. ``average_last K`` saves the mean of the last K snapshots (taken at each
evaluation point). Like ``tokvec pretrain``: ``training.jsonl``, checkpoints on a timer and on
SIGINT/SIGTERM, ``resume=True`` (bit-identical with one thread), ``max_minutes``, unchanged under
``torchrun`` (DDP), on a GPU when one is present.

Example (a tiny run)::

    train_seq2seq([("train.es", "train.en")], "model",
                  {"d_model": 64, "heads": 2, "ffn": 128, "steps": 50})
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..contextual.checkpoint import (
    CHECKPOINT,
    read_checkpoint,
    restore_optimizer,
    save_checkpoint,
    step_seed,
)
from ..contextual.distributed import DistContext, init_distributed
from ..contextual.optim import lr_factor, make_adamw, param_groups, set_lr
from ..contextual.precision import training_autocast
from ..contextual.pretrain import WORK, TrainingLog, stop_signals
from ..contextual.pretrain import _remove_work as remove_work
from ..errors import TokvecError, TrainingDiverged
from ..modeldir import TRAINING_LOG
from ..tokenization import Tokenizer
from .config import Seq2SeqConfig, resolve_config
from .data import EncodedPairs, TokenBatches, encode_pairs, pad_batch, read_parallel, segment
from .decode import DecodeOptions, decode_all
from .pretrained import describe_coverage, init_table_from_vectors
from .translator import TranslationModel
from .warmstart import (
    copy_encoder,
    describe_warm_start,
    load_pretrained_encoder,
    warm_start_options,
)

SNAPSHOT = "snapshot{}."
BEST = "best."
UNBOUNDED = 1 << 40


@dataclass
class Seq2SeqResult:
    model_dir: Path
    steps: int
    target_tokens: int
    loss: float
    seconds: float
    interrupted: bool = False
    dev: dict[str, float] | None = None


def inverse_sqrt(step: int, warmup: int) -> float:
    """Vaswani et al.'s schedule, peaking at 1 after ``warmup`` steps.

    >>> [round(inverse_sqrt(s, 4), 2) for s in (0, 1, 3, 15)]
    [0.25, 0.5, 1.0, 0.5]
    """
    n = step + 1
    return min(n / warmup, math.sqrt(warmup / n)) if warmup > 0 else 1.0 / math.sqrt(n)


def train_seq2seq(pairs: Sequence[tuple[str | os.PathLike[str], str | os.PathLike[str]]],
                  output: str | os.PathLike[str],
                  config: dict[str, Any] | Seq2SeqConfig | None = None,
                  dev: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
                  resume: bool = False, progress: bool = False,
                  init_embeddings: str | os.PathLike[str] | None = None,
                  on_step: Callable[[int, float], None] | None = None,
                  init_encoder: str | os.PathLike[str] | None = None) -> Seq2SeqResult:
    """Train an encoder-decoder on aligned ``(source, target)`` files into ``output``.

    ``init_embeddings`` starts the table from pretrained vectors; ``init_encoder`` starts the
    whole encoder (and its vocabulary and table) from a ``tokvec pretrain`` BERT directory."""
    ctx = init_distributed()
    if not ctx.active and torch.cuda.is_available():
        ctx.device = torch.device("cuda")  # one process: the GPU when there is one
    out = Path(output)
    fresh_dir = not out.exists()
    try:
        return _Run(ctx, [(os.fspath(s), os.fspath(t)) for s, t in pairs], out, config, dev,
                    resume, progress, init_embeddings, on_step, init_encoder).run()
    except BaseException:
        if ctx.is_main and not (out / CHECKPOINT).exists():
            remove_work(out, fresh_dir)
        raise
    finally:
        ctx.close()


def _train_tokenizers(cfg: Seq2SeqConfig, pairs: list[tuple[str, str]], texts: list[Any],
                      work: Path, progress: bool) -> tuple[Tokenizer, Tokenizer]:
    """Subword tokenizer(s) learned on the (segmented) training text, saved under ``work``."""
    files = {"source": [], "target": []}  # type: dict[str, list[Path]]
    for i, text in enumerate(texts):
        for side, lines, how in (("source", text.src, cfg.src_segment),
                                 ("target", text.tgt, cfg.tgt_segment)):
            path = work / f"{side}{i}.txt"
            path.write_text("".join(segment(x, how) + "\n" for x in lines), encoding="utf-8")
            files[side].append(path)
    if cfg.vocab is not None:
        tok = Tokenizer.load(cfg.vocab)
        tok.save(work / "tokenizer")
        return tok, tok
    if cfg.joint_vocab:
        tok = Tokenizer.train(files["source"] + files["target"], kind=cfg.tokenizer,
                              vocab_size=cfg.vocab_size, progress=progress)
        tok.save(work / "tokenizer")
        return tok, tok
    src = Tokenizer.train(files["source"], kind=cfg.tokenizer, vocab_size=cfg.vocab_size,
                          progress=progress)
    tgt = Tokenizer.train(files["target"], kind=cfg.tokenizer, vocab_size=cfg.vocab_size,
                          progress=progress)
    src.save(work / "source_tokenizer")
    tgt.save(work / "tokenizer")
    return src, tgt


def _load_tokenizers(work: Path) -> tuple[Tokenizer, Tokenizer]:
    tgt = Tokenizer.load(work / "tokenizer")
    src_dir = work / "source_tokenizer"
    return (Tokenizer.load(src_dir) if src_dir.is_dir() else tgt), tgt


class _Run:
    def __init__(self, ctx: DistContext, pairs: list[tuple[str, str]], out: Path,
                 config: dict[str, Any] | Seq2SeqConfig | None,
                 dev: tuple[Any, Any] | None, resume: bool, progress: bool,
                 init_embeddings: Any, on_step: Callable[[int, float], None] | None,
                 init_encoder: Any = None) -> None:
        self.ctx, self.pairs, self.out, self.on_step = ctx, pairs, out, on_step
        self.progress = progress and ctx.is_main
        if not pairs:
            raise TokvecError("no training files given (--src and --tgt)")
        saved = weights = opt_arrays = None
        if resume:
            saved, weights, opt_arrays, _ = read_checkpoint(out)
        pretrained = None
        if init_encoder is not None and not resume:
            pretrained = load_pretrained_encoder(init_encoder)
            given = config.to_dict() if isinstance(config, Seq2SeqConfig) else dict(config or {})
            config = warm_start_options(pretrained, init_encoder, given)
        self.cfg = cfg = resolve_config(config, saved["options"] if saved else None)
        torch.set_num_threads(cfg.threads or max(1, (os.cpu_count() or 1)
                                                 // ctx.local_world_size))
        texts = [read_parallel(s, t) for s, t in pairs]
        self.dev = read_parallel(*dev) if dev is not None else None
        self.notes: list[str] = []
        for text in texts:
            if text.blank:
                self.notes.append(f"skipped {text.blank} pair(s) with a blank side (first: "
                                  f"{text.src_path}:{text.first_blank})")
        work = out / WORK
        if ctx.is_main:
            work.mkdir(parents=True, exist_ok=True)
        ctx.barrier()
        if resume:
            src_tok, tgt_tok = _load_tokenizers(work)
        else:
            if ctx.is_main:
                _train_tokenizers(cfg, pairs, texts, work, self.progress)
            ctx.barrier()
            src_tok, tgt_tok = _load_tokenizers(work)
        torch.manual_seed(cfg.seed)
        self.model = TranslationModel.create(cfg, src_tok, tgt_tok)
        self.special = self.model.special
        self.data: EncodedPairs = encode_pairs(texts, src_tok, tgt_tok, cfg.src_segment,
                                               cfg.tgt_segment, self.special.eos, cfg.max_len)
        if self.data.truncated:
            self.notes.append(f"{self.data.truncated} pair(s) longer than the model's "
                              f"{cfg.max_len} positions were truncated (first: "
                              f"{self.data.first_truncated})")
        self.tgt_lengths = self.data.tgt_lengths()  # per pair, for accumulation's token count
        self.batches = TokenBatches(self.data.src_lengths(), self.tgt_lengths,
                                    cfg.batch_tokens, cfg.seed, ctx.rank, ctx.world_size)
        per_epoch = self.batches.steps_per_epoch // cfg.accumulate
        if per_epoch < 1:
            raise TokvecError(f"--accumulate {cfg.accumulate} exceeds the "
                              f"{self.batches.steps_per_epoch} batches of an epoch")
        if cfg.steps is not None:
            self.total = cfg.steps
        elif cfg.epochs is not None:
            self.total = cfg.epochs * per_epoch
        elif cfg.max_minutes is not None:
            self.total = UNBOUNDED
        else:
            self.total = 10 * per_epoch
        self.coverage = self.warm_start = None
        if pretrained is not None:
            self.warm_start = copy_encoder(self.model, pretrained, init_encoder)
            self.notes.append(describe_warm_start(self.warm_start))
        if init_embeddings is not None and not resume:
            self.coverage = init_table_from_vectors(self.model, init_embeddings)
            self.notes += describe_coverage(self.coverage, init_embeddings)
        net = self.model.network
        if cfg.freeze_embeddings:
            net.encoder.tok_emb.weight.requires_grad_(False)
            net.tgt_emb.weight.requires_grad_(False)
        self.step, self.tokens, self.elapsed = 0, 0, 0.0
        self.snapshots: list[dict[str, torch.Tensor]] = []
        self.best: dict[str, torch.Tensor] | None = None
        self.best_score: float | None = None
        self.evals_since_best = 0
        self.checkpoint_step: int | None = int(saved["step"]) if saved else None
        if saved is not None:
            self._load(saved, weights)
        net.to(ctx.device)
        betas = (0.9, 0.98)
        self.optimizer = make_adamw(param_groups([net], cfg.weight_decay), cfg.lr, betas, 1e-9)
        if saved is not None:
            restore_optimizer(self.optimizer, opt_arrays, saved["optimizer_groups"])
        self.trainer: nn.Module = net
        if ctx.active:
            from torch.nn.parallel import DistributedDataParallel

            self.trainer = DistributedDataParallel(
                net, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
        self.log = TrainingLog(out / TRAINING_LOG, ctx.is_main, self.step if resume else None)
        self.dev_ids = None
        if self.dev is not None:
            self.dev_ids = encode_pairs([self.dev], src_tok, tgt_tok, cfg.src_segment,
                                        cfg.tgt_segment, self.special.eos, cfg.max_len)

    # ----- state ----------------------------------------------------------------------------
    def _weights(self) -> dict[str, torch.Tensor]:
        state = {k: v for k, v in self.model.network.state_dict().items()}
        for i, snap in enumerate(self.snapshots):
            state.update({SNAPSHOT.format(i) + k: v for k, v in snap.items()})
        if self.best is not None:
            state.update({BEST + k: v for k, v in self.best.items()})
        return state

    def _load(self, saved: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        own = {k: torch.from_numpy(v) for k, v in weights.items()
               if not k.startswith(("snapshot", BEST))}
        self.model.network.load_state_dict(own)
        count = int(saved.get("snapshots", 0))
        self.snapshots = [{k[len(SNAPSHOT.format(i)):]: torch.from_numpy(v)
                           for k, v in weights.items() if k.startswith(SNAPSHOT.format(i))}
                          for i in range(count)]
        if any(k.startswith(BEST) for k in weights):
            self.best = {k[len(BEST):]: torch.from_numpy(v) for k, v in weights.items()
                         if k.startswith(BEST)}
        self.step, self.tokens = int(saved["step"]), int(saved["tokens"])
        self.elapsed = float(saved.get("elapsed_s", 0.0))
        self.best_score = saved.get("best_score")
        self.evals_since_best = int(saved.get("evals_since_best", 0))
        self.coverage, self.warm_start = saved.get("init_coverage"), saved.get("init_encoder")

    def _state(self) -> dict[str, Any]:
        epoch, batch = self.batches.position(self.step * self.cfg.accumulate)
        return {"step": self.step, "tokens": self.tokens, "epoch": epoch,
                "batch_in_epoch": batch, "total_steps": self.total, "elapsed_s": self.elapsed,
                "world_size": self.ctx.world_size, "options": self.cfg.to_dict(),
                "pairs": self.pairs, "snapshots": len(self.snapshots),
                "best_score": self.best_score, "evals_since_best": self.evals_since_best,
                "init_coverage": self.coverage, "init_encoder": self.warm_start}

    def _checkpoint(self) -> None:
        if self.ctx.is_main:
            save_checkpoint(self.out, self._weights(), self.optimizer, self.model.tgt_tok,
                            self._state())
        self.ctx.barrier()
        self.checkpoint_step = self.step

    # ----- one update -----------------------------------------------------------------------
    def _lr(self) -> float:
        cfg = self.cfg
        if cfg.schedule == "inverse-sqrt":
            return cfg.lr * inverse_sqrt(self.step, cfg.warmup)
        spent = self.elapsed / (60 * cfg.max_minutes) if cfg.max_minutes else 0.0
        total = self.total if self.total != UNBOUNDED else 1 << 62
        return cfg.lr * lr_factor(self.step, cfg.warmup, total, cfg.schedule, spent)

    def _train_step(self) -> tuple[float, int]:
        cfg, ctx, sp = self.cfg, self.ctx, self.special
        set_lr(self.optimizer, self._lr())
        torch.manual_seed(step_seed(cfg.seed, ctx.rank, self.step))
        micro = [self.batches.indices(self.step * cfg.accumulate + a)
                 for a in range(cfg.accumulate)]
        total_tokens = sum(int(self.tgt_lengths[m].sum()) for m in micro) \
            if cfg.accumulate > 1 else None
        self.optimizer.zero_grad(set_to_none=True)
        loss_sum, tokens = 0.0, 0
        for index in micro:
            src = pad_batch([self.data.src[i] for i in index], sp.pad).to(ctx.device)
            tgt = [self.data.tgt[i] for i in index]
            tgt_in = pad_batch(tgt, sp.pad, prefix=sp.bos).to(ctx.device)
            tgt_out = pad_batch(tgt, sp.pad, suffix=sp.eos).to(ctx.device)
            with training_autocast(ctx.device, cfg.precision):
                loss, n = self.trainer(src, tgt_in, tgt_out, sp.pad, cfg.label_smoothing)
            (loss / (total_tokens or n)).backward()
            loss_sum += float(loss.detach())
            tokens += n
        norm = nn.utils.clip_grad_norm_(self.model.network.parameters(), cfg.clip) \
            if cfg.clip > 0 else torch.tensor(0.0)
        value = loss_sum / max(tokens, 1)
        if not (math.isfinite(value) and bool(torch.isfinite(norm))):
            problem = (f"the loss became {value}" if not math.isfinite(value)
                       else f"the gradient norm became {float(norm)}")
            kept = (f"the last good checkpoint in {self.out / CHECKPOINT} (step "
                    f"{self.checkpoint_step})" if self.checkpoint_step is not None else None)
            raise TrainingDiverged(problem, self.step + 1, kept)
        self.optimizer.step()
        return value, tokens

    # ----- dev evaluation -------------------------------------------------------------------
    def evaluate_dev(self) -> dict[str, float]:
        """Teacher-forced dev loss and greedy dev BLEU/chrF of the current weights."""
        from .scoring import looks_chinese, score_translations

        assert self.dev is not None and self.dev_ids is not None
        net, sp, cfg = self.model.network, self.special, self.cfg
        net.eval()
        loss_sum, tokens = 0.0, 0
        with torch.inference_mode():
            batches = TokenBatches(self.dev_ids.src_lengths(), self.dev_ids.tgt_lengths(),
                                   max(cfg.batch_tokens, int(self.dev_ids.tgt_lengths().max())),
                                   0)
            for index in batches.batches:
                tgt = [self.dev_ids.tgt[i] for i in index]
                loss, n = net(pad_batch([self.dev_ids.src[i] for i in index], sp.pad)
                              .to(self.ctx.device),
                              pad_batch(tgt, sp.pad, prefix=sp.bos).to(self.ctx.device),
                              pad_batch(tgt, sp.pad, suffix=sp.eos).to(self.ctx.device),
                              sp.pad, 0.0)
                loss_sum += float(loss)
                tokens += n
            hyps = decode_all(net, self.dev_ids.src, sp, DecodeOptions(beam=1), cfg.batch_tokens)
        net.train()
        texts = [self.model.detokenize(h[0][0]) if h else "" for h in hyps]
        scores = score_translations(texts, self.dev.tgt, self.model.tgt_segment != "none"
                                    or looks_chinese(self.dev.tgt))
        return {"dev_loss": round(loss_sum / max(tokens, 1), 5),
                "dev_bleu": round(scores["bleu"], 3), "dev_chrf": round(scores["chrf"], 3)}

    def _after_eval(self, result: dict[str, float]) -> bool:
        """Record an evaluation; True when early stopping says stop."""
        score = result["dev_bleu"] if self.cfg.metric == "bleu" else -result["dev_loss"]
        if self.best_score is None or score > self.best_score:
            self.best_score, self.evals_since_best = score, 0
            if self.cfg.patience is not None:
                self.best = {k: v.detach().clone()
                             for k, v in self.model.network.state_dict().items()}
        else:
            self.evals_since_best += 1
        return self.cfg.patience is not None and self.evals_since_best >= self.cfg.patience

    def _snapshot(self) -> None:
        if self.cfg.average_last > 1:
            self.snapshots.append({k: v.detach().clone()
                                   for k, v in self.model.network.state_dict().items()})
            self.snapshots = self.snapshots[-self.cfg.average_last:]

    # ----- the loop -------------------------------------------------------------------------
    def run(self) -> Seq2SeqResult:
        from tqdm.auto import tqdm

        ctx, cfg = self.ctx, self.cfg
        for note in self.notes:
            if ctx.is_main:
                warnings.warn(note, stacklevel=2)
        timed = self.total == UNBOUNDED
        bar = tqdm(total=60 * cfg.max_minutes if timed else self.total,
                   initial=self.elapsed if timed else self.step,
                   desc="training seq2seq", unit="s" if timed else "step",
                   disable=not self.progress, dynamic_ncols=True, leave=False,
                   bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}"
                              "{postfix}]" if timed else None)
        self.model.network.train()
        start = last_save = time.monotonic()
        base_elapsed = self.elapsed
        interval = {"loss": 0.0, "steps": 0, "tokens": 0, "start": start}
        loss_avg, dev_result = float("nan"), None
        interrupted = early = False
        with stop_signals() as signals:
            while self.step < self.total:
                loss, tokens = self._train_step()
                self.step += 1
                tokens = int(ctx.all_mean(float(tokens)) * ctx.world_size)
                self.tokens += tokens
                interval["loss"] += loss
                interval["steps"] += 1
                interval["tokens"] += tokens
                if self.on_step is not None:
                    self.on_step(self.step, loss)
                now = time.monotonic()
                self.elapsed = base_elapsed + now - start
                bar.update((self.elapsed - bar.n) if timed else 1)
                evaluate = self.step % cfg.eval_every == 0
                if evaluate:
                    self._snapshot()
                    if self.dev is not None:
                        dev_result = self.evaluate_dev()
                        early = self._after_eval(dev_result)
                        self.log.write({"step": self.step, **dev_result})
                due = cfg.checkpoint_every > 0 and now - last_save >= 60 * cfg.checkpoint_every
                over = bool(cfg.max_minutes) and self.elapsed >= 60 * cfg.max_minutes
                stop, save, out_of_time, stop_early = ctx.all_max(
                    [float(signals["stop"]), float(due), float(over), float(early)])
                last = self.step == self.total or bool(out_of_time) or bool(stop_early)
                if self.step % cfg.log_every == 0 or last:
                    loss_avg = ctx.all_mean(interval["loss"] / interval["steps"])
                    lr = self.optimizer.param_groups[0]["lr"]
                    rate = interval["tokens"] / max(now - interval["start"], 1e-9)
                    self.log.write({"step": self.step, "loss": round(loss_avg, 5), "lr": lr,
                                    "tokens_per_s": round(rate, 1), "tokens": self.tokens,
                                    "elapsed_s": round(self.elapsed, 2)})
                    bar.set_postfix(loss=f"{loss_avg:.3f}", lr=f"{lr:.2e}",
                                    tok_s=f"{rate:.0f}")
                    interval = {"loss": 0.0, "steps": 0, "tokens": 0, "start": now}
                if stop or (save and not last):
                    self._checkpoint()
                    last_save = time.monotonic()
                if stop:
                    interrupted = True
                    break
                if out_of_time or stop_early:
                    break
        bar.close()
        if not interrupted:
            dev_result = self._finish(loss_avg, bool(early))
        return Seq2SeqResult(self.out, self.step, self.tokens, loss_avg, self.elapsed,
                             interrupted, dev_result)

    def _final_weights(self) -> str:
        """Put the weights to save into the network; say which they are."""
        net = self.model.network
        if self.best is not None and self.cfg.patience is not None:
            net.load_state_dict(self.best)
            return "best dev"
        if self.cfg.average_last > 1 and len(self.snapshots) > 1:
            self._snapshot()  # the final weights count as the newest snapshot
            snaps = self.snapshots
            net.load_state_dict({k: sum(s[k].double() for s in snaps).div(len(snaps))
                                 .to(snaps[0][k].dtype) for k in snaps[0]})
            return f"average of the last {len(snaps)} snapshots"
        return "last"

    def _finish(self, loss: float, early: bool) -> dict[str, float] | None:
        cfg = self.cfg
        chosen = self._final_weights()
        dev_result = self.evaluate_dev() if self.dev is not None else None
        self.model.network.eval()
        extra = {"training": {**cfg.to_dict(), "steps_done": self.step,
                              "target_tokens_seen": self.tokens,
                              "final_loss": round(loss, 5), "seconds": round(self.elapsed, 1),
                              "world_size": self.ctx.world_size, "pairs": self.pairs,
                              "weights": chosen, "stopped_early": early,
                              **({"dev": dev_result} if dev_result else {}),
                              **({"init_coverage": self.coverage} if self.coverage else {}),
                              **({"init_encoder": self.warm_start} if self.warm_start else {})}}
        if self.ctx.is_main:
            self.model.network.cpu()
            self.model.save(self.out, extra)  # replaces the directory: work/, checkpoint/ go
        self.ctx.barrier()
        return dev_result


__all__ = ["Seq2SeqResult", "inverse_sqrt", "train_seq2seq"]
