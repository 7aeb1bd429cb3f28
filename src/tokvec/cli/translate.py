"""``tokvec translate``: translate a file line by line with a ``tokvec seq2seq`` model."""

from __future__ import annotations

import argparse
import sys
import time

from ..atomic import atomic_file
from ..errors import TokvecError
from .common import nonneg_float, positive_int, show_progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "translate", help="translate a text file with a seq2seq model",
        description="Write one detokenized translation per input line (blank lines stay "
                    "blank). With --nbest K, K lines per input: index TAB score TAB text.")
    p.add_argument("model", help="translation model directory (from tokvec seq2seq)")
    p.add_argument("--input", required=True, help="source text, one sentence per line")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument("--beam", type=positive_int, default=5, help="beam size (default 5; 1 is "
                                                                "greedy)")
    p.add_argument("--nbest", type=positive_int, default=1,
                   help="hypotheses per line (at most --beam)")
    p.add_argument("--batch-tokens", type=positive_int, default=16384,
                   help="source tokens x beam per decoding batch (default 16384)")
    p.add_argument("--length-penalty", type=nonneg_float, default=0.6,
                   help="alpha of Wu et al.'s length penalty (default 0.6)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import torch
    from tqdm.auto import tqdm

    from ..seq2seq.data import read_lines
    from ..seq2seq.translator import load_translation_model

    if args.nbest > args.beam:
        raise TokvecError(f"--nbest ({args.nbest}) cannot exceed --beam ({args.beam})")
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_translation_model(args.model)
    lines = read_lines(args.input)
    keep = [i for i, line in enumerate(lines) if line.strip()]
    sources = [lines[i].strip() for i in keep]
    _, cut, first = model.encode_sources(sources)
    if cut:
        print(f"tokvec translate: warning: {cut} line(s) longer than the model's "
              f"{model.arch.max_len} positions were truncated (first: {args.input}:"
              f"{keep[first] + 1})", file=sys.stderr)
    bar = tqdm(total=len(sources), desc="translating", unit="sent",
               disable=not show_progress(), leave=False)
    start = time.perf_counter()
    try:
        hyps = model.translate_nbest(sources, beam=args.beam, nbest=args.nbest,
                                     batch_tokens=args.batch_tokens, alpha=args.length_penalty,
                                     progress=bar)
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    by_line = dict(zip(keep, hyps, strict=True))
    with atomic_file(args.output, "w") as out:
        for i in range(len(lines)):
            found = by_line.get(i)
            if args.nbest == 1:
                out.write((found[0][0] if found else "") + "\n")
                continue
            for text, score in found or []:
                out.write(f"{i}\t{score:.4f}\t{text}\n")
    blank = len(lines) - len(keep)
    print(f"translated {len(sources)} line(s) in {seconds:.1f} s "
          f"({len(sources) / max(seconds, 1e-9):.1f} sentences/s, beam {args.beam})"
          + (f"; {blank} blank line(s) kept blank" if blank else "")
          + f"; written to {args.output}", file=sys.stderr)
    return 0
