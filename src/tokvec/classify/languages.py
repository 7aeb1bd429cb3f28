"""Classifiers over a joint (``multilingual``) model: train in one language, predict in another.

A classifier fine-tuned from a ``multilingual`` base (``tokvec align``) reads its training texts
with the tokenizer of the training language (``--lang``) and looks the tokens up in that
language's block of the joint table. Because every language's block lives in one space, the
head trained on one language's vectors applies to another's: :meth:`TaskModel.for_language`
switches the tokenizer and the embedding block and keeps everything else (head weights, window,
temperature). Zero-shot cross-lingual transfer is ``finetune(--lang en)`` then
``for_language("zh")``.

Rules for a joint base, so the space stays shared:

- ``--lang`` is required and must be one of the model's languages;
- the table is frozen (left at its default, ``train_embeddings`` becomes False and the log says
  so; an explicit ``--train-embeddings`` is refused) and the vocabulary is never extended;
- ``--bigrams`` is refused: hashed surface bigrams are learnt for the training language only.

The task directory mirrors the multilingual layout and stays JSON plus safetensors::

    task/
      config.json              kind "classifier", ..., "languages": [...] (block order),
                               "language": the training language
      embeddings.safetensors   "embeddings": the whole joint table; "language": int32 per row
      tokenizers/<lang>/       every language's tokenizer.json and tokenizer_config.json
      head.safetensors         every other weight, as for any static head

A worked example: Spanish words get the vectors of their English translations, a classifier
learns English, and reads Spanish.

>>> import tempfile
>>> import numpy as np
>>> from tokvec.classify import FinetuneConfig, TaskModel, finetune
>>> from tokvec.multilingual.model import MultilingualModel
>>> from tokvec.static_model import StaticModel
>>> vecs = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
>>> en = StaticModel.from_vectors(["good", "great", "bad", "awful"], vecs)
>>> es = StaticModel.from_vectors(["bueno", "genial", "malo", "horrible"], vecs)
>>> d = tempfile.mkdtemp()
>>> _ = MultilingualModel.from_static({"en": en, "es": es}).save(d + "/joint")
>>> _ = open(d + "/t.tsv", "w").write("pos\\tgood great\\nneg\\tbad awful\\n" * 8)
>>> _ = finetune(d + "/joint", d + "/task", d + "/t.tsv", d + "/t.tsv", log=None,
...              config=FinetuneConfig(language="en", epochs=30, lr=0.1))
>>> task = TaskModel.load(d + "/task")
>>> task.language, task.languages
('en', ['en', 'es'])
>>> task.for_language("es").predict(["bueno genial", "malo horrible"])
['pos', 'neg']
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.numpy import save_file
from torch import nn

from ..errors import TokvecError
from ..modeldir import EMBEDDINGS, read_config
from ..multilingual.model import KIND as MULTILINGUAL
from ..multilingual.model import TOKENIZERS, MultilingualModel
from ..tokenization import CONFIG_NAME as TOKENIZER_CONFIG
from ..tokenization import TOKENIZER_NAME
from .features import Featurizer
from .heads import StaticClassifier

if TYPE_CHECKING:
    from .base import Start
    from .config import FinetuneConfig
    from .model import TaskModel

FROZEN_NOTE = ("embeddings frozen and vocabulary not extended: a multilingual base keeps every "
               "language in the shared space")


def _choose(joint: MultilingualModel, lang: object, where: str) -> str:
    if lang is None:
        raise TokvecError(f"{where} is a multilingual model ({', '.join(joint.languages)}): give "
                          "--lang, the language of the texts")
    if lang not in joint.tokenizers:
        raise TokvecError(f"{where} has no language {lang!r} (it has "
                          f"{', '.join(joint.languages)})")
    return str(lang)


def _base_kind(base: str) -> str | None:
    path = Path(base)
    if base == "none" or not path.is_dir():
        return None
    return str(read_config(path).get("kind"))


def joint_config(base: str, config: FinetuneConfig, log: Any = None) -> FinetuneConfig:
    """Check ``config`` against ``base`` before anything is read or written; for a multilingual
    base return a copy with the table frozen and the vocabulary kept (see the module docs)."""
    kind = _base_kind(base)
    if kind != MULTILINGUAL:
        if config.language is not None:
            what = "'none'" if base == "none" else (f"a {kind} model" if kind else "a vector file")
            raise TokvecError(f"--lang applies to a multilingual base (written by tokvec align); "
                              f"BASE is {what}", path=None if base == "none" else base)
        return config
    joint = MultilingualModel.load(base)
    _choose(joint, config.language, "BASE")
    if config.train_embeddings:
        raise TokvecError("a multilingual base keeps its table frozen so that every language "
                          "stays in the shared space (zero-shot transfer needs it); drop "
                          "--train-embeddings", path=base)
    if config.bigrams:
        raise TokvecError("--bigrams does not apply to a multilingual base: hashed surface "
                          "bigrams are learnt for the training language only and do not "
                          "transfer", path=base)
    if log is not None:
        log(f"multilingual base ({', '.join(joint.languages)}), training language "
            f"{config.language}: {FROZEN_NOTE}")
    return replace(config, train_embeddings=False, extend_vocab=False)


def start_from_joint(path: Path, cfg: dict[str, Any], train_texts: list[str] | Any,
                     language: str | None, min_count: int, seed: int) -> Start:
    """The training language's tokenizer and block; the whole joint model rides along."""
    from .base import start_from_static

    joint = MultilingualModel.load(path, dict(cfg))
    lang = _choose(joint, language, "BASE")
    start = start_from_static(joint.language(lang), train_texts, False, min_count, seed,
                              extend_vocab=False)
    start.report.pop("added_rows_from", None)
    start.report["embeddings"] = FROZEN_NOTE
    start.report["base"] = {"path": str(path), "kind": MULTILINGUAL,
                            "languages": joint.languages, "language": lang}
    start.joint = joint
    return start


def describe(model: TaskModel) -> dict[str, Any]:
    """The config.json entries of a classifier over a joint model."""
    joint = model.joint
    assert joint is not None
    return {"languages": joint.languages, "language": model.language,
            "tokenizers": {lang: {"kind": t.kind, "lowercase": t.lowercase}
                           for lang, t in joint.tokenizers.items()},
            "vocab_size": int(joint.embeddings.shape[0]),
            "embeddings_file": EMBEDDINGS}


def joint_files(joint: MultilingualModel) -> list[str]:
    """The files (relative paths) a joint task directory holds besides config and head."""
    names = [EMBEDDINGS]
    for lang in joint.languages:
        names += [f"{TOKENIZERS}/{lang}/{name}" for name in (TOKENIZER_NAME, TOKENIZER_CONFIG)]
    return names


def write_joint(directory: Path, joint: MultilingualModel, cache: dict[str, bytes]) -> None:
    """Write the joint table and every tokenizer; they never change, so after the first save
    their bytes come from ``cache``."""
    names = joint_files(joint)
    if all(name in cache for name in names):
        for name in names:
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(cache[name])
        return
    arrays = {"embeddings": np.ascontiguousarray(joint.embeddings),
              "language": joint.language_ids()}
    save_file(arrays, str(directory / EMBEDDINGS), metadata={"format": "np"})
    for lang, tok in joint.tokenizers.items():
        tok.save(directory / TOKENIZERS / lang)
    for name in names:
        cache[name] = (directory / name).read_bytes()


def load_joint(directory: Path, cfg: dict[str, Any]) -> tuple[MultilingualModel, str]:
    """The joint model inside a task directory and the language its config names."""
    joint = MultilingualModel.load(directory, dict(cfg))
    return joint, _choose(joint, cfg.get("language"), "the task's config.json")


def block_embedding(joint: MultilingualModel, lang: str, pad_id: int) -> nn.Embedding:
    """A frozen embedding layer over language ``lang``'s block of the joint table."""
    block = torch.from_numpy(np.array(joint.language(lang).embeddings, dtype=np.float32))
    embed = nn.Embedding(block.shape[0], block.shape[1], padding_idx=pad_id, sparse=True)
    with torch.no_grad():
        embed.weight.copy_(block)
    embed.weight.requires_grad_(False)
    return embed


def for_language(model: TaskModel, lang: str) -> TaskModel:
    """``model`` reading language ``lang``: that language's tokenizer and block, the same head
    weights and temperature (the model itself when it already reads ``lang``)."""
    joint = model.joint
    if joint is None:
        raise TokvecError("this classifier was trained on a monolingual base; --lang applies "
                          "to classifiers over a multilingual model (tokvec align)")
    lang = _choose(joint, lang, "the classifier")
    if lang == model.language:
        return model
    net = model.network
    assert isinstance(net, StaticClassifier)
    old = model.featurizer
    featurizer = Featurizer(joint.tokenizers[lang], old.max_len, old.bigram_buckets,
                            old.special_tokens)
    # Copy the network without its current block, then give it the new one.
    new_net = copy.deepcopy(net, memo={id(net.embed): None})
    new_net.embed = block_embedding(joint, lang, featurizer.pad_id)
    new_net.to(model.device).train(net.training)
    out = type(model)(new_net, featurizer, model.labels, dict(model.config))
    out.joint, out.language, out.metrics, out.device = joint, lang, model.metrics, model.device
    return out
