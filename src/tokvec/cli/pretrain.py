"""``tokvec pretrain``: pretrain a contextual model (BERT-style MLM or ELECTRA, or ELMo-style
BiLSTM LM).

Runs unchanged under ``torchrun --nproc_per_node N -m tokvec.cli pretrain ...`` (DDP).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .common import (
    add_encoding_errors,
    nonneg_float,
    nonneg_int,
    positive_float,
    positive_int,
    show_progress,
)

# flag -> (options field, argparse type, help)
_OPTIONS: tuple[tuple[str, str, Any, str], ...] = (
    ("--d-model", "d_model", positive_int, "vector width (default 256)"),
    ("--layers", "layers", positive_int, "encoder layers (bert default 4; bilstm: LSTM layers "
                                         "per direction)"),
    ("--heads", "heads", positive_int, "attention heads (default 4)"),
    ("--ffn", "ffn", positive_int, "feed-forward width (bert, default 1024) or LSTM cell size "
                                   "(bilstm)"),
    ("--seq-len", "seq_len", positive_int, "tokens per packed block, [CLS] included; also the "
                                           "model's max positions (default 128)"),
    ("--batch-size", "batch_size", positive_int, "blocks per step and process (default 32)"),
    ("--steps", "steps", positive_int, "optimizer steps (default: one epoch)"),
    ("--epochs", "epochs", positive_int, "passes over the corpus (instead of --steps)"),
    ("--max-minutes", "max_minutes", positive_float, "time budget: stop when it is spent and "
                                                     "write the model; the learning rate "
                                                     "decays over the budget"),
    ("--lr", "lr", positive_float, "peak learning rate (default 5e-4)"),
    ("--warmup", "warmup", nonneg_int, "warm-up steps (default 5%% of the steps)"),
    ("--weight-decay", "weight_decay", nonneg_float, "AdamW weight decay on matrices "
                                                     "(default 0.01)"),
    ("--dropout", "dropout", nonneg_float, "dropout (default 0.1)"),
    ("--vocab-size", "vocab_size", positive_int, "WordPiece vocabulary when training the "
                                                 "tokenizer (default 30000)"),
    ("--tokenizer", "tokenizer", str, "use this tokenizer directory instead of training one"),
    ("--threads", "threads", positive_int, "torch threads per process (default: cores / "
                                           "processes)"),
    ("--seed", "seed", int, "random seed (default 0)"),
    ("--checkpoint-every", "checkpoint_every", nonneg_float, "minutes between checkpoints; 0: "
                                                             "only on SIGINT/SIGTERM (default 10)"),
    ("--log-every", "log_every", positive_int, "steps per training.jsonl line (default 10)"),
    ("--mask-prob", "mask_prob", positive_float, "share of tokens masked (bert, default 0.15)"),
    ("--generator-scale", "generator_scale", positive_float, "electra: generator width, heads "
                                                             "and ffn as a share of the "
                                                             "discriminator's (default 0.25)"),
    ("--generator-layers", "generator_layers", positive_int, "electra: generator layers "
                                                             "(default: --layers)"),
    ("--disc-weight", "disc_weight", positive_float, "electra: weight of the replaced-token "
                                                     "loss against the generator's MLM loss "
                                                     "(default 50)"),
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pretrain", help="pretrain a contextual model (masked LM or BiLSTM LM)",
        description="Pretrain a BERT-style masked LM (--arch bert) or an ELMo-style BiLSTM LM "
                    "(--arch bilstm) on a text corpus and write a model directory. Progress: "
                    "MODEL_DIR/training.jsonl; checkpoints: MODEL_DIR/checkpoint/ (every "
                    "--checkpoint-every minutes and on SIGINT/SIGTERM; continue with --resume). "
                    "Launch with torchrun --nproc_per_node N -m tokvec.cli pretrain ... for "
                    "data-parallel training.")
    p.add_argument("corpus", nargs="+", help="UTF-8 text file(s), one document per line")
    p.add_argument("-o", "--output", required=True, help="model directory to write")
    p.add_argument("--arch", choices=("bert", "bilstm"), default=None,
                   help="architecture (default bert)")
    for flag, dest, kind, text in _OPTIONS:
        p.add_argument(flag, dest=dest, type=kind, default=None, help=text)
    p.add_argument("--schedule", choices=("linear", "cosine"), default=None,
                   help="decay after warm-up (default linear)")
    p.add_argument("--objective", choices=("mlm", "electra"), default=None,
                   help="bert pretraining objective: masked LM (default) or ELECTRA "
                        "replaced-token detection (a small generator, sharing the token "
                        "table, fills masked positions; the saved model is the discriminator)")
    p.add_argument("--norm", choices=("pre", "post"), default=None,
                   help="bert LayerNorm placement (default pre)")
    p.add_argument("--mask-unit", choices=("token", "word"), default=None,
                   help="bert: mask single pieces (default token) or whole words, all pieces "
                        "of a chosen word together")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default=None,
                   help="bf16: bfloat16 matrix products under autocast, fp32 weights and "
                        "optimizer (fast on CPUs with AVX-512 BF16 or AMX, and on GPUs); "
                        "auto (default): bf16 where the hardware has it, else fp32")
    p.add_argument("--resume", action="store_true",
                   help="continue from MODEL_DIR/checkpoint (architecture and optimizer "
                        "settings come from it; --steps/--epochs may be raised)")
    add_encoding_errors(p)
    p.set_defaults(func=_run, encoding_errors=None)


def _run(args: argparse.Namespace) -> int:
    from ..contextual.pretrain import pretrain

    names = ["arch", "objective", "schedule", "norm", "mask_unit", "precision",
             "encoding_errors"] + [o[1] for o in _OPTIONS]
    options = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    result = pretrain(args.corpus, args.output, options, resume=args.resume,
                      progress=show_progress())
    if os.environ.get("RANK", "0") != "0":
        return 130 if result.interrupted else 0
    if result.interrupted:
        print(f"tokvec pretrain: stopped at step {result.steps}; checkpoint saved in "
              f"{args.output}/checkpoint (continue with --resume)", file=sys.stderr)
        return 130
    print(f"pretrained {result.steps} steps ({result.tokens} tokens, {result.seconds:.0f} s), "
          f"final loss {result.loss:.4f}; model written to {args.output}", file=sys.stderr)
    return 0
