"""Optimisers and the learning-rate schedule for fine-tuning.

Static embedding tables have sparse gradients: ``sgd`` updates them directly, ``adam``/``adamw``
use ``SparseAdam`` (lazy Adam: only the rows a batch touches) for them and Adam/AdamW for the rest.
Weight decay applies to weight matrices only, never to embedding tables, biases or norms.

>>> import torch
>>> from tokvec.classify.config import FinetuneConfig
>>> from tokvec.classify.heads import StaticClassifier
>>> net = StaticClassifier("bag", torch.zeros(10, 4), num_classes=2, pad_id=0)
>>> [type(o).__name__ for o in make_optimizers(net, FinetuneConfig().resolved())]
['Adam', 'SparseAdam']
"""

from __future__ import annotations

import math

import torch

from ..errors import TokvecError
from .config import FinetuneConfig
from .heads import StaticClassifier


def lr_factor(step: int, total: int, schedule: str, warmup: float) -> float:
    """Multiplier of the base learning rate at ``step`` (0-based) of ``total``.

    >>> [round(lr_factor(s, 10, "linear", 0.2), 3) for s in (0, 1, 2, 9)]
    [0.5, 1.0, 1.0, 0.125]
    """
    warm = round(warmup * total)
    if step < warm:
        return (step + 1) / warm
    if schedule == "constant":
        return 1.0
    progress = (step - warm) / max(total - warm, 1)
    if schedule == "linear":
        return max(0.0, 1.0 - progress)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def make_optimizers(network: torch.nn.Module, cfg: FinetuneConfig) -> list[torch.optim.Optimizer]:
    """Optimisers for the trainable parameters (see the module docs for the grouping)."""
    sparse_ids = set()
    if isinstance(network, StaticClassifier):
        sparse_ids = {id(p) for p in network.embedding_parameters()}
    dense_ids = {id(p) for p in _encoder_tables(network)}
    sparse, decay, no_decay = [], [], []
    for p in network.parameters():
        if not p.requires_grad:
            continue
        if id(p) in sparse_ids:
            sparse.append(p)
        elif p.ndim >= 2 and id(p) not in dense_ids:
            decay.append(p)
        else:
            no_decay.append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    if cfg.optimizer == "sgd":
        if sparse:
            groups.append({"params": sparse, "weight_decay": 0.0})
        return [torch.optim.SGD(groups, lr=cfg.lr)]
    optimizers: list[torch.optim.Optimizer] = []
    if groups:
        kind = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
        optimizers.append(kind(groups, lr=cfg.lr))
    if sparse:
        optimizers.append(torch.optim.SparseAdam(sparse, lr=cfg.lr))
    if not optimizers:
        raise TokvecError("nothing to train: every parameter is frozen")
    return optimizers


def _encoder_tables(network: torch.nn.Module) -> list[torch.nn.Parameter]:
    if isinstance(network, StaticClassifier):
        return []
    return [m.weight for m in network.modules() if isinstance(m, torch.nn.Embedding)]
