"""Warm-starting the translation encoder from a ``tokvec pretrain`` BERT (``--init-encoder``).

The seq2seq encoder is the same :class:`~tokvec.contextual.bert.TransformerEncoder` that
``tokvec pretrain`` trains, so a pretrained BERT's weights load into it tensor for tensor. The
pretrained model fixes what they depend on: its tokenizer becomes the joint vocabulary (so its
table serves encoder, decoder and output layer), and its shape (d_model, layers, heads, FFN,
positions, norm placement, activation, embedding layout) becomes the encoder's; the decoder
takes the same width and its own ``dec_layers``. Options given that contradict the pretrained
shape are refused in one line rather than silently overridden.

>>> from tokvec.contextual.config import EncoderConfig
>>> shape = encoder_shape(EncoderConfig(vocab_size=100, d_model=32, layers=2, heads=2, ffn=64))
>>> shape["d_model"], shape["enc_layers"], shape["positions"], shape["scale_embeddings"]
(32, 2, 'learned', False)
"""

from __future__ import annotations

import os
from typing import Any

import torch

from ..contextual.config import EncoderConfig
from ..contextual.model import ContextualModel, load_contextual
from ..errors import TokvecError
from .translator import TranslationModel

# seq2seq option -> the BERT encoder's config field
_SHAPE = {"d_model": "d_model", "enc_layers": "layers", "heads": "heads", "ffn": "ffn",
          "max_len": "max_len", "norm": "norm", "activation": "activation",
          "positions": "positions", "scale_embeddings": "scale_embeddings",
          "layer_norm_eps": "layer_norm_eps"}


def load_pretrained_encoder(path: str | os.PathLike[str]) -> ContextualModel:
    """The ``bert`` model at ``path`` (a tokvec pretrain directory or a HuggingFace BERT)."""
    model = load_contextual(path)
    if model.kind != "bert" or not isinstance(model.arch, EncoderConfig):
        raise TokvecError(f"--init-encoder needs a bert model (a Transformer encoder); this "
                          f"is a {model.kind} model", path=path)
    return model


def encoder_shape(arch: EncoderConfig) -> dict[str, Any]:
    """The seq2seq options a pretrained encoder of ``arch`` fixes."""
    shape = {ours: getattr(arch, theirs) for ours, theirs in _SHAPE.items()}
    shape["embedding_norm"] = arch.norms_embeddings
    return shape


def warm_start_options(pretrained: ContextualModel, path: str | os.PathLike[str],
                       given: dict[str, Any]) -> dict[str, Any]:
    """``given`` with the pretrained encoder's shape and vocabulary; conflicts are refused."""
    shape = encoder_shape(pretrained.arch)  # type: ignore[arg-type]
    conflicts = [f"--{k.replace('_', '-')} {given[k]} (the encoder's is {v})"
                 for k, v in shape.items() if given.get(k) is not None and given[k] != v]
    if given.get("joint_vocab") is False:
        conflicts.append("--separate-vocab (the encoder's vocabulary is the joint one)")
    if given.get("vocab") is not None and os.path.abspath(given["vocab"]) != \
            os.path.abspath(path):
        conflicts.append(f"--vocab {given['vocab']} (the encoder comes with its own)")
    for side in ("src_segment", "tgt_segment"):
        if given.get(side, "none") != "none":
            conflicts.append(f"--{side.replace('_', '-')} {given[side]} (the encoder's "
                             f"tokenizer does its own splitting)")
    if conflicts:
        raise TokvecError("--init-encoder takes the encoder's shape from the pretrained "
                          "model; these options contradict it: " + "; ".join(conflicts),
                          path=path)
    return {**given, **shape, "vocab": os.fspath(path)}


def copy_encoder(model: TranslationModel, pretrained: ContextualModel,
                 path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load the pretrained encoder's weights into ``model``'s encoder (and so, with three-way
    tying, its token table into the decoder and output layer); returns what was copied."""
    encoder = model.network.encoder
    state = dict(pretrained.module.state_dict())
    rows = encoder.tok_emb.weight.shape[0]
    state["tok_emb.weight"] = state["tok_emb.weight"][:rows]  # the table may have spare rows
    expected = encoder.state_dict()
    if set(state) != set(expected) or any(state[k].shape != expected[k].shape for k in state):
        raise TokvecError("the pretrained encoder's weights do not fit the translation "
                          "encoder", path=path)
    with torch.no_grad():
        encoder.load_state_dict(state)
        encoder.tok_emb.weight[model.arch.pad_id].zero_()  # padding is the decoder's start
    return {"from": os.fspath(path), "tensors": len(state),
            "parameters": sum(int(t.numel()) for t in state.values())}


def describe_warm_start(report: dict[str, Any]) -> str:
    """The line :func:`copy_encoder`'s report prints."""
    return (f"encoder warm-started from {report['from']}: {report['tensors']} tensors, "
            f"{report['parameters']:,} parameters")
