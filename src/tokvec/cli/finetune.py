"""``tokvec finetune BASE -o TASK_DIR --train FILE --dev FILE``: train a text classifier."""

from __future__ import annotations

import argparse
import sys

from ..tokenization import KINDS
from .common import add_encoding_errors, nonneg_float, nonneg_int, positive_float, positive_int

_EPILOG = """\
BASE is a tokvec model directory (static vectors, or a contextual model for --head encoder), a
vector file (word2vec text/binary, GloVe text, fastText .vec), or 'none' (random vectors of --dim
over a vocabulary learnt from the training texts with --tokenizer). A multilingual model
(tokvec align) needs --lang, the language of the training texts: its table stays frozen (so the
other languages stay in the shared space; --train-embeddings and --bigrams are refused), and
tokvec predict --lang reads any of its languages (zero-shot transfer; docs/multilingual.md).

Per-head defaults (override any of them):
  bag      adam lr 5e-3, batch 32, 20 epochs, linear decay, dropout 0, patience 4, no window
  cnn      adam lr 1e-3, batch 50, 10 epochs, dropout 0.5, filters 100 x widths 3,4,5, window 256
  bilstm   adam lr 1e-3, batch 32, 10 epochs, dropout 0.3, hidden 128, max pooling, window 256
  encoder  adamw lr 1e-4, batch 32, 3 epochs, 10% warm-up then linear decay, weight decay 0.01,
           dropout 0.1, [CLS] pooling, the model's window
After training, a softmax temperature is fitted on the dev set (temperature scaling) so that
predict --proba gives calibrated probabilities; --no-calibrate keeps T = 1.
Files are UTF-8 TSV, one 'label<TAB>text' per line. See docs/classify.md.
"""


def _widths(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive widths, got {text!r}")
    return values


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("finetune", help="train a text classifier on labelled TSV files",
                       description="Fine-tune a text classifier (sentiment, topic, ...) from "
                                   "pretrained embeddings, a contextual model or from scratch.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", metavar="BASE", help="model directory, vector file, or 'none'")
    p.add_argument("-o", "--output", required=True, metavar="TASK_DIR",
                   help="task directory to write")
    p.add_argument("--train", required=True, metavar="FILE", help="training TSV (label<TAB>text)")
    p.add_argument("--dev", required=True, metavar="FILE",
                   help="dev TSV: early stopping and model selection by macro-F1")
    p.add_argument("--test", metavar="FILE", help="test TSV, scored once at the end")
    p.add_argument("--lang", dest="language", metavar="LANG",
                   help="multilingual BASE: the language of the training texts (required)")
    p.add_argument("--head", choices=("bag", "cnn", "bilstm", "encoder"), default="bag",
                   help="classifier head (default bag)")
    emb = p.add_mutually_exclusive_group()
    emb.add_argument("--train-embeddings", dest="train_embeddings", action="store_true",
                     default=None, help="update the embedding table (default)")
    emb.add_argument("--freeze-embeddings", dest="train_embeddings", action="store_false",
                     help="keep the embedding table fixed (encoder: its embedding layers)")
    p.add_argument("--freeze-encoder", action="store_true",
                   help="encoder head: train only the classification layer")
    p.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), help="optimiser")
    p.add_argument("--lr", type=positive_float, help="peak learning rate")
    p.add_argument("--schedule", choices=("constant", "linear", "cosine"),
                   help="learning-rate schedule after warm-up")
    p.add_argument("--warmup", type=nonneg_float, help="warm-up, a fraction of all steps")
    p.add_argument("--weight-decay", type=nonneg_float, help="weight decay (weight matrices only)")
    p.add_argument("--dropout", type=nonneg_float, help="dropout rate before the output layer")
    p.add_argument("--epochs", type=positive_int, help="maximum number of epochs")
    p.add_argument("--batch-size", type=positive_int, help="examples per step")
    p.add_argument("--patience", type=nonneg_int,
                   help="stop after this many epochs without a better dev macro-F1 (0: never)")
    p.add_argument("--max-len", type=positive_int,
                   help="window in tokens; longer texts keep their first tokens (reported)")
    p.add_argument("--bigrams", action="store_true", help="bag head: add hashed token bigrams")
    p.add_argument("--buckets", type=positive_int, default=200_000,
                   help="bigram hash buckets (default 200000)")
    p.add_argument("--hidden", type=nonneg_int,
                   help="bag: ReLU hidden layer size (default 0, none); bilstm: state size")
    p.add_argument("--filters", type=positive_int, default=100, help="cnn: filters per width")
    p.add_argument("--widths", type=_widths, default=[3, 4, 5],
                   help="cnn: convolution widths (default 3,4,5)")
    p.add_argument("--layers", type=positive_int, default=1, help="bilstm: layers (default 1)")
    p.add_argument("--pool", choices=("cls", "mean", "max"),
                   help="encoder: cls (default) or mean; bilstm: max (default) or mean")
    p.add_argument("--layer-decay", type=positive_float, metavar="D",
                   help="encoder: layer-wise learning-rate decay; the classifier trains at "
                        "--lr, the top block at lr*D, the embeddings at lr*D^(layers+1) "
                        "(default 1: one rate)")
    p.add_argument("--grad-clip", type=nonneg_float,
                   help="clip the gradient norm of dense weights (0: off; default 5, encoder 1)")
    p.add_argument("--dim", type=positive_int, default=100, help="BASE none: vector size")
    p.add_argument("--tokenizer", choices=KINDS, default="word",
                   help="BASE none or a vector file: tokenizer kind (zh-char, zh-word for "
                        "Chinese; default word)")
    p.add_argument("--lowercase", action="store_true",
                   help="BASE none or a vector file: lowercase the text")
    p.add_argument("--min-count", type=positive_int, default=1,
                   help="words seen fewer times in training get no row of their own (default 1)")
    p.add_argument("--no-extend-vocab", dest="extend_vocab", action="store_false",
                   help="static bases: do not add training words missing from the base")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--threads", type=positive_int, help="CPU threads for torch")
    p.add_argument("--checkpoint-interval", type=nonneg_float, default=30.0, metavar="SECONDS",
                   help="save the best weights and a resumable checkpoint after an epoch at most "
                        "this often (default 30; 0: after every epoch)")
    p.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="do not fit a softmax temperature on the dev set (probabilities stay "
                        "the plain softmax, T = 1)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in TASK_DIR from its last checkpoint "
                        "(its settings come from the checkpoint; BASE is not read again)")
    add_encoding_errors(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..classify import FinetuneConfig, finetune
    from .common import show_progress

    cfg = FinetuneConfig(
        head=args.head, optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay,
        dropout=args.dropout, epochs=args.epochs, batch_size=args.batch_size,
        patience=args.patience, schedule=args.schedule, warmup=args.warmup,
        max_len=args.max_len, train_embeddings=args.train_embeddings,
        freeze_encoder=args.freeze_encoder, bigrams=args.bigrams, buckets=args.buckets,
        hidden=args.hidden, filters=args.filters, widths=args.widths, layers=args.layers,
        pool=args.pool, layer_decay=args.layer_decay, seed=args.seed, threads=args.threads,
        dim=args.dim,
        tokenizer=args.tokenizer, lowercase=args.lowercase, min_count=args.min_count,
        extend_vocab=args.extend_vocab, grad_clip=args.grad_clip,
        checkpoint_interval=args.checkpoint_interval, calibrate=args.calibrate,
        language=args.language)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model = finetune(args.base, args.output, args.train, args.dev, args.test, cfg,
                     resume=args.resume, progress=show_progress(), errors=args.encoding_errors)
    scores = model.metrics
    dev = scores["dev"]
    parts = [f"best epoch {scores['best_epoch']}",
             f"dev accuracy {dev['accuracy']:.4f} macro-F1 {dev['macro_f1']:.4f}"]
    if "test" in scores:
        parts.append(f"test accuracy {scores['test']['accuracy']:.4f} "
                     f"macro-F1 {scores['test']['macro_f1']:.4f}")
    calibration = model.config.get("calibration", {})
    if calibration.get("method") == "temperature":
        parts.append(f"temperature {model.temperature:.4g} (dev NLL "
                     f"{calibration['dev_nll_before']:.4f} -> {calibration['dev_nll_after']:.4f})")
    else:
        parts.append("uncalibrated (temperature 1)")
    if model.language is not None:
        parts.insert(0, f"language {model.language} of {', '.join(model.languages)}")
    print(f"classifier ({args.head}) written to {args.output}: " + "; ".join(parts),
          file=sys.stderr)
    return 0
