"""Contextual token vectors: BERT-style and ELMo-style encoders, HuggingFace BERT checkpoints.

>>> from tokvec.contextual import load_contextual, ContextualModel
>>> callable(load_contextual) and ContextualModel.__name__
'ContextualModel'

Importing this package registers the model kinds ``bert``, ``bilstm`` and ``hf`` with
:func:`tokvec.modeldir.register_kind`, so :func:`tokvec.modeldir.load_model` loads them.
"""

from __future__ import annotations

from ..modeldir import register_kind
from .model import ContextualModel, load_contextual


def _load_hf(directory, cfg):  # type: ignore[no-untyped-def]
    from .hf import load_hf_checkpoint

    return load_hf_checkpoint(directory, cfg)


register_kind("bert", ContextualModel.load)
register_kind("bilstm", ContextualModel.load)
register_kind("hf", _load_hf)

__all__ = ["ContextualModel", "load_contextual"]
