"""``tokvec embed``: token, word or sentence vectors of each input line, from any model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..atomic import atomic_file
from ..errors import TokvecError
from ..textio import iter_lines
from .common import add_encoding_errors, positive_int, show_progress

SENTENCE_FORMATS = (".npy", ".safetensors", ".tsv", ".txt")
CHUNK_LINES = 2048


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed", help="vectors of each input line (tokens, words or pooled sentences)",
        description="Run each line of --input through a model (contextual, HuggingFace BERT or "
                    "static). --pool none writes JSONL (one object per line: tokens, word_ids, "
                    "vectors, words, word_vectors; a word's vector is the mean over its "
                    "pieces). --pool mean|cls writes one row per input line: .npy (float32 N x "
                    "d), .safetensors (tensor 'embeddings') or .tsv/.txt (tab-separated) by "
                    "OUT's extension. Lines longer than the model's positions are truncated, "
                    "with one warning line on stderr.")
    p.add_argument("model", help="model directory")
    p.add_argument("--input", "-i", required=True, help="UTF-8 text, one text per line")
    p.add_argument("-o", "--output", required=True,
                   help="output file (.jsonl for --pool none; .npy, .safetensors, .tsv or .txt "
                        "otherwise)")
    p.add_argument("--pool", choices=("none", "mean", "cls"), default="mean",
                   help="none: token and word vectors; mean: average over tokens ([CLS] and "
                        "[SEP] included); cls: the [CLS] vector (default mean)")
    p.add_argument("--batch-size", type=positive_int, default=32,
                   help="texts per forward pass (default 32)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads")
    add_encoding_errors(p)
    p.set_defaults(func=_run)


def _check_output(path: Path, pool: str) -> str:
    ext = path.suffix.lower()
    if pool == "none":
        if ext not in (".jsonl", ".json"):
            raise TokvecError("--pool none writes JSONL; give an output ending in .jsonl",
                              path=path)
    elif ext not in SENTENCE_FORMATS:
        raise TokvecError(f"unknown output format {ext or '(none)'!r}; use one of "
                          f"{', '.join(SENTENCE_FORMATS)}", path=path)
    return ext


def _chunks(path: str, errors: str):  # type: ignore[no-untyped-def]
    chunk: list[tuple[int, str]] = []
    for number, text in iter_lines(path, errors=errors):
        chunk.append((number, text))
        if len(chunk) >= CHUNK_LINES:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _rounded(a: np.ndarray) -> list:
    return np.round(a.astype(np.float64), 6).tolist()


def _run(args: argparse.Namespace) -> int:
    import torch
    from tqdm.auto import tqdm

    from ..contextual.embedding import (
        iter_hidden,
        load_for_embedding,
        pool_vectors,
        word_alignment,
    )

    out = Path(args.output)
    ext = _check_output(out, args.pool)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_for_embedding(args.model)
    if args.pool == "cls":
        pool_vectors(model, np.zeros((1, model.d_model), np.float32), "cls")  # fail early
    truncated: list[int] = []
    rows: list[np.ndarray] = []
    done = [0]
    bar = tqdm(desc="embedding", unit="line", disable=not show_progress(), leave=False,
               dynamic_ncols=True)

    def process(chunk: list[tuple[int, str]], sink) -> None:  # type: ignore[no-untyped-def]
        texts = [t for _, t in chunk]
        encodings = model.encode_texts(texts, args.batch_size)
        truncated.extend(n for (n, _), e in zip(chunk, encodings, strict=True) if e.overflowing)
        results: list = [None] * len(texts)
        for i, vectors in iter_hidden(model, encodings, args.batch_size):
            if args.pool == "none":
                words, word_vecs = word_alignment(model, texts[i], encodings[i], vectors)
                results[i] = json.dumps(
                    {"tokens": encodings[i].tokens, "word_ids": encodings[i].word_ids,
                     "vectors": _rounded(vectors), "words": words,
                     "word_vectors": _rounded(word_vecs)}, ensure_ascii=False)
            else:
                results[i] = pool_vectors(model, vectors, args.pool)
        sink(results)
        done[0] += len(texts)
        bar.update(len(texts))

    if args.pool == "none":
        with atomic_file(out, "w") as handle:
            for chunk in _chunks(args.input, args.encoding_errors):
                process(chunk, lambda lines: handle.writelines(line + "\n" for line in lines))
    else:
        for chunk in _chunks(args.input, args.encoding_errors):
            process(chunk, rows.extend)
        if not rows:
            raise TokvecError("no lines to embed", path=args.input)
        _write_matrix(out, ext, np.stack(rows).astype(np.float32))
    bar.close()
    if truncated:
        print(f"tokvec embed: warning: {len(truncated)} line(s) longer than the model's "
              f"{model.max_len} positions were truncated (first: {args.input}:{truncated[0]})",
              file=sys.stderr)
    print(f"embedded {done[0]} lines with {args.model} (pool {args.pool}, d={model.d_model}) "
          f"into {out}", file=sys.stderr)
    return 0


def _write_matrix(out: Path, ext: str, matrix: np.ndarray) -> None:
    if ext == ".npy":
        with atomic_file(out) as handle:
            np.save(handle, matrix, allow_pickle=False)
    elif ext == ".safetensors":
        from safetensors.numpy import save

        with atomic_file(out) as handle:
            handle.write(save({"embeddings": matrix}, metadata={"format": "np"}))
    else:
        with atomic_file(out, "w") as handle:
            for row in matrix:
                handle.write("\t".join(f"{x:.6g}" for x in row) + "\n")
