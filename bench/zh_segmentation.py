"""Chinese word segmentation quality: tokvec's zh-word tokenizer against the gold segmentation.

Reads ../shared/data/zh/corpus.txt (raw) and corpus.segmented.txt (gold words, space separated),
segments every raw line with tokvec's ``zh-word`` tokenizer pipeline (jieba, then the
HuggingFace whitespace split), and scores word spans: precision, recall and F1 of predicted words
whose character span matches a gold word exactly (the standard SIGHAN scoring). The ``zh-char``
tokenizer is scored the same way as a baseline.

    .venv/bin/python bench/zh_segmentation.py [--data ../shared/data/zh] [--limit N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tokvec.tokenization import Tokenizer
from tokvec.tokenization import _assemble as assemble_pipeline  # the same HF pipeline per kind


def spans(words: list[str]) -> set[tuple[int, int]]:
    out, pos = set(), 0
    for w in words:
        out.add((pos, pos + len(w)))
        pos += len(w)
    return out


def score(kind: str, raw: list[str], gold: list[list[str]]) -> dict[str, float]:
    from tokenizers import models

    tok = Tokenizer(assemble_pipeline(kind, False, models.WordLevel({"[UNK]": 0}, "[UNK]")),
                    kind)
    tp = n_pred = n_gold = skipped = 0
    start = time.perf_counter()
    for line, ref in zip(raw, gold, strict=True):
        pred = tok.words(line)
        if "".join(pred) != "".join(ref):
            skipped += 1
            continue  # normalisation changed characters; such lines are not comparable
        p, g = spans(pred), spans(ref)
        tp += len(p & g)
        n_pred += len(p)
        n_gold += len(g)
    seconds = time.perf_counter() - start
    precision, recall = tp / n_pred, tp / n_gold
    return {"precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall), "seconds": seconds,
            "skipped": skipped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2]
                                              / "shared" / "data" / "zh"))
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    data = Path(args.data)
    raw = data.joinpath("corpus.txt").read_text(encoding="utf-8").splitlines()
    gold = [ln.split() for ln in
            data.joinpath("corpus.segmented.txt").read_text(encoding="utf-8").splitlines()]
    pairs = [(r, g) for r, g in zip(raw, gold, strict=True) if r.strip()]
    if args.limit:
        pairs = pairs[: args.limit]
    # Compare on the text as the pipeline normalises it (NFKC folds full-width forms).
    from tokenizers import normalizers

    nfkc = normalizers.NFKC()
    raw_lines = [r for r, _ in pairs]
    gold_words = [[nfkc.normalize_str(w) for w in g] for _, g in pairs]
    print(f"{len(pairs)} lines, {sum(len(g) for g in gold_words)} gold words")
    print(f"{'tokenizer':<10} {'precision':>9} {'recall':>7} {'f1':>7} {'seconds':>8} "
          f"{'lines not comparable':>21}")
    for kind in ("zh-word", "zh-char"):
        r = score(kind, raw_lines, gold_words)
        print(f"{kind:<10} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['f1']:>7.4f} "
              f"{r['seconds']:>8.1f} {r['skipped']:>21}")


if __name__ == "__main__":
    main()
