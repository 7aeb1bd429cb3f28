"""Starting a translation model's table from pretrained vectors (``--init-embeddings``).

Rows are copied by token, as ``tokvec init`` does, from a tokvec model directory or a
word2vec/GloVe/fastText file: a subword stands for the word it spells once its word-boundary
marker is dropped (byte-level BPE ``Ġking`` is looked up as ``king``), trying the lowercase form
when the exact one is missing. Copied rows are rescaled to the table's own spread, so that
pretrained vectors on another scale do not swamp the position signals. The coverage report of
each table (source, and target with per-side vocabularies) is returned and stored in
``config.json`` under ``training.init_coverage``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from ..errors import TokvecError
from .translator import TranslationModel


def init_table_from_vectors(model: TranslationModel, vectors_path: str | os.PathLike[str]
                            ) -> dict[str, Any]:
    """Copy pretrained vectors into the embedding table(s) by token (a subword's text without
    its word-boundary marker is looked up); returns ``tokvec init``'s coverage report."""
    from ..cli.init import _load_vectors
    from ..table import EmbeddingTable

    vectors = _load_vectors(os.fspath(vectors_path))
    if vectors.dim != model.arch.d_model:
        raise TokvecError(f"the vectors have dimension {vectors.dim} but --d-model is "
                          f"{model.arch.d_model}", path=vectors_path)
    reports = {}
    tables = [("source", model.src_tok, model.network.encoder.tok_emb.weight)]
    if not model.arch.shared_vocab:
        tables.append(("target", model.tgt_tok, model.network.tgt_emb.weight))
    for side, tok, weight in tables:
        vocab = tok.vocabulary()
        ordinary = vocab.word_ids()
        words = [_piece_word(vocab.tokens[i], tok.kind) for i in ordinary]
        with torch.no_grad():
            rows = weight.detach().cpu().numpy()
            sub = EmbeddingTable(np.array(rows[ordinary]))
            report = sub.fill_from(words, lookup=vectors)
            found = np.array([vectors.get_vector_or_none(w) is not None
                              or vectors.get_vector_or_none(w.lower()) is not None
                              for w in words], dtype=bool)
            block = sub.weights
            if found.any():  # pretrained vectors come on their own scale: match the table's
                block[found] *= float(np.std(rows[ordinary])) / max(
                    float(np.std(block[found])), 1e-12)
            rows[ordinary] = block
            weight.copy_(torch.from_numpy(rows))
        reports[side] = {k: v for k, v in report.items() if k != "missing_examples"}
    return reports


def describe_coverage(reports: dict[str, Any], source: str | os.PathLike[str]) -> list[str]:
    """One line per table of :func:`init_table_from_vectors`'s reports, for the user."""
    return [f"{side} table from {source}: {r['coverage']:.1%} of {r['tokens']} tokens found "
            f"({r['found_exact']} exact, {r['found_lowercase']} lowercased), {r['missing']} "
            f"left at their initialisation" for side, r in reports.items()]


def _piece_word(piece: str, kind: str) -> str:
    """The word a subword stands for, as a vector file spells it (boundary marker dropped)."""
    from ..pieces import readable_piece

    text = readable_piece(piece) if kind == "bpe" else piece
    return text.lstrip("▁")
