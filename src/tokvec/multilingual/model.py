"""The ``multilingual`` model kind: one table holding the words of several languages.

Every row belongs to one language and each language keeps its own vocabulary, so a spelling
shared by two languages (Spanish and English ``no``, ``me``, ``he``) is two rows with two vectors
and no word shadows another. On disk (JSON plus safetensors, nothing executable)::

    joint/
      config.json                 kind "multilingual", d_model, "languages": ["zh", "en"] (row
                                  block order; language id i = languages[i]), "alignment": how
                                  ``tokvec align`` made it (dictionary, pairs, rounds, time)
      embeddings.safetensors      "embeddings": the |V_1| + ... + |V_n| x d_model table, one
                                  block of rows per language in that order; "language": int32,
                                  one language id per row
      tokenizers/<lang>/tokenizer.json          that language's HuggingFace tokenizer: row of
      tokenizers/<lang>/tokenizer_config.json   token id t = (rows of earlier blocks) + t
      metrics.json                written by ``tokvec evaluate`` (``--bli`` entries too)

Within a block rows follow the language's token ids, special tokens included (their rows are
zero), exactly as in a static model; ``table[language == i]`` is language i's static table.
Subword (fastText) tables are not carried: a joint model answers for its vocabularies only.

A worked example, read back with plain ``safetensors`` and ``tokenizers``:

>>> import json, tempfile
>>> import numpy as np
>>> from safetensors.numpy import load_file
>>> from tokenizers import Tokenizer as HFTokenizer
>>> from tokvec.modeldir import load_model
>>> from tokvec.static_model import StaticModel
>>> es = StaticModel.from_vectors(["no", "sí"], np.array([[1, 0], [0, 1]], np.float32))
>>> en = StaticModel.from_vectors(["no", "yes"], np.array([[0, 1], [1, 0]], np.float32))
>>> d = tempfile.mkdtemp() + "/joint"
>>> _ = MultilingualModel.from_static({"es": es, "en": en}).save(d)
>>> json.load(open(d + "/config.json"))["languages"]
['es', 'en']
>>> t = load_file(d + "/embeddings.safetensors")
>>> t["embeddings"].shape, t["language"].tolist()    # 5 specials + 2 words per language
((14, 2), [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
>>> en_no = HFTokenizer.from_file(d + "/tokenizers/en/tokenizer.json").token_to_id("no")
>>> t["embeddings"][7 + en_no].tolist()              # en's block starts after es's 7 rows
[0.0, 1.0]
>>> joint = load_model(d)
>>> joint.vectors.similarity("no", "no", lang1="es", lang2="en")
0.0
>>> joint.language("en").vectors.words
['no', 'yes']
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TokvecError
from ..modeldir import (
    EMBEDDINGS,
    base_config,
    load_tensors,
    read_config,
    register_kind,
    write_model_dir,
)
from ..static_model import StaticModel
from ..table import memory_report
from ..tokenization import Tokenizer
from .vectors import MultilingualVectors

KIND = "multilingual"
TOKENIZERS = "tokenizers"
_LANG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


def check_language(lang: object, path: str | os.PathLike[str] | None = None) -> str:
    """A language name (also a folder name): letters, digits, ``_`` and ``-``, at most 32.

    >>> check_language("zh-Hans")
    'zh-Hans'
    """
    if not isinstance(lang, str) or not _LANG.fullmatch(lang):
        raise TokvecError(f"invalid language name {lang!r} (letters, digits, '_' and '-', "
                          "starting with a letter or digit, at most 32)", path=path)
    return lang


class _TokenizerSet:
    """Saves one tokenizer per language under ``tokenizers/<lang>/`` (for write_model_dir)."""

    def __init__(self, tokenizers: Mapping[str, Tokenizer]) -> None:
        self.tokenizers = tokenizers

    def save(self, directory: Path) -> None:
        for lang, tok in self.tokenizers.items():
            tok.save(Path(directory) / TOKENIZERS / lang)


class MultilingualModel:
    """One table, one tokenizer per language; row blocks in ``languages`` order."""

    def __init__(self, tokenizers: Mapping[str, Tokenizer], embeddings: np.ndarray,
                 config: dict[str, Any] | None = None) -> None:
        if not tokenizers:
            raise TokvecError("a multilingual model needs at least one language")
        for lang in tokenizers:
            check_language(lang)
        sizes = [tok.vocab_size for tok in tokenizers.values()]
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[0] != sum(sizes):
            raise TokvecError(f"table of shape {embeddings.shape} for "
                              f"{sum(sizes)} tokens in {len(sizes)} languages")
        self.tokenizers = dict(tokenizers)
        self.embeddings = embeddings
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.config = config or base_config(KIND, embeddings.shape[1])
        self.config["languages"] = self.languages
        self._vectors: MultilingualVectors | None = None

    @classmethod
    def from_static(cls, models: Mapping[str, StaticModel],
                    config: dict[str, Any] | None = None) -> MultilingualModel:
        """Stack static models (already in one space), one language each, in mapping order."""
        dims = {lang: m.d_model for lang, m in models.items()}
        if len(set(dims.values())) > 1:
            raise TokvecError("models of one space need one dimension, got "
                              + ", ".join(f"{lang} {d}" for lang, d in dims.items()))
        table = np.concatenate([m.embeddings for m in models.values()])
        return cls({lang: m.tokenizer for lang, m in models.items()}, table, config)

    # ----- views ----------------------------------------------------------------------------
    @property
    def languages(self) -> list[str]:
        return list(self.tokenizers)

    @property
    def d_model(self) -> int:
        return int(self.embeddings.shape[1])

    def language_ids(self) -> np.ndarray:
        """The language id (index into :attr:`languages`) of every row."""
        sizes = np.diff(self.offsets)
        return np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)

    def language(self, lang: str) -> StaticModel:
        """One language's rows as a static model (a view of the joint table, not a copy)."""
        if lang not in self.tokenizers:
            raise TokvecError(f"the model has no language {lang!r} (it has "
                              f"{', '.join(self.languages)})")
        i = self.languages.index(lang)
        block = self.embeddings[self.offsets[i]: self.offsets[i + 1]]
        cfg = base_config("static", self.d_model, method=KIND, language=lang)
        return StaticModel(self.tokenizers[lang], block, cfg)

    @property
    def vectors(self) -> MultilingualVectors:
        """Every language's ordinary words, ready for cross-lingual queries."""
        if self._vectors is None:
            self._vectors = MultilingualVectors(
                {lang: self.language(lang).vectors for lang in self.languages})
        return self._vectors

    def info(self) -> dict[str, Any]:
        """Sizes per language, parameters and memory of the joint table."""
        n, d = self.embeddings.shape
        return {"kind": KIND, "vocab_size": int(n), "d_model": int(d),
                "languages": {lang: int(self.offsets[i + 1] - self.offsets[i])
                              for i, lang in enumerate(self.languages)},
                "parameters": {"embeddings": int(n * d)}, "memory": memory_report(n, d)}

    # ----- persistence ----------------------------------------------------------------------
    def save(self, directory: str | os.PathLike[str],
             extra_files: dict[str, bytes] | None = None) -> Path:
        """Write the directory atomically (layout in the module docstring); ``extra_files``
        (a ``training.jsonl``) go in beside."""
        cfg = dict(self.config)
        cfg.update(kind=KIND, d_model=self.d_model, vocab_size=int(self.embeddings.shape[0]),
                   languages=self.languages,
                   tokenizers={lang: {"kind": t.kind, "lowercase": t.lowercase}
                               for lang, t in self.tokenizers.items()})
        arrays = {"embeddings": self.embeddings, "language": self.language_ids()}
        return write_model_dir(directory, cfg, _TokenizerSet(self.tokenizers),
                               {EMBEDDINGS: arrays}, extra_files=extra_files)

    @classmethod
    def load(cls, directory: str | os.PathLike[str],
             config: dict[str, Any] | None = None) -> MultilingualModel:
        d = Path(directory)
        cfg = config if config is not None else read_config(d)
        langs = cfg.get("languages")
        if not isinstance(langs, list) or not langs or len(set(map(str, langs))) != len(langs):
            raise TokvecError("'languages' must be a non-empty list of distinct names",
                              path=d / "config.json")
        for lang in langs:
            check_language(lang, d / "config.json")
        tokenizers = {lang: Tokenizer.load(d / TOKENIZERS / lang) for lang in langs}
        tensors = load_tensors(d / EMBEDDINGS, required=("embeddings", "language"))
        table, ids = tensors["embeddings"], tensors["language"]
        if table.ndim != 2 or table.shape[1] < 1:
            raise TokvecError(f"embeddings must be 2-D with at least one column, got shape "
                              f"{table.shape}", path=d / EMBEDDINGS)
        if cfg.get("d_model") not in (None, table.shape[1]):
            raise TokvecError(f"config says d_model {cfg['d_model']} but the table has "
                              f"{table.shape[1]} columns", path=d / EMBEDDINGS)
        model = cls(tokenizers, table, cfg) if table.shape[0] == sum(
            t.vocab_size for t in tokenizers.values()) else None
        if model is None or ids.shape != (table.shape[0],) or not np.array_equal(
                ids, model.language_ids()):
            sizes = ", ".join(f"{lang} {t.vocab_size}" for lang, t in tokenizers.items())
            raise TokvecError(f"the table's {table.shape[0]} rows and 'language' ids do not "
                              f"match the tokenizers' blocks ({sizes})", path=d / EMBEDDINGS)
        return model


register_kind(KIND, lambda d, cfg: MultilingualModel.load(d, cfg))
