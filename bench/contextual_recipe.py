"""Benchmark: pretraining recipes on a CPU budget, scored the way a user would use the model.

Each row runs, one after the other and each alone on the machine, exactly what a user types:

1. ``tokvec pretrain CORPUS -o DIR --max-minutes M FLAGS...`` (the row's flags; none for the
   defaults),
2. ``tokvec evaluate DIR --wic tests/data/wic_small.tsv --json`` (word-sense AUC), and
3. ``tokvec finetune DIR --head encoder --train/--dev/--test ... --epochs E --no-calibrate``
   (the encoder head at its defaults; dev selects the epoch, test is scored once).

and reports per row: optimizer steps, tokens seen, tokens/s, the last logged loss, WiC AUC,
dev and test accuracy. Rows are given as ``NAME=FLAGS`` (``defaults=`` for none)::

    flock /tmp/tokvec-bench.lock .venv/bin/python bench/contextual_recipe.py --minutes 5 \\
        --row "defaults=" --row "mask30=--mask-prob 0.3" --json docs/contextual-recipe.json

``--task-dir`` holds ``train.tsv``, ``dev.tsv`` and ``test.tsv`` (default: the English movie
reviews); ``--corpus`` is the pretraining text (default: the English corpus). ``--keep DIR``
keeps the model directories. The JSON file gains one entry per row and is rewritten after each,
so an interrupted run keeps the rows it finished (a row already in the file is skipped unless
``--redo``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from contextual import _cpu_name  # bench/contextual.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
CORPUS = "/work/shared/data/en/corpus.txt"
TASK_DIR = "/work/shared/data/en/movie-reviews"
WIC = ROOT / "tests" / "data" / "wic_small.tsv"
TOKVEC = [sys.executable, "-m", "tokvec.cli"]
RESULT = re.compile(r"dev accuracy ([0-9.]+) macro-F1 ([0-9.]+); test accuracy ([0-9.]+) "
                    r"macro-F1 ([0-9.]+)")


def _run(cmd: list[str], log: Path) -> str:
    """Run ``cmd`` with progress bars off; its stderr goes to ``log``; fail loudly."""
    env = {**os.environ, "TOKVEC_PROGRESS": "0"}
    with log.open("a") as handle:
        handle.write("$ " + shlex.join(cmd) + "\n")
        handle.flush()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=handle, text=True, env=env,
                              cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[3]} failed (exit {proc.returncode}); see {log}")
    return proc.stdout


def run_row(name: str, flags: list[str], args: argparse.Namespace, work: Path) -> dict:
    model, task = work / name, work / f"{name}-task"
    log = work / f"{name}.log"
    start = time.time()
    _run([*TOKVEC, "pretrain", args.corpus, "-o", str(model), "--max-minutes",
                   str(args.minutes), *flags], log)
    pretrain_s = time.time() - start
    training = json.loads((model / "config.json").read_text())["training"]
    steps = [json.loads(line) for line in (model / "training.jsonl").open()]
    wic = {"auc": None}
    if args.wic != "none":
        scores = json.loads(_run([*TOKVEC, "evaluate", str(model), "--wic", str(args.wic),
                                  "--json"], log))
        wic = next(iter(scores.values()))
    tasks = Path(args.task_dir)
    _run([*TOKVEC, "finetune", str(model), "-o", str(task), "--head", "encoder",
                   "--train", str(tasks / "train.tsv"), "--dev", str(tasks / "dev.tsv"),
                   "--test", str(tasks / "test.tsv"), "--epochs", str(args.epochs),
                   "--no-calibrate", *args.finetune_flags], log)
    found = RESULT.findall(log.read_text())
    if not found:
        raise SystemExit(f"no fine-tuning result in {log}")
    dev_acc, dev_f1, test_acc, test_f1 = (float(x) for x in found[-1])
    timed = [s["tokens_per_s"] for s in steps[1:]] or [steps[-1]["tokens_per_s"]]
    return {"flags": shlex.join(flags), "minutes": args.minutes,
            "steps": training["steps_done"], "tokens": training["tokens_seen"],
            "tokens_per_s": round(sum(timed) / len(timed), 1),
            "final_loss": training["final_loss"], "pretrain_wall_s": round(pretrain_s, 1),
            "vocab_size": json.loads((model / "config.json").read_text())["vocab_size"],
            "wic_auc": wic["auc"], "dev_accuracy": dev_acc, "dev_macro_f1": dev_f1,
            "test_accuracy": test_acc, "test_macro_f1": test_f1,
            "finetune_epochs": args.epochs}


def _auc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def table(rows: dict[str, dict]) -> str:
    out = ["| row | flags | steps | tokens | tokens/s | loss | WiC AUC | dev acc | test acc |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        out.append(f"| {name} | `{r['flags'] or '(defaults)'}` | {r['steps']:,} | "
                   f"{r['tokens'] / 1e6:.2f}M | {r['tokens_per_s']:,.0f} | {r['final_loss']:.2f} | "
                   f"{_auc(r['wic_auc'])} | {r['dev_accuracy']:.3f} | {r['test_accuracy']:.3f} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--row", action="append", required=True, metavar="NAME=FLAGS",
                        help="a row: its name and the pretrain flags (repeatable)")
    parser.add_argument("--minutes", type=float, default=5.0, help="pretraining budget per row")
    parser.add_argument("--corpus", default=CORPUS)
    parser.add_argument("--task-dir", default=TASK_DIR)
    parser.add_argument("--wic", default=str(WIC),
                        help="WiC pairs file ('none' to skip, e.g. for a Chinese corpus)")
    parser.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs")
    parser.add_argument("--finetune-flags", default="",
                        help="extra finetune flags, e.g. '--max-len 128'")
    parser.add_argument("--json", required=True, help="results file (rows are added)")
    parser.add_argument("--keep", help="keep the model directories here")
    parser.add_argument("--redo", action="store_true", help="rerun rows already in --json")
    args = parser.parse_args()
    args.finetune_flags = shlex.split(args.finetune_flags)
    rows = []
    for spec in args.row:
        name, sep, flags = spec.partition("=")
        if not sep or not re.fullmatch(r"[\w.+-]+", name):
            parser.error(f"--row {spec!r}: expected NAME=FLAGS with a plain NAME")
        rows.append((name, shlex.split(flags)))
    out = Path(args.json)
    done = json.loads(out.read_text()) if out.exists() else {"rows": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name, flags in rows:
            if name in done["rows"] and not args.redo:
                print(f"{name}: already in {out}, skipped", file=sys.stderr)
                continue
            shown = shlex.join(flags) or "(defaults)"
            print(f"{name}: pretraining {args.minutes:g} min with {shown}", file=sys.stderr)
            result = run_row(name, flags, args, work)
            result["date"] = datetime.datetime.now(datetime.UTC).strftime("%F %H:%M UTC")
            result["machine"] = f"{_cpu_name()}, {os.cpu_count()} cores"
            result["corpus"], result["task_dir"] = args.corpus, args.task_dir
            done["rows"][name] = result
            tmp_out = out.with_suffix(out.suffix + ".tmp")
            tmp_out.write_text(json.dumps(done, indent=1) + "\n")
            tmp_out.replace(out)
            print(f"{name}: WiC {_auc(result['wic_auc'])}, test accuracy "
                  f"{result['test_accuracy']:.3f}", file=sys.stderr)
    print(table({n: done["rows"][n] for n, _ in rows if n in done["rows"]}))


if __name__ == "__main__":
    main()
