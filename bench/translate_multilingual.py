"""One tokvec translation model from two source languages (es+zh→en), one joint table.

Trains on ``train.es``→``train.en`` and ``train.zh``→``train.en`` together (one joint BPE
vocabulary over the three languages, one |V| x d_model table) with the configuration of
``bench/translate.py``, for the same wall-clock budget, then scores each direction's test split
at beam 5. Optionally (``--init VECTORS``) the table starts from pretrained vectors, or
(``--init-encoder BERT_DIR``) the encoder from a ``tokvec pretrain`` model, against the same
vocabulary and shape with random weights (``--encoder-shape BERT_DIR``).

    python bench/translate_multilingual.py --minutes 12 --json docs/translate-multi.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from translate import ARCH, DATA

SHAPE = ("d_model", "enc_layers", "heads", "ffn", "max_len", "norm", "activation", "positions",
         "vocab_size")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=12.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sources", default="es,zh", help="source languages (default es,zh)")
    p.add_argument("--init", help="start the table from these vectors (d_model must match)")
    p.add_argument("--init-encoder", metavar="BERT_DIR",
                   help="warm-start the encoder from this tokvec pretrain model (its vocabulary "
                        "and shape)")
    p.add_argument("--encoder-shape", metavar="BERT_DIR",
                   help="the baseline of --init-encoder: this model's vocabulary and shape, "
                        "random weights")
    p.add_argument("--json")
    args = p.parse_args()
    from tokvec.seq2seq import load_translation_model, score_translations, train_seq2seq

    langs = args.sources.split(",")
    pairs = [(DATA / f"train.{s}", DATA / "train.en") for s in langs]
    cfg = {**ARCH, "batch_tokens": 4096, "lr": 7e-4, "warmup": 100,
           "max_minutes": args.minutes, "threads": args.threads, "checkpoint_every": 0,
           "log_every": 20, "eval_every": 10 ** 9}
    if args.init_encoder or args.encoder_shape:  # the pretrained model decides the shape
        from tokvec.seq2seq.warmstart import load_pretrained_encoder, warm_start_options

        cfg = {k: v for k, v in cfg.items() if k not in SHAPE}
        if args.encoder_shape:
            cfg = warm_start_options(load_pretrained_encoder(args.encoder_shape),
                                     args.encoder_shape, cfg)
    with tempfile.TemporaryDirectory() as tmp:
        result = train_seq2seq(pairs, Path(tmp) / "m", cfg, init_embeddings=args.init,
                               init_encoder=args.init_encoder)
        model = load_translation_model(Path(tmp) / "m")
        coverage = model.config.get("training", {}).get("init_coverage")
        refs = (DATA / "test.en").read_text(encoding="utf-8").splitlines()
        scores = {}
        for s in langs:
            src = (DATA / f"test.{s}").read_text(encoding="utf-8").splitlines()
            t0 = time.perf_counter()
            hyps = model.translate(src, beam=5)
            rate = len(src) / (time.perf_counter() - t0)
            scores[f"{s}-en"] = {**score_translations(hyps, refs), "beam5_sentences_per_s": rate}
    report = {"date": time.strftime("%Y-%m-%d"), "sources": langs, "minutes": args.minutes,
              "init": args.init, "init_coverage": coverage, "init_encoder": args.init_encoder,
              "encoder_shape": args.encoder_shape, "steps": result.steps,
              "tokens_per_s": result.target_tokens / result.seconds, "test": scores}
    print(f"{'+'.join(langs)}->en, one model, {args.minutes:g} min, {result.steps} steps, "
          f"{report['tokens_per_s']:.0f} target tok/s" + (f", init {args.init}" if args.init
                                                         else "")
          + (f", encoder from {args.init_encoder}" if args.init_encoder else ""))
    for pair, s in scores.items():
        print(f"  {pair}: test BLEU {s['bleu']:.2f}  chrF {s['chrf']:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
