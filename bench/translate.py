"""tokvec seq2seq against transformers' MarianMTModel, same data, vocabulary and architecture.

Both train from scratch for the same wall-clock budget on ``parallel/bible`` (train split only):
d_model 256, 3+3 layers, 4 heads, FFN 1024, ReLU, post-norm (Marian's layout), sinusoidal
positions, three-way tied embeddings, label smoothing 0.1, dropout 0.1, the same joint BPE
vocabulary (tokvec's, learned on the training text), the same length-bucketed batches of about
``--batch-tokens`` target tokens, Adam (0.9, 0.98) with inverse-square-root warm-up, clipping at
1.0, fp32, ``--threads`` threads. Each trainer runs in its own process so that peak RSS is its
own. Then, on the test split: BLEU and chrF (sacrebleu) of both at beam 5, and decoding speed at
beam 5 of tokvec, of ``generate()`` on tokvec's weights exported to MarianMT, and of CTranslate2
on that export.

    python bench/translate.py --pair es-en --minutes 10 --json docs/translate-es-en.json

Prints one table; ``--json`` keeps every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "parallel" / "bible"
ARCH = {"d_model": 256, "enc_layers": 3, "dec_layers": 3, "heads": 4, "ffn": 1024,
        "norm": "post", "activation": "relu", "dropout": 0.1, "label_smoothing": 0.1,
        "max_len": 256, "vocab_size": 8000}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_tokvec(args: argparse.Namespace, work: Path) -> dict:
    from tokvec.seq2seq import train_seq2seq

    src, tgt = args.pair.split("-")
    cfg = {**ARCH, "batch_tokens": args.batch_tokens, "lr": args.lr, "warmup": args.warmup,
           "max_minutes": args.minutes, "threads": args.threads, "seed": 0,
           "checkpoint_every": 0, "log_every": 20, "eval_every": 10 ** 9,
           "precision": args.precision}
    result = train_seq2seq([(DATA / f"train.{src}", DATA / f"train.{tgt}")], work / "tokvec",
                           cfg)
    return {"steps": result.steps, "target_tokens": result.target_tokens,
            "seconds": result.seconds, "tokens_per_s": result.target_tokens / result.seconds,
            "final_loss": result.loss, "peak_rss_mb": _rss_mb()}


def train_marian(args: argparse.Namespace, work: Path) -> dict:
    import torch
    import torch.nn.functional as F
    from transformers import MarianConfig, MarianMTModel

    from tokvec.seq2seq import load_translation_model
    from tokvec.seq2seq.data import TokenBatches, encode_pairs, pad_batch, read_parallel
    from tokvec.seq2seq.marian import marian_config
    from tokvec.seq2seq.train import inverse_sqrt

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours = load_translation_model(work / "tokvec")  # for its tokenizer and shape only
    src, tgt = args.pair.split("-")
    text = read_parallel(DATA / f"train.{src}", DATA / f"train.{tgt}")
    sp = ours.special
    pairs = encode_pairs([text], ours.src_tok, ours.tgt_tok, "none", "none", sp.eos,
                         ARCH["max_len"])
    batches = TokenBatches(pairs.src_lengths(), pairs.tgt_lengths(), args.batch_tokens, 0)
    config = MarianConfig(**{k: v for k, v in marian_config(ours).items()
                             if k not in ("architectures", "model_type", "torch_dtype")})
    model = MarianMTModel(config).train()
    pad = config.pad_token_id  # Marian's own start/padding row
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9,
                                 fused=True)
    start, step, tokens, loss_value = time.monotonic(), 0, 0, math.nan
    while time.monotonic() - start < 60 * args.minutes:
        for group in optimizer.param_groups:
            group["lr"] = args.lr * inverse_sqrt(step, args.warmup)
        index = batches.indices(step)
        s = pad_batch([pairs.src[i] for i in index], pad)
        t = [pairs.tgt[i] for i in index]
        t_in, t_out = pad_batch(t, pad, prefix=pad), pad_batch(t, -100, suffix=sp.eos)
        with torch.autocast("cpu", torch.bfloat16, args.precision == "bf16"):
            out = model(input_ids=s, attention_mask=s != pad, decoder_input_ids=t_in)
            loss = F.cross_entropy(out.logits.view(-1, out.logits.shape[-1]), t_out.view(-1),
                                   ignore_index=-100, label_smoothing=0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        tokens += int((t_out != -100).sum())
        loss_value = float(loss)
    seconds = time.monotonic() - start
    model.save_pretrained(work / "marian")
    return {"steps": step, "target_tokens": tokens, "seconds": seconds,
            "tokens_per_s": tokens / seconds, "final_loss": loss_value,
            "peak_rss_mb": _rss_mb()}


def _test_lines(args: argparse.Namespace, split: str) -> tuple[list[str], list[str]]:
    src, tgt = args.pair.split("-")

    def read(path: Path) -> list[str]:
        return path.read_text(encoding="utf-8").splitlines()[:args.limit]

    return read(DATA / f"{split}.{src}"), read(DATA / f"{split}.{tgt}")


def decode_and_score(args: argparse.Namespace, work: Path) -> dict:
    import ctranslate2
    import torch
    from ctranslate2.converters import TransformersConverter
    from transformers import AutoTokenizer, MarianMTModel

    from tokvec.seq2seq import load_translation_model, score_translations
    from tokvec.seq2seq.marian import export_marian

    torch.set_num_threads(args.threads)
    sources, refs = _test_lines(args, "test")
    dev_src, dev_refs = _test_lines(args, "dev")
    chinese = args.pair.endswith("zh")
    out: dict = {}
    ours = load_translation_model(work / "tokvec")

    def timed(fn, lines):
        t0 = time.perf_counter()
        hyps = fn(lines)
        return hyps, len(lines) / (time.perf_counter() - t0)

    tv, rate = timed(lambda x: ours.translate(x, beam=5, batch_tokens=args.decode_tokens),
                     sources)
    dev_tv = ours.translate(dev_src, beam=5, batch_tokens=args.decode_tokens)
    out["tokvec"] = {"test": score_translations(tv, refs, chinese),
                     "dev": score_translations(dev_tv, dev_refs, chinese),
                     "beam5_sentences_per_s": rate}
    export_marian(ours, work / "tokvec-hf")
    tok = AutoTokenizer.from_pretrained(work / "tokvec-hf")

    def generate(model, lines, batch=32):
        hyps = []
        order = sorted(range(len(lines)), key=lambda i: len(lines[i]))
        result = [""] * len(lines)
        for i in range(0, len(order), batch):
            chunk = order[i:i + batch]
            enc = tok([lines[j] for j in chunk], return_tensors="pt", padding=True)
            with torch.inference_mode():
                ids = model.generate(**enc, num_beams=5, length_penalty=1.0,
                                     max_new_tokens=int(1.5 * enc["input_ids"].shape[1]) + 10)
            for j, text in zip(chunk, tok.batch_decode(ids, skip_special_tokens=True),
                               strict=True):
                result[j] = text.strip()
        hyps.extend(result)
        return hyps

    same_weights = MarianMTModel.from_pretrained(work / "tokvec-hf").eval()
    _, rate = timed(lambda x: generate(same_weights, x), sources)
    out["generate_on_tokvec_weights"] = {"beam5_sentences_per_s": rate}
    TransformersConverter(str(work / "tokvec-hf")).convert(str(work / "ct2"), force=True)
    translator = ctranslate2.Translator(str(work / "ct2"), device="cpu", intra_threads=args.threads)

    def ct2(lines):
        pieces = [tok.convert_ids_to_tokens(tok(x)["input_ids"])[:-1] for x in lines]
        res = translator.translate_batch(pieces, beam_size=5, max_batch_size=32,
                                         suppress_sequences=[["[PAD]"], ["[CLS]"], ["[MASK]"]],
                                         disable_unk=True)
        return [tok.convert_tokens_to_string(r.hypotheses[0]).strip() for r in res]

    ct, rate = timed(ct2, sources)
    out["ctranslate2_on_tokvec_weights"] = {"beam5_sentences_per_s": rate,
                                            "test": score_translations(ct, refs, chinese)}
    if not (work / "marian").is_dir():  # --decode-only
        return out
    marian = MarianMTModel.from_pretrained(work / "marian").eval()
    mh, rate = timed(lambda x: generate(marian, x), sources)
    out["marian"] = {"test": score_translations(mh, refs, chinese),
                     "dev": score_translations(generate(marian, dev_src), dev_refs, chinese),
                     "beam5_sentences_per_s": rate}
    return out


def _child(stage: str, args: argparse.Namespace, work: Path) -> dict:
    command = [sys.executable, __file__, "--stage", stage, "--work", str(work),
               *sys.argv[1:]]
    proc = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "TOKVEC_PROGRESS": "0"})
    if proc.returncode != 0:
        sys.exit(f"{stage} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pair", default="es-en", choices=("es-en", "zh-en"))
    p.add_argument("--minutes", type=float, default=10.0, help="training budget per system")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-tokens", type=int, default=4096)
    p.add_argument("--decode-tokens", type=int, default=16384)
    p.add_argument("--decode-only", metavar="MODEL_DIR",
                   help="skip training: decoding speed of this tokvec model (tokvec, "
                        "generate() on its export, CTranslate2) and its BLEU")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="training precision of both systems (bf16: autocast, fp32 weights)")
    p.add_argument("--lr", type=float, default=7e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--limit", type=int, default=None, help="score only the first N dev and "
                                                            "test lines (a quick check)")
    p.add_argument("--json", help="write every figure here")
    p.add_argument("--stage", help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.stage:
        stage = {"tokvec": train_tokvec, "marian": train_marian, "decode": decode_and_score}
        print(json.dumps(stage[args.stage](args, Path(args.work))))
        return
    if args.decode_only:
        import shutil

        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(args.decode_only, Path(tmp) / "tokvec")
            decode = _child("decode", args, Path(tmp))
        tv = decode["tokvec"]["beam5_sentences_per_s"]
        g = decode["generate_on_tokvec_weights"]["beam5_sentences_per_s"]
        c = decode["ctranslate2_on_tokvec_weights"]["beam5_sentences_per_s"]
        print(f"{args.pair} beam 5, {args.decode_only}: tokvec {tv:.1f} sentences/s "
              f"(test BLEU {decode['tokvec']['test']['bleu']:.2f}), generate() {g:.1f} "
              f"({tv / g:.2f}x), CTranslate2 {c:.1f}")
        if args.json:
            Path(args.json).write_text(json.dumps({"date": time.strftime("%Y-%m-%d"),
                                                   "pair": args.pair, "decoding": decode},
                                                  indent=2) + "\n", encoding="utf-8")
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train = {"tokvec": _child("tokvec", args, work), "marian": _child("marian", args, work)}
        decode = _child("decode", args, work)
    ratio = train["tokvec"]["tokens_per_s"] / train["marian"]["tokens_per_s"]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    report = {"date": time.strftime("%Y-%m-%d"), "machine": machine, "pair": args.pair,
              "minutes": args.minutes, "threads": args.threads, "precision": args.precision,
              "training": train,
              "decoding": decode, "train_speed_ratio": ratio}
    print(f"{args.pair}, {args.minutes:g} min each, {args.threads} threads, {args.precision}")
    print(f"{'system':<12}{'tok/s':>9}{'steps':>7}{'RSS MB':>8}{'test BLEU':>11}{'chrF':>7}"
          f"{'dev BLEU':>10}{'beam5 sent/s':>14}")
    for name in ("tokvec", "marian"):
        t, d = train[name], decode[name]
        print(f"{name:<12}{t['tokens_per_s']:>9.0f}{t['steps']:>7}{t['peak_rss_mb']:>8.0f}"
              f"{d['test']['bleu']:>11.2f}{d['test']['chrf']:>7.1f}{d['dev']['bleu']:>10.2f}"
              f"{d['beam5_sentences_per_s']:>14.1f}")
    g = decode["generate_on_tokvec_weights"]["beam5_sentences_per_s"]
    c = decode["ctranslate2_on_tokvec_weights"]["beam5_sentences_per_s"]
    tv = decode["tokvec"]["beam5_sentences_per_s"]
    print(f"training speed tokvec/Marian: {ratio:.2f}x")
    print(f"beam-5 decoding on tokvec's weights: tokvec {tv:.1f}, generate() {g:.1f} "
          f"({tv / g:.2f}x), CTranslate2 {c:.1f} sentences/s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
