"""A trained classifier on disk and in memory: :class:`TaskModel` (load, predict, evaluate, save).

::

    task/
      config.json              kind "classifier": head, labels, window, network shape, training,
                               calibration (the temperature T fitted on the dev set)
      tokenizer.json           the task's tokenizer (base vocabulary plus added training words)
      tokenizer_config.json
      embeddings.safetensors   static heads: "embeddings", the |V| x d token table
      head.safetensors         every other weight (torch state-dict names; the bigram table is
                               "bigram_embed.weight")
      encoder/                 encoder head: the fine-tuned contextual model, self-contained
      metrics.json             dev (and test) results of the kept (best) weights
      training.jsonl           header (data, class balance), one line per epoch, a closing line

Over a ``multilingual`` base the directory holds ``tokenizers/<lang>/`` and the whole joint
table instead of one tokenizer, and :meth:`TaskModel.for_language` switches the language it
reads (:mod:`tokvec.classify.languages`).

>>> import tempfile
>>> from tokvec.classify import FinetuneConfig, finetune
>>> d = tempfile.mkdtemp()
>>> _ = open(d + "/t.tsv", "w").write("pos\\tgood fun\\nneg\\tbad dull\\n" * 8)
>>> m = finetune("none", d + "/task", d + "/t.tsv", d + "/t.tsv",
...              config=FinetuneConfig(dim=8, epochs=30, lr=0.05), log=None)
>>> TaskModel.load(d + "/task").predict(["good fun", "bad dull"])
['pos', 'neg']

Probabilities are ``softmax(logits / T)`` with the temperature ``T`` that ``finetune`` fitted on
the dev set (:mod:`tokvec.classify.calibration`); a model saved without one has ``T = 1``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import save_file
from torch import nn

from ..atomic import atomic_dir, write_json
from ..errors import TokvecError
from ..modeldir import (
    CONFIG,
    EMBEDDINGS,
    METRICS,
    base_config,
    load_tensors,
    read_config,
    register_kind,
    safe_member,
)
from ..tokenization import CONFIG_NAME as TOKENIZER_CONFIG
from ..tokenization import TOKENIZER_NAME, Tokenizer
from .calibration import temperature_from_config, uncalibrated
from .data import LabelledData, read_labelled
from .features import Encoded, Featurizer, pad
from .heads import Batch, EncoderClassifier, StaticClassifier
from .languages import describe, load_joint, write_joint
from .languages import for_language as _for_language
from .metrics import classification_report, probability_report, softmax

KIND = "classifier"
HEAD_FILE = "head.safetensors"
ENCODER_DIR = "encoder"
_EMBED_NAMES = {"embed.weight": "embeddings"}


class TaskModel:
    """A classifier: featurizer (tokenizer + window), network and label names."""

    def __init__(self, network: nn.Module, featurizer: Featurizer, labels: Sequence[str],
                 config: dict[str, Any], contextual: Any = None) -> None:
        self.network = network
        self.featurizer = featurizer
        self.labels = list(labels)
        self.config = config
        self.contextual = contextual
        self.device = torch.device("cpu")
        self.metrics: dict[str, Any] = {}
        self._file_cache: dict[str, bytes] = {}
        self.joint: Any = None  # the MultilingualModel of a classifier over a joint model
        self.language: str | None = None  # the language it reads (joint models only)

    # ----- construction ---------------------------------------------------------------------
    @classmethod
    def build(cls, start: Any, labels: Sequence[str], cfg: Any) -> TaskModel:
        """A fresh network over a :class:`~tokvec.classify.base.Start` for ``cfg`` (resolved)."""
        options = cfg.head_options()
        if start.kind == "contextual":
            ctx = start.contextual
            max_len = int(ctx.max_len) if cfg.max_len is None else int(cfg.max_len)
            if max_len > int(ctx.max_len):
                raise TokvecError(f"--max-len {max_len} exceeds the model's window of "
                                  f"{ctx.max_len} tokens")
            featurizer = Featurizer(ctx.tokenizer, max_len, 0, special_tokens=True)
            network: nn.Module = EncoderClassifier(ctx.module, int(ctx.d_model), len(labels),
                                                   options["pool"], cfg.dropout)
            d_model = int(ctx.d_model)
        else:
            buckets = cfg.buckets if cfg.bigrams else 0
            featurizer = Featurizer(start.tokenizer, cfg.max_len, buckets)
            network = StaticClassifier(cfg.head, torch.from_numpy(start.embeddings),
                                       len(labels), featurizer.pad_id, options, buckets,
                                       cfg.dropout)
            d_model = int(start.embeddings.shape[1])
        config = base_config(KIND, d_model, head=cfg.head, labels=list(labels),
                             head_options=options, dropout=cfg.dropout,
                             featurizer=featurizer.config(),
                             tokenizer={"kind": featurizer.tokenizer.kind,
                                        "lowercase": featurizer.tokenizer.lowercase},
                             vocab_size=featurizer.tokenizer.vocab_size,
                             base=start.report.get("base", {}),
                             vocabulary={k: v for k, v in start.report.items() if k != "base"},
                             training=cfg.to_dict(),
                             calibration=uncalibrated("not fitted yet (training in progress)"))
        model = cls(network, featurizer, labels, config, start.contextual)
        if start.joint is not None:
            model.joint, model.language = start.joint, cfg.language
            model.config.update(describe(model))
        model.set_trainable(cfg)
        return model

    @property
    def languages(self) -> list[str]:
        """The languages it can read: the joint model's, or none for a monolingual base."""
        return list(self.joint.languages) if self.joint is not None else []

    def for_language(self, lang: str) -> TaskModel:
        """This classifier reading language ``lang`` of its joint model (tokenizer and table
        block switched; head weights and temperature kept). See
        :mod:`tokvec.classify.languages` for a worked example."""
        return _for_language(self, lang)

    def info(self) -> dict[str, Any]:
        """Rows and width of the joint table (for ``tokvec info``); empty for other bases."""
        if self.joint is None:
            return {}
        return {"vocab_size": int(self.joint.embeddings.shape[0]),
                "d_model": int(self.joint.embeddings.shape[1]), "languages": self.languages}

    def set_trainable(self, cfg: Any) -> None:
        """Freeze what ``cfg`` says: embedding tables, or (encoder) the whole encoder."""
        for p in self.network.parameters():
            p.requires_grad_(True)
        if isinstance(self.network, EncoderClassifier) and cfg.freeze_encoder:
            for p in self.network.encoder.parameters():
                p.requires_grad_(False)
        if not cfg.train_embeddings:
            for p in self.network.embedding_parameters():
                p.requires_grad_(False)
        if isinstance(self.network, StaticClassifier) and self.network.bigram_embed is not None:
            self.network.bigram_embed.weight.requires_grad_(True)  # bigrams always learn

    def to(self, device: str | torch.device) -> TaskModel:
        self.device = torch.device(device)
        self.network.to(self.device)
        return self

    @property
    def head(self) -> str:
        return str(self.config["head"])

    @property
    def temperature(self) -> float:
        """The calibration temperature ``T`` (1.0 for an uncalibrated model)."""
        return temperature_from_config(self.config)

    @property
    def calibrated(self) -> bool:
        """Whether the probabilities are temperature-scaled (a temperature was fitted)."""
        entry = self.config.get("calibration")
        return isinstance(entry, dict) and entry.get("method") == "temperature"

    # ----- inference ------------------------------------------------------------------------
    def make_batch(self, encoded: Encoded, indices: Sequence[int] | np.ndarray) -> Batch:
        """Padded tensors for the examples ``indices`` of ``encoded``."""
        ids, mask = pad([encoded.ids[i] for i in indices], self.featurizer.pad_id)
        bigrams = bigram_mask = None
        if encoded.bigrams is not None:
            bigrams, bigram_mask = pad([encoded.bigrams[i] for i in indices], 0)
            bigram_mask = bigram_mask.to(self.device)
            bigrams = bigrams.to(self.device)
        return Batch(ids.to(self.device), mask.to(self.device), bigrams, bigram_mask)

    def logits_encoded(self, encoded: Encoded, batch_size: int = 256) -> np.ndarray:
        """Raw (uncalibrated) logits ``(N, C)`` of pre-encoded texts (longest-first batches)."""
        n = len(encoded.ids)
        out = np.zeros((n, len(self.labels)), dtype=np.float32)
        order = np.argsort([-len(x) for x in encoded.ids], kind="stable")
        was_training = self.network.training
        self.network.eval()
        try:
            with torch.inference_mode():
                for start in range(0, n, batch_size):
                    idx = order[start:start + batch_size]
                    logits = self.network(self.make_batch(encoded, idx))
                    out[idx] = logits.float().cpu().numpy()
        finally:
            self.network.train(was_training)
        return out

    def proba_encoded(self, encoded: Encoded, batch_size: int = 256, calibrated: bool = True,
                      dtype: Any = np.float32) -> np.ndarray:
        """Class probabilities ``(N, C)`` of pre-encoded texts: ``softmax(logits / T)`` with
        the model's temperature (``calibrated=False``: T = 1), computed in float64 and returned
        as ``dtype``."""
        logits = self.logits_encoded(encoded, batch_size)
        return softmax(logits, self.temperature if calibrated else 1.0).astype(dtype, copy=False)

    def predict_logits(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Raw logits ``(len(texts), len(self.labels))``, before the temperature."""
        return self.logits_encoded(self.featurizer.encode(list(texts)), batch_size)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 256, calibrated: bool = True,
                      dtype: Any = np.float32) -> np.ndarray:
        """Probabilities ``(len(texts), len(self.labels))``, columns in ``self.labels`` order,
        calibrated by the model's temperature unless ``calibrated=False``."""
        return self.proba_encoded(self.featurizer.encode(list(texts)), batch_size, calibrated,
                                  dtype)

    def predict(self, texts: Sequence[str], batch_size: int = 256) -> list[str]:
        """The most probable label of each text (the temperature does not change it)."""
        logits = self.predict_logits(texts, batch_size)
        return [self.labels[i] for i in logits.argmax(1)]

    def evaluate(self, data: str | os.PathLike[str] | LabelledData, errors: str = "strict",
                 batch_size: int = 256) -> dict[str, Any]:
        """Accuracy, macro-F1, per-class scores, confusion and the probability metrics on a
        labelled TSV file.

        The probability metrics (:func:`~tokvec.classify.metrics.probability_report`) are
        ``ece`` and ``log_loss`` with the model's temperature and ``ece_uncalibrated``,
        ``log_loss_uncalibrated`` with T = 1; ``temperature`` and ``calibrated`` say which
        temperature was used. Gold labels the model does not know are kept for accuracy and
        F1 (always wrong), left out of log-loss and ECE (``probability_examples`` counts the
        rows those use), and listed under ``unknown_labels`` with the first line of each.
        """
        if not isinstance(data, LabelledData):
            data = read_labelled(data, errors)
        index = {label: i for i, label in enumerate(self.labels)}
        unknown: dict[str, int] = {}
        for label, line in zip(data.labels, data.lines, strict=True):
            if label not in index and label not in unknown:
                unknown[label] = line
        logits = self.predict_logits(data.texts, batch_size)
        predicted = [self.labels[i] for i in logits.argmax(1)]
        report = classification_report(data.labels, predicted, self.labels)
        rows = np.array([i for i, label in enumerate(data.labels) if label in index],
                        dtype=np.int64)
        gold = np.array([index[data.labels[i]] for i in rows], dtype=np.int64)
        report.update(probability_report(logits[rows], gold, self.temperature))
        report["temperature"] = self.temperature
        report["calibrated"] = self.calibrated
        report["probability_examples"] = len(rows)
        report["unknown_labels"] = {k: f"{data.path}:{v}" for k, v in unknown.items()}
        return report

    # ----- persistence ----------------------------------------------------------------------
    def write_files(self, directory: Path) -> None:
        """Write config, tokenizer and weights into an existing (temporary) directory."""
        cfg = dict(self.config)
        state = {k: v.detach().cpu().numpy() for k, v in self.network.state_dict().items()}
        if isinstance(self.network, EncoderClassifier):
            head = {k: v for k, v in state.items() if not k.startswith("encoder.")}
            self.contextual.save(directory / ENCODER_DIR)
            cfg.update(head_file=HEAD_FILE, encoder_dir=ENCODER_DIR)
        else:
            head = {k: v for k, v in state.items() if k not in _EMBED_NAMES}
            frozen = not self.network.embed.weight.requires_grad
            if self.joint is not None:
                write_joint(directory, self.joint, self._file_cache)
            elif not (frozen and self._write_cached(directory, EMBEDDINGS)):
                tables = {_EMBED_NAMES[k]: v for k, v in state.items() if k in _EMBED_NAMES}
                save_file({k: np.ascontiguousarray(v) for k, v in tables.items()},
                          str(directory / EMBEDDINGS), metadata={"format": "np"})
                if frozen:
                    self._file_cache[EMBEDDINGS] = (directory / EMBEDDINGS).read_bytes()
            cfg.update(head_file=HEAD_FILE, embeddings_file=EMBEDDINGS)
        save_file({k: np.ascontiguousarray(v) for k, v in head.items()},
                  str(directory / HEAD_FILE), metadata={"format": "np"})
        if self.joint is None and not self._write_cached(directory, TOKENIZER_NAME,
                                                         TOKENIZER_CONFIG):
            self.featurizer.tokenizer.save(directory)
            for name in (TOKENIZER_NAME, TOKENIZER_CONFIG):
                self._file_cache[name] = (directory / name).read_bytes()
        write_json(directory / CONFIG, cfg)

    def _write_cached(self, directory: Path, *names: str) -> bool:
        """Write files whose bytes cannot have changed since the last save (a large frozen
        table, the tokenizer) from memory; False when they are not cached yet."""
        if not all(name in self._file_cache for name in names):
            return False
        for name in names:
            (directory / name).write_bytes(self._file_cache[name])
        return True

    def save(self, directory: str | os.PathLike[str],
             extra_json: dict[str, Any] | None = None) -> Path:
        """Write the task directory atomically (plus any ``extra_json`` files)."""
        with atomic_dir(directory) as tmp:
            self.write_files(tmp)
            for name, obj in (extra_json or {}).items():
                write_json(tmp / name, obj)
        return Path(directory)

    @classmethod
    def load(cls, directory: str | os.PathLike[str],
             config: dict[str, Any] | None = None) -> TaskModel:
        """Load a task directory written by ``tokvec finetune``."""
        d = Path(directory)
        cfg = config if config is not None else read_config(d)
        if cfg.get("kind") != KIND:
            raise TokvecError(f"expected a classifier (kind 'classifier'), got kind "
                              f"{cfg.get('kind')!r}", path=d / CONFIG)
        try:
            labels = list(cfg["labels"])
            head = str(cfg["head"])
            options = dict(cfg.get("head_options", {}))
            feat = dict(cfg.get("featurizer", {}))
        except (KeyError, TypeError) as exc:
            raise TokvecError(f"config.json lacks a classifier field ({exc})",
                              path=d / CONFIG) from None
        try:
            temperature_from_config(cfg)
        except ValueError as exc:
            raise TokvecError(str(exc), path=d / CONFIG) from None
        head_path = safe_member(d, str(cfg.get("head_file", HEAD_FILE)), d / CONFIG)
        head_tensors = load_tensors(head_path)
        contextual = joint = language = None
        if head == "encoder":
            try:
                from ..contextual import load_contextual
            except ImportError as exc:
                raise TokvecError(f"an encoder classifier needs tokvec.contextual ({exc})",
                                  path=d) from None
            contextual = load_contextual(safe_member(d, str(cfg.get("encoder_dir", ENCODER_DIR)),
                                                     d / CONFIG))
            tokenizer = contextual.tokenizer
            network: nn.Module = EncoderClassifier(contextual.module, int(contextual.d_model),
                                                   len(labels), options.get("pool", "cls"),
                                                   float(cfg.get("dropout") or 0.0))
            state = {k: torch.from_numpy(v) for k, v in head_tensors.items()}
            state.update({f"encoder.{k}": v for k, v in contextual.module.state_dict().items()})
        else:
            if cfg.get("languages") is not None:
                joint, language = load_joint(d, cfg)
                tokenizer = joint.tokenizers[language]
                tables = {"embeddings": np.array(joint.language(language).embeddings)}
            else:
                tokenizer = Tokenizer.load(d)
                emb_path = safe_member(d, str(cfg.get("embeddings_file", EMBEDDINGS)),
                                       d / CONFIG)
                tables = load_tensors(emb_path, required=("embeddings",))
            buckets = int(feat.get("bigram_buckets") or 0)
            pad_id = tokenizer.token_to_id("[PAD]")
            if pad_id is None:
                raise TokvecError("the task tokenizer has no [PAD] token", path=d)
            network = StaticClassifier(head, torch.from_numpy(tables["embeddings"]), len(labels),
                                       pad_id, options, buckets, float(cfg.get("dropout") or 0))
            state = {k: torch.from_numpy(v) for k, v in head_tensors.items()}
            for key, name in _EMBED_NAMES.items():
                if name in tables:
                    state[key] = torch.from_numpy(tables[name])
        try:
            network.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "shape mismatch"
            raise TokvecError(f"weights do not match config.json ({first})", path=d) from None
        featurizer = Featurizer(tokenizer, feat.get("max_len"), int(feat.get("bigram_buckets")
                                                                    or 0),
                                bool(feat.get("special_tokens", head == "encoder")))
        network.eval()
        model = cls(network, featurizer, labels, cfg, contextual)
        if joint is not None:
            model.joint, model.language = joint, language
            network.embed.weight.requires_grad_(False)
        metrics_path = d / METRICS
        if metrics_path.is_file():
            try:
                model.metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
            except (ValueError, RecursionError):
                model.metrics = {}
        return model


register_kind(KIND, lambda d, cfg: TaskModel.load(d, cfg))
