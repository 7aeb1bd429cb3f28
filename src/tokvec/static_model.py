"""A static embedding model: a tokenizer plus one vector per vocabulary entry.

The table has a row for every token id, special tokens included (their rows are zero in trained
models); queries and exports see only ordinary words. Models with subword vectors
(``--method fasttext``) also answer for words never seen in training.

>>> import numpy as np, tempfile
>>> m = StaticModel.from_vectors(["cat", "dog"], np.eye(2, dtype=np.float32))
>>> d = tempfile.mkdtemp() + "/m"
>>> _ = m.save(d)
>>> StaticModel.load(d).vectors.similarity("cat", "dog")
0.0
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import TokvecError
from .modeldir import (
    EMBEDDINGS,
    base_config,
    load_tensors,
    read_config,
    register_kind,
    write_model_dir,
)
from .table import memory_report
from .tokenization import Tokenizer
from .vectors import StaticVectors
from .vocab import DEFAULT_SPECIALS, Vocabulary

KIND = "static"


class StaticModel:
    """Tokenizer + |V| x d_model table (+ optional context table and subword vectors)."""

    def __init__(self, tokenizer: Tokenizer, embeddings: np.ndarray,
                 config: dict[str, Any] | None = None,
                 extra_tensors: dict[str, np.ndarray] | None = None,
                 subwords: Any = None) -> None:
        if embeddings.shape[0] != tokenizer.vocab_size:
            raise TokvecError(f"table has {embeddings.shape[0]} rows but the tokenizer has "
                              f"{tokenizer.vocab_size} tokens")
        self.tokenizer = tokenizer
        self.embeddings = np.asarray(embeddings, dtype=np.float32)
        self.config = config or base_config(KIND, self.embeddings.shape[1])
        self.extra_tensors = extra_tensors or {}
        self.subwords = subwords
        self._vectors: StaticVectors | None = None

    # ----- construction ---------------------------------------------------------------------
    @classmethod
    def from_vectors(cls, words: Sequence[str], matrix: np.ndarray, tokenizer_kind: str = "word",
                     lowercase: bool = False, counts: Sequence[int] | None = None,
                     source: dict[str, Any] | None = None) -> StaticModel:
        """Wrap plain word vectors (e.g. an imported file); file order becomes id order."""
        matrix = np.asarray(matrix, dtype=np.float32)
        specials = [s for s in DEFAULT_SPECIALS if s not in set(words)]
        tokens = specials + list(words)
        full = np.zeros((len(tokens), matrix.shape[1]), dtype=np.float32)
        full[len(specials):] = matrix
        freq = [0] * len(specials) + (list(counts) if counts is not None else [0] * len(words))
        vocab = Vocabulary(tokens, freq, DEFAULT_SPECIALS)
        tok = Tokenizer.from_vocabulary(vocab, kind=tokenizer_kind, lowercase=lowercase)
        cfg = base_config(KIND, matrix.shape[1], method="imported", source=source or {})
        return cls(tok, full, cfg)

    # ----- views ----------------------------------------------------------------------------
    @property
    def d_model(self) -> int:
        return int(self.embeddings.shape[1])

    @property
    def vocabulary(self) -> Vocabulary:
        return self.tokenizer.vocabulary()

    def word_rows(self) -> np.ndarray:
        """Ids of ordinary (non-special) tokens, in id (frequency) order."""
        return self.vocabulary.word_ids()

    @property
    def vectors(self) -> StaticVectors:
        """The ordinary words and their vectors, ready for queries and evaluation."""
        if self._vectors is None:
            vocab = self.vocabulary
            rows = vocab.word_ids()
            words = [vocab.tokens[i] for i in rows]
            oov = self.subwords.vector if self.subwords is not None else None
            tok = self.tokenizer
            self._vectors = StaticVectors(words, self.embeddings[rows], oov=oov,
                                          normalize=tok.normalize,
                                          normalization=tok.normalization)
        return self._vectors

    def word_vector(self, word: str) -> np.ndarray:
        return self.vectors.get_vector(word)

    def info(self) -> dict[str, Any]:
        """Sizes, parameters per component and memory of dense against one-hot."""
        params = {"embeddings": int(self.embeddings.size)}
        params.update({name: int(t.size) for name, t in self.extra_tensors.items()
                       if name != "counts"})
        return {"kind": KIND, "method": self.config.get("method"),
                "vocab_size": int(self.embeddings.shape[0]), "d_model": self.d_model,
                "parameters": params, "memory": memory_report(*self.embeddings.shape)}

    # ----- persistence ----------------------------------------------------------------------
    def save(self, directory: str | os.PathLike[str],
             extra_files: dict[str, bytes] | None = None) -> Path:
        """Write the model directory atomically (config, tokenizer, safetensors, and
        ``extra_files`` such as a training log)."""
        arrays = {"embeddings": self.embeddings, **self.extra_tensors}
        cfg = dict(self.config)
        cfg["d_model"] = self.d_model
        cfg["vocab_size"] = int(self.embeddings.shape[0])
        cfg["tokenizer"] = {"kind": self.tokenizer.kind, "lowercase": self.tokenizer.lowercase}
        return write_model_dir(directory, cfg, self.tokenizer, {EMBEDDINGS: arrays},
                               extra_files=extra_files)

    @classmethod
    def load(cls, directory: str | os.PathLike[str],
             config: dict[str, Any] | None = None) -> StaticModel:
        d = Path(directory)
        cfg = config if config is not None else read_config(d)
        tensors = load_tensors(d / EMBEDDINGS, required=("embeddings",))
        embeddings = tensors.pop("embeddings")
        if embeddings.ndim != 2 or embeddings.shape[1] < 1:
            raise TokvecError(f"embeddings must be 2-D with at least one column, got shape "
                              f"{embeddings.shape}", path=d / EMBEDDINGS)
        if cfg.get("d_model") not in (None, embeddings.shape[1]):
            raise TokvecError(f"config says d_model {cfg['d_model']} but the table has "
                              f"{embeddings.shape[1]} columns", path=d / EMBEDDINGS)
        tokenizer = Tokenizer.load(d)
        subwords = None
        if cfg.get("subwords"):
            from .static.subwords import SubwordVectors

            subwords = SubwordVectors.from_model_parts(cfg["subwords"], tokenizer, embeddings,
                                                       tensors)
        return cls(tokenizer, embeddings, cfg, tensors, subwords)


register_kind(KIND, lambda d, cfg: StaticModel.load(d, cfg))


def load_static(directory: str | os.PathLike[str]) -> StaticModel:
    """Load a static model directory (error if it is another kind)."""
    from .modeldir import load_model

    model = load_model(directory)
    if not isinstance(model, StaticModel):
        raise TokvecError(f"expected a static embedding model, got kind "
                          f"{getattr(model, 'kind', type(model).__name__)!r}", path=directory)
    return model
