"""Benchmark: tokvec's masked-LM pretraining against HuggingFace ``BertForMaskedLM``.

Both train the same configuration (hidden 256, 4 layers, 4 heads, FFN 1024, seq 128, batch 32,
AdamW, CPU, 2 threads; fp32, or both under bf16 autocast with ``--precision bf16``) on the same
packed blocks of the English corpus (same WordPiece tokenizer, same masks: 15%, 80/10/10, drawn
per step from the same seeds), with the same learning rate schedule, weight-decay rule and
gradient clipping. Each runs in its own child process, so peak RSS is per run. Reported:
tokens/s (after warm-up steps), peak RSS, training loss at equal
token counts, and the loss on held-out blocks after training.

Run timings alone::

    flock /tmp/tokvec-bench.lock .venv/bin/python bench/contextual.py --steps 60

(``--tokenizer DIR`` reuses a trained tokenizer; otherwise one is trained on the corpus, which
takes a few minutes.) Needs ``transformers`` (``pip install transformers``; it keeps torch).

Recipes and objectives at equal wall-clock budgets (MLM against ELECTRA, 30 minutes each, then
WiC and fine-tuning) are ``bench/contextual_recipe.py``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CORPUS = "/work/shared/data/en/corpus.txt"
CONFIG = {"d_model": 256, "layers": 4, "heads": 4, "ffn": 1024, "seq_len": 128, "batch": 32}
LR, WEIGHT_DECAY, WARMUP_FRACTION = 5e-4, 0.01, 0.05
EVAL_BLOCKS = 64
RUNS = ("tokvec", "hf", "hf-lines")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def prepare_data(args: argparse.Namespace, work: Path) -> dict:
    """Encode just enough of the corpus for train + eval blocks; save it for the children."""
    from safetensors.numpy import save_file

    from tokvec.textio import iter_line_batches
    from tokvec.tokenization import Tokenizer

    if args.tokenizer:
        tok = Tokenizer.load(args.tokenizer)
    else:
        print("training the WordPiece tokenizer on the corpus ...", file=sys.stderr)
        tok = Tokenizer.train([args.corpus], kind="wordpiece", vocab_size=args.vocab_size,
                              lowercase=True)
        tok.save(work / "tokenizer")
    body = CONFIG["seq_len"] - 1
    need = (args.steps * CONFIG["batch"] + EVAL_BLOCKS) * body
    sep = tok.token_to_id("[SEP]")
    pieces, have = [], 0
    for batch in iter_line_batches(args.corpus, 4096):
        for enc in tok.encode_batch(batch):
            pieces += [np.asarray(enc.ids, np.int32), np.array([sep], np.int32)]
            have += len(enc.ids) + 1
        if have >= need:
            break
    stream = np.concatenate(pieces)[:need]
    if len(stream) < need:
        raise SystemExit(f"corpus too small for {args.steps} steps")
    lines = pieces[0::2]  # the same text, one example per line (for the line-by-line baseline)
    offsets = np.cumsum([0] + [len(x) for x in lines]).astype(np.int64)
    save_file({"stream": stream, "line_ids": np.concatenate(lines), "line_offsets": offsets},
              str(work / "data.safetensors"))
    ids = {t: tok.token_to_id(t) for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]")}
    return {"vocab_size": tok.vocab_size, **{k.strip("[]").lower(): v for k, v in ids.items()}}


def child(args: argparse.Namespace) -> None:
    """One timed training run; prints a JSON line."""
    import torch
    from safetensors.numpy import load_file

    from tokvec.contextual.checkpoint import step_seed
    from tokvec.contextual.data import Masker, PackedBlocks
    from tokvec.contextual.optim import lr_factor, param_groups
    from tokvec.contextual.precision import training_autocast

    torch.set_num_threads(args.threads)
    meta = json.loads(args.meta)
    data = load_file(str(Path(args.work) / "data.safetensors"))
    blocks = PackedBlocks(data["stream"], CONFIG["seq_len"], meta["cls"])
    line_batches = _line_batches(data, meta) if args.child == "hf-lines" else None
    special = [meta["pad"], meta["cls"], meta["sep"], meta["mask"]]
    masker = Masker(meta["vocab_size"], meta["mask"], special)
    torch.manual_seed(0)
    if args.child == "tokvec":
        from tokvec.contextual.bert import MaskedLM, TransformerEncoder
        from tokvec.contextual.config import EncoderConfig
        from tokvec.contextual.optim import make_adamw

        cfg = EncoderConfig(meta["vocab_size"], CONFIG["d_model"], CONFIG["layers"],
                            CONFIG["heads"], CONFIG["ffn"], CONFIG["seq_len"], dropout=0.1)
        model = MaskedLM(TransformerEncoder(cfg))
        optimizer = make_adamw(param_groups([model], WEIGHT_DECAY), LR)

        def loss_of(inputs, positions, targets):  # type: ignore[no-untyped-def]
            return model(inputs, positions, targets)
    else:
        from transformers import BertConfig, BertForMaskedLM

        cfg = BertConfig(vocab_size=meta["vocab_size"], hidden_size=CONFIG["d_model"],
                         num_hidden_layers=CONFIG["layers"],
                         num_attention_heads=CONFIG["heads"],
                         intermediate_size=CONFIG["ffn"],
                         max_position_embeddings=CONFIG["seq_len"], pad_token_id=meta["pad"],
                         attention_probs_dropout_prob=0.0)
        model = BertForMaskedLM(cfg)
        optimizer = torch.optim.AdamW(param_groups([model], WEIGHT_DECAY), lr=LR)

        def loss_of(inputs, positions, targets):  # type: ignore[no-untyped-def]
            labels = torch.full((inputs.numel(),), -100, dtype=torch.long)
            labels[positions] = targets
            return model(input_ids=inputs, attention_mask=inputs != meta["pad"],
                         labels=labels.view_as(inputs)).loss

    batch = CONFIG["batch"]
    budget = args.steps * batch * CONFIG["seq_len"]  # tokens every run trains on
    steps = (args.steps if line_batches is None
             else _steps_for(line_batches, budget, meta["pad"]))
    warmup = max(1, int(steps * WARMUP_FRACTION))
    losses, seen, start, cpu_start, timed_tokens = [], [], 0.0, 0.0, 0
    tokens = 0
    model.train()
    for step in range(steps):
        if step == args.warmup_steps:
            start, cpu_start, timed_tokens = time.perf_counter(), time.process_time(), 0
        for group in optimizer.param_groups:
            group["lr"] = LR * lr_factor(step, warmup, steps)
        torch.manual_seed(step_seed(0, 0, step))
        masker.generator.manual_seed(step_seed(0, 0, step) + 1)
        ids = (blocks.batch(np.arange(step * batch, (step + 1) * batch))
               if line_batches is None else line_batches[step])
        inputs, positions, targets = masker(ids)
        with training_autocast(torch.device("cpu"), args.precision):
            loss = loss_of(inputs, positions, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        real = int((ids != meta["pad"]).sum())  # padding is not counted as work done
        tokens += real
        timed_tokens += real
        losses.append(float(loss.item()))
        seen.append(tokens)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    model.eval()
    eval_losses = []
    with torch.no_grad(), training_autocast(torch.device("cpu"), args.precision):
        first = args.steps * batch
        for k in range(0, EVAL_BLOCKS, batch):
            masker.generator.manual_seed(10_000 + k)
            inputs, positions, targets = masker(blocks.batch(np.arange(first + k,
                                                                       first + k + batch)))
            eval_losses.append(float(loss_of(inputs, positions, targets)))
    print(json.dumps({"tokens_per_s": timed_tokens / elapsed,
                      "tokens_per_cpu_s": timed_tokens / cpu, "losses": losses, "seen": seen,
                      "eval_loss": float(np.mean(eval_losses)), "steps": steps}))


def _line_batches(data: dict, meta: dict) -> list:
    """The line-by-line baseline: one example per corpus line ([CLS] line [SEP], truncated to
    seq_len), 32 lines per batch, padded to the batch's longest line (dynamic padding)."""
    import torch

    ids, offsets = data["line_ids"], data["line_offsets"]
    body = CONFIG["seq_len"] - 2
    out = []
    for start in range(0, len(offsets) - 1 - CONFIG["batch"], CONFIG["batch"]):
        rows = [ids[offsets[i]:offsets[i + 1]][:body] for i in range(start,
                                                                      start + CONFIG["batch"])]
        width = max(len(r) for r in rows) + 2
        batch = torch.full((len(rows), width), meta["pad"], dtype=torch.long)
        for j, r in enumerate(rows):
            batch[j, 0] = meta["cls"]
            batch[j, 1:len(r) + 1] = torch.from_numpy(r.astype(np.int64))
            batch[j, len(r) + 1] = meta["sep"]
        out.append(batch)
    return out


def _steps_for(batches: list, budget: int, pad: int) -> int:
    """Steps of ``batches`` that reach ``budget`` real tokens (all of them if fewer)."""
    total = 0
    for step, batch in enumerate(batches, start=1):
        total += int((batch != pad).sum())
        if total >= budget:
            return step
    return len(batches)


def run_child(name: str, args: argparse.Namespace, work: Path, meta: dict) -> dict:
    cmd = [sys.executable, __file__, "--child", name, "--work", str(work), "--meta",
           json.dumps(meta), "--steps", str(args.steps), "--warmup-steps",
           str(args.warmup_steps), "--threads", str(args.threads), "--precision",
           args.precision]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{name} run failed (status {status})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


def _loss_at(result: dict, tokens: int, window: int = 10) -> float:
    """Mean training loss of the ``window`` steps ending where ``tokens`` were first reached."""
    end = int(np.searchsorted(np.asarray(result["seen"]), tokens)) + 1
    return float(np.mean(result["losses"][max(0, end - window):end]))


def report(args: argparse.Namespace, meta: dict, results: dict[str, dict]) -> str:
    import torch
    import transformers

    tv = results["tokvec"]
    tokens_per_step = CONFIG["batch"] * CONFIG["seq_len"]
    names = {"tokvec": "tokvec MaskedLM (packed)",
             "hf": "transformers BertForMaskedLM, packed blocks",
             "hf-lines": "transformers BertForMaskedLM, line by line, dynamic padding"}
    lines = [
        f"Run {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {_cpu_name()} "
        f"({os.cpu_count()} cores), {args.threads} threads, {args.precision}, torch "
        f"{torch.__version__}, transformers {transformers.__version__}; WordPiece |V| = "
        f"{meta['vocab_size']}; every run trains on {args.steps * tokens_per_step:,} real "
        f"tokens, the first {args.warmup_steps} steps untimed.",
        "",
        "| run | tokens/s | tokvec speed-up | tokens per CPU-second | speed-up by CPU time "
        "| peak RSS (MB) | held-out MLM loss |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(f"| {names[name]} | {r['tokens_per_s']:,.0f} | "
                     f"{tv['tokens_per_s'] / r['tokens_per_s']:.2f}x | "
                     f"{r['tokens_per_cpu_s']:,.0f} | "
                     f"{tv['tokens_per_cpu_s'] / r['tokens_per_cpu_s']:.2f}x | "
                     f"{r['peak_rss_mb']:,.0f} | {r['eval_loss']:.3f} |")
    lines += ["", "Training loss (mean of the 10 steps up to each point) by real tokens seen:",
              "", "| tokens | " + " | ".join(results) + " |",
              "|---:|" + "---:|" * len(results)]
    budget = args.steps * tokens_per_step
    for p in sorted({budget * k // 6 for k in range(1, 7)}):
        cells = " | ".join(f"{_loss_at(r, p):.3f}" for r in results.values())
        lines.append(f"| {p:,} | {cells} |")
    return "\n".join(lines)


def wic_report(paths: list[str], wic: str) -> str:
    """WiC AUC of each model, of its token table used context-free, and of a random encoder."""
    import torch

    from tokvec.contextual import ContextualModel, load_contextual
    from tokvec.contextual.wic import evaluate_wic
    from tokvec.static_model import StaticModel

    rows = ["| model | AUC | best accuracy | pairs | skipped |", "|---|---:|---:|---:|---:|"]

    def add(name: str, model: object) -> None:
        r = evaluate_wic(model, wic)
        rows.append(f"| {name} | {r['auc']:.3f} | {r['accuracy']:.3f} | {r['pairs']} | "
                    f"{r['skipped']} |")

    for path in paths:
        m = load_contextual(path)
        add(path, m)
        if m.arch is not None and m.config.get("training"):
            table = m.module.state_dict()["tok_emb.weight"].numpy() if m.kind == "bert" \
                else m.module.state_dict()["lm.tok_emb.weight"].numpy()
            add(f"{path}: its token table, no context", StaticModel(m.tokenizer, table))
            torch.manual_seed(0)
            add(f"{path}: same architecture, random weights",
                ContextualModel.create(m.kind, m.arch, m.tokenizer))
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=CORPUS)
    parser.add_argument("--tokenizer", help="a trained WordPiece tokenizer directory")
    parser.add_argument("--vocab-size", type=int, default=30000)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="bf16: both systems under torch.autocast (bfloat16 matrix products)")
    parser.add_argument("--only", choices=RUNS, help="run one of them only")
    parser.add_argument("--child", choices=RUNS, help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--meta", help=argparse.SUPPRESS)
    parser.add_argument("--wic", nargs="+", metavar="MODEL",
                        help="instead of timing: WiC AUC of these model directories")
    parser.add_argument("--wic-file", default=str(Path(__file__).resolve().parents[1] / "tests"
                                                  / "data" / "wic_small.tsv"))
    args = parser.parse_args()
    if args.wic:
        print(wic_report(args.wic, args.wic_file))
        return
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        meta = prepare_data(args, work)
        results = {}
        for name in RUNS:
            if args.only in (None, name):
                print(f"running {name} ...", file=sys.stderr)
                results[name] = run_child(name, args, work, meta)
                print(f"  {name}: {results[name]['tokens_per_s']:,.0f} tokens/s, "
                      f"peak RSS {results[name]['peak_rss_mb']:,.0f} MB", file=sys.stderr)
    if len(results) == len(RUNS):
        print(report(args, meta, results))
    else:
        print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "losses"}
                          for k, v in results.items()}))


if __name__ == "__main__":
    main()
