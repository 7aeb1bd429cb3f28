"""``tokvec seq2seq``: train a Transformer translation model on aligned text files.

Several ``--src``/``--tgt`` pairs (given in the same order) train one model from several source
languages with one joint vocabulary and table. Runs unchanged under ``torchrun --nproc_per_node
N -m tokvec.cli seq2seq ...`` (DDP).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Any

from ..errors import TokvecError
from .common import nonneg_float, positive_float, positive_int, show_progress
from .sweep import dims_list

# flag -> (config field, argparse type, help)
_OPTIONS: tuple[tuple[str, str, Any, str], ...] = (
    ("--d-model", "d_model", positive_int, "vector width of the table and layers (default 256)"),
    ("--layers", "layers", positive_int, "encoder and decoder layers each (default 3)"),
    ("--enc-layers", "enc_layers", positive_int, "encoder layers (overrides --layers)"),
    ("--dec-layers", "dec_layers", positive_int, "decoder layers (overrides --layers)"),
    ("--heads", "heads", positive_int, "attention heads (default 4)"),
    ("--ffn", "ffn", positive_int, "feed-forward width (default 1024)"),
    ("--max-len", "max_len", positive_int, "positions per side; longer pairs are truncated "
                                           "(default 256)"),
    ("--dropout", "dropout", nonneg_float, "dropout on embeddings and sub-layers (default 0.1)"),
    ("--attn-dropout", "attn_dropout", nonneg_float, "dropout on attention weights (default 0)"),
    ("--vocab-size", "vocab_size", positive_int, "subword vocabulary (default 8000)"),
    ("--batch-tokens", "batch_tokens", positive_int, "target tokens per batch and process, "
                                                     "padding included (default 4096)"),
    ("--accumulate", "accumulate", positive_int, "batches per optimizer step (default 1)"),
    ("--lr", "lr", positive_float, "peak learning rate (default 1e-3)"),
    ("--warmup", "warmup", positive_int, "warm-up steps (default 400)"),
    ("--weight-decay", "weight_decay", nonneg_float, "weight decay on matrices (default 0)"),
    ("--clip", "clip", nonneg_float, "gradient-norm clipping, 0 for none (default 1.0)"),
    ("--label-smoothing", "label_smoothing", nonneg_float, "default 0.1"),
    ("--steps", "steps", positive_int, "optimizer steps"),
    ("--epochs", "epochs", positive_int, "passes over the training pairs (default 10 when no "
                                         "--steps or --max-minutes)"),
    ("--max-minutes", "max_minutes", positive_float, "time budget: stop when it is spent and "
                                                     "write the model"),
    ("--eval-every", "eval_every", positive_int, "steps between dev evaluations and averaging "
                                                 "snapshots (default 200)"),
    ("--patience", "patience", positive_int, "early stopping: stop after N dev evaluations "
                                             "without improvement and keep the best weights"),
    ("--average-last", "average_last", positive_int, "save the mean of the last K snapshots "
                                                     "(default 1: the final weights)"),
    ("--threads", "threads", positive_int, "torch threads per process (default: cores / "
                                           "processes)"),
    ("--seed", "seed", int, "random seed (default 0)"),
    ("--checkpoint-every", "checkpoint_every", nonneg_float, "minutes between checkpoints; 0: "
                                                             "only on SIGINT/SIGTERM (default 10)"),
    ("--log-every", "log_every", positive_int, "steps per training.jsonl line (default 10)"),
)
_CHOICES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("--norm", "norm", ("pre", "post"), "LayerNorm placement (default pre; Marian export needs "
                                        "post)"),
    ("--positions", "positions", ("sinusoidal", "learned"), "position signals (default "
                                                            "sinusoidal)"),
    ("--activation", "activation", ("relu", "gelu", "gelu_tanh"), "feed-forward activation "
                                                                  "(default relu)"),
    ("--tokenizer", "tokenizer", ("bpe", "unigram"), "subword model (default bpe)"),
    ("--src-segment", "src_segment", ("none", "char", "jieba"), "split Chinese source text "
                                                                 "into characters or jieba "
                                                                 "words before subwords"),
    ("--tgt-segment", "tgt_segment", ("none", "char", "jieba"), "the same for the target"),
    ("--schedule", "schedule", ("inverse-sqrt", "linear", "cosine"), "Adam with inverse-sqrt "
                                                                     "warm-up (default) or "
                                                                     "warm-up then decay"),
    ("--metric", "metric", ("bleu", "loss"), "what early stopping watches (default bleu)"),
    ("--precision", "precision", ("fp32", "bf16"), "bf16: bfloat16 matrix products in "
                                                   "training, weights and decoding stay fp32 "
                                                   "(default fp32)"),
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "seq2seq", help="train a Transformer translation model on parallel text",
        description="Train an encoder-decoder Transformer (Vaswani et al. 2017) on aligned "
                    "files (line i of --src translates to line i of --tgt) and write a model "
                    "directory. One joint subword vocabulary serves every side and one table "
                    "the encoder, decoder and output layer. Progress: MODEL_DIR/training.jsonl; "
                    "checkpoints in MODEL_DIR/checkpoint/ (continue with --resume).")
    p.add_argument("-o", "--output", required=True, help="model directory to write")
    p.add_argument("--src", nargs="+", required=True, metavar="FILE",
                   help="source-language training file(s)")
    p.add_argument("--tgt", nargs="+", required=True, metavar="FILE",
                   help="target-language training file(s), one per --src file")
    p.add_argument("--dev-src", metavar="FILE", help="dev source file (BLEU and loss are "
                                                     "logged every --eval-every steps)")
    p.add_argument("--dev-tgt", metavar="FILE", help="dev reference file")
    for flag, dest, kind, text in _OPTIONS:
        p.add_argument(flag, dest=dest, type=kind, default=None, help=text)
    for flag, dest, choices, text in _CHOICES:
        p.add_argument(flag, dest=dest, choices=choices, default=None, help=text)
    p.add_argument("--vocab", metavar="TOKENIZER_DIR",
                   help="use this tokenizer (e.g. a tokvec pretrain model's) as the joint "
                        "vocabulary instead of learning one")
    p.add_argument("--separate-vocab", action="store_true",
                   help="one vocabulary and table per side instead of a joint one")
    p.add_argument("--init-embeddings", metavar="VECTORS",
                   help="start the table from a tokvec model or a word2vec/GloVe/fastText "
                        "file (rows copied by token; a coverage report is printed)")
    p.add_argument("--init-encoder", metavar="PRETRAIN_DIR",
                   help="warm-start the encoder from a tokvec pretrain BERT model: its "
                        "tokenizer becomes the joint vocabulary, its table the shared table "
                        "and its shape the encoder's (the decoder keeps --dec-layers)")
    p.add_argument("--freeze-embeddings", action="store_true",
                   help="keep the table fixed during training")
    p.add_argument("--resume", action="store_true", help="continue from MODEL_DIR/checkpoint")
    p.add_argument("--sweep-d-model", type=dims_list, metavar="DIMS",
                   help="choose d_model by measurement: train one model per value (e.g. "
                        "128,256,384; ffn = 4 x d_model) under the same budget into "
                        "OUTPUT/dN, score each on the dev files, and write OUTPUT/sweep.json, "
                        "OUTPUT/sweep.png and a recommendation")
    p.add_argument("--tolerance", type=nonneg_float, default=0.5,
                   help="--sweep-d-model: recommend the smallest d_model within this many "
                        "dev BLEU points of the best (default 0.5)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..seq2seq.train import train_seq2seq

    if len(args.src) != len(args.tgt):
        raise TokvecError(f"{len(args.src)} --src file(s) but {len(args.tgt)} --tgt file(s); "
                          f"give one target file per source file")
    if (args.dev_src is None) != (args.dev_tgt is None):
        raise TokvecError("give --dev-src and --dev-tgt together")
    names = [o[1] for o in _OPTIONS if o[1] != "layers"] + [c[1] for c in _CHOICES]
    config = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    if args.layers is not None:
        config.setdefault("enc_layers", args.layers)
        config.setdefault("dec_layers", args.layers)
    if args.vocab is not None:
        config["vocab"] = args.vocab
    if args.separate_vocab:
        config["joint_vocab"] = False
    if args.freeze_embeddings:
        config["freeze_embeddings"] = True
    dev = (args.dev_src, args.dev_tgt) if args.dev_src else None
    if args.sweep_d_model:
        return _sweep(args, config, dev)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train_seq2seq(list(zip(args.src, args.tgt, strict=True)), args.output, config,
                               dev=dev, resume=args.resume, progress=show_progress(),
                               init_embeddings=args.init_embeddings,
                               init_encoder=args.init_encoder)
    if os.environ.get("RANK", "0") != "0":
        return 130 if result.interrupted else 0
    for warning in caught:
        print(f"tokvec seq2seq: warning: {warning.message}", file=sys.stderr)
    if result.interrupted:
        print(f"tokvec seq2seq: stopped at step {result.steps}; checkpoint saved in "
              f"{args.output}/checkpoint (continue with --resume)", file=sys.stderr)
        return 130
    dev_text = ""
    if result.dev:
        dev_text = f", dev BLEU {result.dev['dev_bleu']:.2f} chrF {result.dev['dev_chrf']:.2f}"
    print(f"trained {result.steps} steps ({result.target_tokens} target tokens, "
          f"{result.seconds:.0f} s), final loss {result.loss:.4f}{dev_text}; model written to "
          f"{args.output}", file=sys.stderr)
    return 0


def _sweep(args: argparse.Namespace, config: dict[str, Any], dev: Any) -> int:
    from ..seq2seq.sweep import sweep_d_model, sweep_report

    if dev is None:
        raise TokvecError("--sweep-d-model needs --dev-src and --dev-tgt to score each model")
    if args.resume:
        raise TokvecError("--sweep-d-model resumes by itself: rerun the same command")
    if args.init_encoder or args.init_embeddings:
        raise TokvecError("--sweep-d-model trains from scratch at each d_model; it cannot start "
                          "from --init-encoder or --init-embeddings (their width is fixed)")
    config = {k: v for k, v in config.items() if k not in ("d_model", "ffn")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = sweep_d_model(list(zip(args.src, args.tgt, strict=True)), dev, args.output,
                              args.sweep_d_model, config, args.tolerance,
                              log=lambda m: print(m, file=sys.stderr))
    for text in dict.fromkeys(str(w.message) for w in caught):
        print(f"tokvec seq2seq: warning: {text}", file=sys.stderr)
    print(sweep_report(state))
    print(f"sweep written to {args.output}/sweep.json and sweep.png", file=sys.stderr)
    return 0
