"""Where a classifier starts: a static model, an imported vector file, a contextual model, or
nothing (random vectors over a vocabulary learnt from the training texts).

A ``multilingual`` base (``tokvec align``) gives the tokenizer and block of one language
(``language``), frozen and never extended, and carries the whole joint model along
(:mod:`tokvec.classify.languages`).

Vocabulary policy for static bases: the base's tokenizer and vocabulary are used as they are.
When the embeddings are trainable (and the tokenizer is word-level), training words missing from
the base (seen ``min_count`` times or more) are added with new rows: the word's subword vector
where the base has subword vectors, otherwise random N(0, s^2) with ``s`` the standard deviation
of the base's vectors. With frozen embeddings only words with a subword vector are added (a
random row that never trains would be noise); other unknown words read as ``[UNK]``.

>>> import numpy as np
>>> from tokvec.static_model import StaticModel
>>> static = StaticModel.from_vectors(["good", "bad"], np.ones((2, 4), dtype=np.float32))
>>> start = start_from_static(static, ["good movie", "bad movie", "movie"], train=True,
...                           min_count=2, seed=0)
>>> start.tokenizer.vocab_size, start.report["added_words"]
(8, 1)
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TokvecError
from ..modeldir import read_config
from ..table import EmbeddingTable
from ..tokenization import KINDS, WORD_LEVEL_KINDS, Tokenizer
from ..vocab import PAD, Vocabulary


@dataclass
class Start:
    """The tokenizer and initial weights a classifier is built on."""

    kind: str  # "static" or "contextual"
    tokenizer: Tokenizer
    embeddings: np.ndarray | None = None
    contextual: Any = None
    report: dict[str, Any] = field(default_factory=dict)
    joint: Any = None  # the MultilingualModel of a multilingual base


def load_start(base: str, train_texts: Sequence[str], head: str, train: bool,
               dim: int = 100, tokenizer_kind: str = "word", lowercase: bool = False,
               min_count: int = 1, extend_vocab: bool = True, seed: int = 0,
               progress: bool = False, language: str | None = None) -> Start:
    """Resolve ``base`` ("none", a model directory or a vector file) into a :class:`Start`;
    ``language`` picks the training language of a multilingual base."""
    if base == "none":
        start = start_from_scratch(train_texts, dim, tokenizer_kind, lowercase, min_count, seed,
                                   progress)
    else:
        path = Path(base)
        if not path.exists():
            raise TokvecError("no such base model or vector file (use 'none' for random "
                              "initialisation)", path=path)
        if path.is_dir():
            start = _start_from_directory(path, train_texts, train, min_count, extend_vocab,
                                          seed, language)
        else:
            static = _import_vectors(path, tokenizer_kind, lowercase)
            start = start_from_static(static, train_texts, train, min_count, seed, extend_vocab)
            start.report["base"] = {"path": os.fspath(path), "kind": "vectors",
                                    "tokenizer": tokenizer_kind, "lowercase": lowercase}
    if head == "encoder" and start.kind != "contextual":
        raise TokvecError("the encoder head fine-tunes a contextual model (tokvec bert/bilstm "
                          "directory or a BERT checkpoint); for static vectors use --head bag, "
                          "cnn or bilstm", path=None if base == "none" else base)
    if head != "encoder" and start.kind == "contextual":
        raise TokvecError(f"a contextual base needs --head encoder, not {head}", path=base)
    return start


def _start_from_directory(path: Path, train_texts: Sequence[str], train: bool, min_count: int,
                          extend_vocab: bool, seed: int, language: str | None = None) -> Start:
    cfg = read_config(path)
    kind = cfg.get("kind")
    if kind == "multilingual":
        from .languages import start_from_joint

        return start_from_joint(path, cfg, train_texts, language, min_count, seed)
    if kind == "classifier":
        raise TokvecError("BASE is already a classifier; give the embedding model it was "
                          "trained from", path=path)
    if kind == "static":
        from ..static_model import StaticModel

        static = StaticModel.load(path, cfg)
        start = start_from_static(static, train_texts, train, min_count, seed, extend_vocab)
        start.report["base"] = {"path": os.fspath(path), "kind": "static",
                                "method": cfg.get("method")}
        return start
    try:
        from ..contextual import load_contextual
    except ImportError as exc:
        raise TokvecError(f"model kind {kind!r} needs tokvec.contextual, which cannot be "
                          f"imported ({exc})", path=path) from None
    model = load_contextual(path)
    return Start("contextual", model.tokenizer, contextual=model,
                 report={"base": {"path": os.fspath(path), "kind": str(kind),
                                  "d_model": int(model.d_model), "max_len": int(model.max_len)}})


def _import_vectors(path: Path, tokenizer_kind: str, lowercase: bool) -> Any:
    try:
        from ..formats import import_vectors
    except ImportError as exc:
        raise TokvecError(f"reading vector files needs tokvec.formats, which cannot be imported "
                          f"({exc})", path=path) from None
    return import_vectors(path, fmt="auto", tokenizer_kind=tokenizer_kind, lowercase=lowercase)


def start_from_scratch(train_texts: Sequence[str], dim: int, tokenizer_kind: str,
                       lowercase: bool, min_count: int, seed: int,
                       progress: bool = False) -> Start:
    """A tokenizer trained on the training texts and a random N(0, 1/dim) table."""
    if tokenizer_kind not in KINDS:
        raise TokvecError(f"unknown tokenizer kind {tokenizer_kind!r}; choose one of "
                          f"{', '.join(KINDS)}")
    with tempfile.TemporaryDirectory(prefix="tokvec-finetune-") as tmp:
        corpus = Path(tmp) / "train-texts.txt"
        with open(corpus, "w", encoding="utf-8") as handle:
            for text in train_texts:
                handle.write(text.replace("\n", " ").replace("\r", " ") + "\n")
        tokenizer = Tokenizer.train([corpus], kind=tokenizer_kind, min_count=min_count,
                                    lowercase=lowercase, progress=progress)
    pad_id = tokenizer.token_to_id(PAD)
    table = EmbeddingTable.initialise(tokenizer.vocab_size, dim, init="normal", seed=seed,
                                      zero_rows=[] if pad_id is None else [pad_id])
    report = {"base": {"path": "none", "kind": "random", "init": f"normal(0, 1/{dim})",
                       "tokenizer": tokenizer_kind, "lowercase": lowercase,
                       "min_count": min_count},
              "vocab_size": tokenizer.vocab_size}
    return Start("static", tokenizer, table.weights, report=report)


def start_from_static(static: Any, train_texts: Sequence[str], train: bool, min_count: int,
                      seed: int, extend_vocab: bool = True) -> Start:
    """The base's tokenizer and table, extended by missing training words (see module docs)."""
    tokenizer: Tokenizer = static.tokenizer
    embeddings = static.embeddings
    counts: Counter[str] = Counter()
    for text in train_texts:
        counts.update(tokenizer.words(text))
    vocab = tokenizer.vocabulary()
    known = sum(c for w, c in counts.items() if w in vocab)
    total = sum(counts.values())
    missing = sorted(((w, c) for w, c in counts.items() if w not in vocab),
                     key=lambda wc: (-wc[1], wc[0]))
    report: dict[str, Any] = {
        "base_vocab_size": len(vocab),
        "train_word_types": len(counts),
        "train_types_in_base": len(counts) - len(missing),
        "train_tokens_in_base": round(known / max(total, 1), 4),
        "missing_examples": [w for w, _ in missing[:20]],
    }
    added: list[str] = []
    rows: list[np.ndarray] = []
    subwords = getattr(static, "subwords", None)
    can_extend = extend_vocab and tokenizer.kind in WORD_LEVEL_KINDS
    if can_extend:
        rng = np.random.default_rng(seed)
        word_ids = vocab.word_ids()
        word_rows = embeddings[word_ids] if len(word_ids) else embeddings
        scale = float(word_rows.std()) or 1.0 / np.sqrt(embeddings.shape[1])
        for word, count in missing:
            if count < min_count:
                continue
            vec = subwords.vector(word) if subwords is not None else None
            if vec is None and not train:
                continue
            if vec is None:
                vec = rng.normal(0.0, scale, embeddings.shape[1])
            added.append(word)
            rows.append(np.asarray(vec, dtype=np.float32))
    if added:
        new_vocab = Vocabulary(vocab.tokens + added,
                               np.concatenate([vocab.counts, np.zeros(len(added), np.int64)]))
        tokenizer = Tokenizer.from_vocabulary(new_vocab, kind=tokenizer.kind,
                                              lowercase=tokenizer.lowercase)
        embeddings = np.concatenate([embeddings, np.stack(rows)]).astype(np.float32)
    report["added_words"] = len(added)
    report["added_rows_from"] = ("subword vectors" if subwords is not None else
                                 "random N(0, s^2), s = std of the base vectors")
    report["vocab_size"] = tokenizer.vocab_size
    return Start("static", tokenizer, np.array(embeddings, dtype=np.float32), report=report)
