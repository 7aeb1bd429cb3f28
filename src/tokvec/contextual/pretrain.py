"""Pretraining a contextual model: masked LM or ELECTRA (``bert``), bidirectional LM (``bilstm``).

``objective="electra"`` trains a small generator and the ``bert`` discriminator jointly on
replaced-token detection (:mod:`~tokvec.contextual.electra`); the discriminator is the model
saved, and ``training.jsonl`` lines add ``mlm_loss``, ``disc_loss``, ``disc_accuracy`` and
``replaced``.

:func:`pretrain` trains a WordPiece tokenizer on the corpus (unless one is given), packs the
corpus into ``[CLS]``-led blocks (:mod:`~tokvec.contextual.data`), and runs AdamW (decay on
matrices only, gradient clipping at 1.0, warm-up then linear or cosine decay). It runs unchanged
under ``torchrun --nproc_per_node N`` (DDP; each rank trains on its own shard of blocks, rank 0
alone writes the log, checkpoints and the model).

While it runs, ``MODEL_DIR`` holds ``training.jsonl`` (one line per logged step: step, loss,
lr, tokens_per_s, tokens, elapsed_s), ``checkpoint/`` (every ``checkpoint_every`` minutes and on
SIGINT/SIGTERM) and ``work/`` (the tokenizer and encoded corpus); ``resume=True`` continues from
the checkpoint. On completion the model directory is written atomically (config.json,
tokenizer.json, embeddings.safetensors, encoder.safetensors) and the work files are gone.

Example (a tiny run)::

    result = pretrain(["corpus.txt"], "model", {"d_model": 64, "layers": 2, "heads": 2,
                                                "ffn": 128, "seq_len": 32, "steps": 100})
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..atomic import atomic_file
from ..errors import TokvecError, TrainingDiverged
from ..modeldir import TRAINING_LOG
from ..vocab import CLS, MASK, PAD, SEP
from . import electra
from .bert import MaskedLM
from .bilstm import BiLSTMObjective
from .checkpoint import CHECKPOINT, read_checkpoint, restore_optimizer, save_checkpoint, step_seed
from .config import BiLSTMConfig, EncoderConfig
from .data import BlockOrder, Masker, PackedBlocks, prepare_stream, prepare_tokenizer
from .distributed import DistContext, init_distributed
from .model import HEAD_PREFIX, ContextualModel
from .optim import lr_factor, make_adamw, param_groups, set_lr
from .precision import PRECISIONS, check_precision, resolve_precision, training_autocast

WORK = "work"
# Options that may change when resuming; all others come from the checkpoint.
RUN_FIELDS = ("steps", "epochs", "max_minutes", "threads", "checkpoint_every", "log_every")
MASK_UNITS = ("token", "word")
BUDGET_EPOCHS = 100_000  # the step limit of a run bounded by --max-minutes alone


@dataclass
class PretrainOptions:
    """Everything that shapes a pretraining run (saved in the checkpoint and config.json)."""

    arch: str = "bert"
    d_model: int = 256
    layers: int = 4
    heads: int = 4
    ffn: int = 1024
    seq_len: int = 128
    batch_size: int = 32
    steps: int | None = None
    epochs: int | None = None
    max_minutes: float | None = None  # time budget: stop and save when it is spent
    lr: float = 5e-4
    warmup: int | None = None  # default: 5% of the steps
    schedule: str = "linear"
    weight_decay: float = 0.01
    dropout: float = 0.1
    clip: float = 1.0
    mask_prob: float = 0.15
    mask_unit: str = "token"  # bert: "token" (BERT's) or "word" (whole-word masking)
    # "bf16": bfloat16 matrix products under autocast; "auto": bf16 where the hardware has fast
    # bfloat16 products (1.55-1.83x the tokens per second here, no higher loss), else fp32
    precision: str = "auto"
    norm: str = "pre"
    vocab_size: int = 30000
    tokenizer: str | None = None
    seed: int = 0
    threads: int | None = None
    checkpoint_every: float = 10.0  # minutes; 0 = only on a signal
    log_every: int = 10
    encoding_errors: str = "strict"
    objective: str = "mlm"  # bert only: "mlm" or "electra" (replaced-token detection)
    generator_scale: float = 0.25  # electra: generator width, heads, ffn as a share
    generator_layers: int | None = None  # electra: default as many as the discriminator
    disc_weight: float = 50.0  # electra: weight of the discriminator's loss

    def arch_config(self, vocab_size: int) -> EncoderConfig | BiLSTMConfig:
        if self.arch == "bert":
            return EncoderConfig(vocab_size, self.d_model, self.layers, self.heads, self.ffn,
                                 self.seq_len, self.dropout, self.norm)
        if self.arch == "bilstm":
            return BiLSTMConfig(vocab_size, self.d_model, self.layers, self.ffn, self.seq_len,
                                self.dropout)
        raise TokvecError(f"unknown architecture {self.arch!r}; choose bert or bilstm")


@dataclass
class PretrainResult:
    model_dir: Path
    steps: int
    tokens: int
    loss: float
    seconds: float
    interrupted: bool = False


def resolve_options(given: dict[str, Any] | PretrainOptions | None,
                    saved: dict[str, Any] | None) -> PretrainOptions:
    """Fresh run: ``given`` over the defaults. Resume: the saved options, with only
    :data:`RUN_FIELDS` open to change."""
    given = dataclasses.asdict(given) if isinstance(given, PretrainOptions) else dict(given or {})
    names = {f.name for f in fields(PretrainOptions)}
    unknown = sorted(set(given) - names)
    if unknown:
        raise TokvecError(f"unknown pretraining options: {', '.join(unknown)}")
    if saved is None:
        opts = PretrainOptions(**given)
    else:
        base = {k: v for k, v in saved.items() if k in names}
        base.setdefault("precision", "fp32")  # checkpoints from before the option were fp32
        for key, value in given.items():
            if key not in RUN_FIELDS and value is not None and base.get(key) != value:
                raise TokvecError(f"--{key.replace('_', '-')} cannot change when resuming "
                                  f"(checkpoint has {base.get(key)!r})")
        if given.get("steps") is not None or given.get("epochs") is not None:
            base["steps"], base["epochs"] = given.get("steps"), given.get("epochs")
        base.update({k: given[k] for k in RUN_FIELDS[2:] if given.get(k) is not None})
        opts = PretrainOptions(**base)
    if opts.steps is not None and opts.epochs is not None:
        raise TokvecError("give --steps or --epochs, not both")
    if opts.max_minutes is not None and not opts.max_minutes > 0:
        raise TokvecError(f"--max-minutes must be positive, got {opts.max_minutes}")
    opts.arch_config(opts.vocab_size)  # fail on a bad architecture before any work is done
    check_precision(opts.precision, (*PRECISIONS, "auto"))
    if opts.mask_unit not in MASK_UNITS:
        raise TokvecError(f"--mask-unit must be one of {', '.join(MASK_UNITS)}, "
                          f"got {opts.mask_unit!r}")
    if opts.mask_unit != "token" and opts.arch != "bert":
        raise TokvecError(f"--mask-unit applies to --arch bert only (a {opts.arch} model "
                          f"masks nothing)")
    electra.check_options(opts, given)
    return opts


@contextlib.contextmanager
def stop_signals() -> Iterator[dict[str, bool]]:
    """Turn SIGINT/SIGTERM into a flag the loop checks after each step (main thread only)."""
    flag = {"stop": False}
    previous = {}

    def handler(signum: int, frame: Any) -> None:
        flag["stop"] = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            previous[sig] = signal.signal(sig, handler)
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class TrainingLog:
    """``training.jsonl``, appended by rank 0; on resume, lines past the checkpoint are cut."""

    def __init__(self, path: Path, enabled: bool, keep_until: int | None) -> None:
        self.path = path
        self.enabled = enabled
        if not enabled:
            return
        lines: list[str] = []
        if keep_until is not None and path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(json.JSONDecodeError, TypeError):
                    if json.loads(line)["step"] <= keep_until:
                        lines.append(line)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path, "w") as handle:  # a kill here keeps the old log whole
            handle.write("".join(line + "\n" for line in lines))

    def write(self, entry: dict[str, Any]) -> None:
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")


def pretrain(corpus: list[str | os.PathLike[str]], output: str | os.PathLike[str],
             options: dict[str, Any] | PretrainOptions | None = None, resume: bool = False,
             progress: bool = False,
             on_step: Callable[[int, float], None] | None = None) -> PretrainResult:
    """Pretrain a ``bert`` or ``bilstm`` model on ``corpus`` into model directory ``output``."""
    ctx = init_distributed()
    out = Path(output)
    fresh_dir = not out.exists()
    try:
        return _Run(ctx, [os.fspath(c) for c in corpus], out, options, resume,
                    progress, on_step).run()
    except BaseException:
        if ctx.is_main and not (out / CHECKPOINT).exists():
            _remove_work(out, fresh_dir)
        raise
    finally:
        ctx.close()


def _remove_work(out: Path, fresh_dir: bool) -> None:
    """After a failure with no checkpoint to resume from, leave no partial output behind."""
    import shutil

    shutil.rmtree(out / WORK, ignore_errors=True)
    if fresh_dir:
        with contextlib.suppress(OSError):
            (out / TRAINING_LOG).unlink(missing_ok=True)
            out.rmdir()


class _Run:
    def __init__(self, ctx: DistContext, corpus: list[str], out: Path,
                 options: dict[str, Any] | PretrainOptions | None, resume: bool,
                 progress: bool, on_step: Callable[[int, float], None] | None) -> None:
        self.ctx, self.corpus, self.out, self.on_step = ctx, corpus, out, on_step
        self.progress = progress and ctx.is_main
        if not corpus:
            raise TokvecError("no corpus files given")
        saved = weights = opt_arrays = None
        if resume:
            saved, weights, opt_arrays, tok = read_checkpoint(out)
        self.opts = opts = resolve_options(options, saved["options"] if saved else None)
        opts.precision = resolve_precision(opts.precision, ctx.device)  # "auto" made concrete
        torch.set_num_threads(opts.threads or max(1, (os.cpu_count() or 1)
                                                  // ctx.local_world_size))
        work = out / WORK
        if ctx.is_main:
            work.mkdir(parents=True, exist_ok=True)
        ctx.barrier()
        if not resume:
            tok = prepare_tokenizer(ctx, corpus, work, opts, self.progress)
        self.tok = tok
        stream = prepare_stream(ctx, corpus, work, tok, opts, self.progress)
        self.blocks = PackedBlocks(stream, opts.seq_len, tok.token_to_id(CLS))
        self.order = BlockOrder(self.blocks.n_blocks, opts.batch_size, ctx.rank,
                                ctx.world_size, opts.seed)
        epoch = self.order.steps_per_epoch
        # A time budget alone runs until it is spent, over as many epochs as that takes (the
        # decay follows the clock); otherwise --steps, --epochs or one epoch.
        self.budget_only = bool(opts.max_minutes) and opts.steps is None and opts.epochs is None
        self.total = (opts.steps or (opts.epochs or 1) * epoch if not self.budget_only
                      else BUDGET_EPOCHS * epoch)
        self.warmup = opts.warmup if opts.warmup is not None else max(
            1, (epoch if self.budget_only else self.total) // 20)
        torch.manual_seed(opts.seed)
        arch = opts.arch_config(tok.vocab_size)
        self.model = ContextualModel.create(opts.arch, arch, tok)
        if opts.objective == "electra":
            self.model.head = None  # the discriminator is saved without an MLM head
        self.step, self.tokens, self.elapsed = 0, 0, 0.0
        self.checkpoint_step: int | None = int(saved["step"]) if saved is not None else None
        if saved is not None:
            self._load_weights(weights)
            self.step, self.tokens = int(saved["step"]), int(saved["tokens"])
            self.elapsed = float(saved.get("elapsed_s", 0.0))
        self.model.module.to(ctx.device)
        if self.model.head is not None:
            self.model.head.to(ctx.device)
        if opts.objective == "electra":
            self.objective: nn.Module = electra.build_objective(
                self.model.module, opts, [tok.token_to_id(t) for t in (PAD, CLS, SEP, MASK)],
                tok.token_to_id(PAD), weights)  # type: ignore[arg-type]
        elif opts.arch == "bert":
            assert self.model.head is not None
            self.objective = MaskedLM(self.model.module, self.model.head)  # type: ignore[arg-type]
        else:
            self.objective = BiLSTMObjective(self.model.module.lm)  # type: ignore[arg-type]
        if opts.arch == "bert":
            self.masker = Masker(arch.vocab_size, tok.token_to_id(MASK),
                                 [tok.token_to_id(t) for t in (PAD, CLS, SEP, MASK)],
                                 opts.mask_prob, continues_word=tok.continues_word()
                                 if opts.mask_unit == "word" else None)
        self.optimizer = make_adamw(param_groups([self.objective], opts.weight_decay), opts.lr)
        if saved is not None:
            restore_optimizer(self.optimizer, opt_arrays, saved["optimizer_groups"])
        self.trainer: nn.Module = self.objective
        if ctx.active:
            from torch.nn.parallel import DistributedDataParallel

            self.trainer = DistributedDataParallel(
                self.objective, device_ids=[ctx.device.index] if ctx.device.type == "cuda"
                else None)
        self.log = TrainingLog(out / TRAINING_LOG, ctx.is_main, self.step if resume else None)

    def _load_weights(self, weights: dict[str, Any]) -> None:
        module = {k: torch.from_numpy(v) for k, v in weights.items()
                  if not k.startswith((HEAD_PREFIX, electra.PREFIX))}
        self.model.module.load_state_dict(module)
        if self.model.head is not None:
            self.model.head.load_state_dict({k[len(HEAD_PREFIX):]: torch.from_numpy(v)
                                             for k, v in weights.items()
                                             if k.startswith(HEAD_PREFIX)})

    def _weights(self) -> dict[str, torch.Tensor]:
        state = dict(self.model.module.state_dict())
        if self.model.head is not None:
            state.update({HEAD_PREFIX + k: v for k, v in self.model.head.state_dict().items()})
        if isinstance(self.objective, electra.ElectraObjective):
            state.update({electra.PREFIX + k: v for k, v in self.objective.extra_state().items()})
        return state

    def _train_step(self) -> float:
        opts, ctx = self.opts, self.ctx
        spent = self.elapsed / (60 * opts.max_minutes) if opts.max_minutes else 0.0
        set_lr(self.optimizer, opts.lr * lr_factor(self.step, self.warmup, self.total,
                                                    opts.schedule, spent))
        seed = step_seed(opts.seed, ctx.rank, self.step)
        torch.manual_seed(seed)
        batch = self.blocks.batch(self.order.indices(self.step))
        if opts.arch == "bert":
            self.masker.generator.manual_seed(seed + 1)
            inputs, positions, targets = self.masker(batch)
            with training_autocast(ctx.device, opts.precision):
                loss = self.trainer(inputs.to(ctx.device), positions.to(ctx.device),
                                    targets.to(ctx.device))
        else:
            with training_autocast(ctx.device, opts.precision):
                loss = self.trainer(batch.to(ctx.device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(self.objective.parameters(), opts.clip)
        value = float(loss.item())
        # Gradients are averaged over ranks, so a broken rank makes every rank's norm non-finite
        # and all of them stop here together, before the optimizer touches the weights.
        if not (math.isfinite(value) and bool(torch.isfinite(norm))):
            problem = (f"the loss became {value}" if not math.isfinite(value)
                       else f"the gradient norm became {float(norm)}")
            kept = (f"the last good checkpoint in {self.out / CHECKPOINT} (step "
                    f"{self.checkpoint_step})" if self.checkpoint_step is not None else None)
            raise TrainingDiverged(problem, self.step + 1, kept)
        self.optimizer.step()
        self.tokens += batch.numel() * ctx.world_size
        return value

    def _state(self) -> dict[str, Any]:
        epoch, batch = self.order.position(self.step)
        return {"step": self.step, "tokens": self.tokens, "epoch": epoch,
                "batch_in_epoch": batch, "total_steps": self.total,
                "schedule": {"kind": self.opts.schedule, "warmup": self.warmup,
                             "total": self.total, "base_lr": self.opts.lr},
                "world_size": self.ctx.world_size, "elapsed_s": self.elapsed,
                "options": dataclasses.asdict(self.opts), "corpus": self.corpus}

    def _checkpoint(self) -> None:
        if self.ctx.is_main:
            save_checkpoint(self.out, self._weights(), self.optimizer, self.tok, self._state())
        self.ctx.barrier()
        self.checkpoint_step = self.step

    def run(self) -> PretrainResult:
        from tqdm.auto import tqdm

        ctx, opts = self.ctx, self.opts
        per_step = opts.batch_size * opts.seq_len * ctx.world_size
        planned = None if self.budget_only else self.total * per_step  # a budget: no token total
        bar = tqdm(total=planned, initial=self.tokens if planned is None
                   else min(self.tokens, planned),
                   desc=f"pretraining {opts.arch}", unit="tok", unit_scale=True,
                   disable=not self.progress, dynamic_ncols=True, leave=False)
        self.objective.train()
        start = last_save = time.monotonic()
        base_elapsed = self.elapsed
        interval_loss, interval_steps, interval_tokens, interval_start = 0.0, 0, 0, start
        interval_extra: dict[str, float] = {}  # electra: its two losses and accuracy
        loss_avg = float("nan")
        interrupted = False
        with stop_signals() as signals:
            while self.step < self.total:
                loss = self._train_step()
                self.step += 1
                interval_loss += loss
                for key, value in getattr(self.objective, "stats", {}).items():
                    interval_extra[key] = interval_extra.get(key, 0.0) + value
                interval_steps += 1
                interval_tokens += per_step
                bar.update(per_step)
                if self.on_step is not None:
                    self.on_step(self.step, loss)
                now = time.monotonic()
                self.elapsed = base_elapsed + now - start
                due = opts.checkpoint_every > 0 and now - last_save >= 60 * opts.checkpoint_every
                over = bool(opts.max_minutes) and self.elapsed >= 60 * opts.max_minutes
                stop, save, out_of_time = ctx.all_max([float(signals["stop"]), float(due),
                                                       float(over)])
                last = self.step == self.total or bool(out_of_time)
                if self.step % opts.log_every == 0 or last:
                    loss_avg = ctx.all_mean(interval_loss / interval_steps)
                    lr = self.optimizer.param_groups[0]["lr"]
                    rate = interval_tokens / max(now - interval_start, 1e-9)
                    self.log.write({"step": self.step, "loss": round(loss_avg, 5), "lr": lr,
                                    "tokens_per_s": round(rate, 1), "tokens": self.tokens,
                                    "elapsed_s": round(self.elapsed, 2),
                                    **{k: round(ctx.all_mean(v / interval_steps), 5)
                                       for k, v in interval_extra.items()}})
                    remaining = max(0.0, 60 * (opts.max_minutes or 0) - self.elapsed) / 60
                    left = {"left": f"{remaining:.1f}min"} if opts.max_minutes else {}
                    bar.set_postfix(loss=f"{loss_avg:.3f}", lr=f"{lr:.2e}", **left)
                    interval_loss, interval_steps, interval_tokens, interval_extra = 0.0, 0, 0, {}
                    interval_start = now
                if stop or (save and not last):
                    self._checkpoint()
                    last_save = time.monotonic()
                if stop:
                    interrupted = True
                    break
                if out_of_time:
                    break
        bar.close()
        if not interrupted:
            self._finish(loss_avg)
        return PretrainResult(self.out, self.step, self.tokens, loss_avg, self.elapsed,
                              interrupted)

    def _finish(self, loss: float) -> None:
        opts = self.opts
        self.model.module.eval()
        rtd = self.objective if isinstance(self.objective, electra.ElectraObjective) else None
        self.model.config = {
            "objective": "electra" if rtd else "masked-lm" if opts.arch == "bert"
            else "bidirectional-lm", **({"electra": rtd.describe()} if rtd else {}),
            "training": {**dataclasses.asdict(opts), "steps_done": self.step,
                         "tokens_seen": self.tokens, "final_loss": round(loss, 5),
                         "seconds": round(self.elapsed, 1), "world_size": self.ctx.world_size,
                         "corpus": self.corpus, "total_steps": self.total,
                         "warmup_steps": self.warmup}}
        if self.ctx.is_main:
            self.model.module.cpu()
            if self.model.head is not None:
                self.model.head.cpu()
            extra = {electra.WEIGHTS_FILE: {k: v.detach().cpu().numpy()
                                            for k, v in rtd.extra_state().items()}} if rtd else None
            self.model.save(self.out, extra)
        self.ctx.barrier()
