"""Optimisers and the learning-rate schedule for fine-tuning.

Static embedding tables have sparse gradients: ``sgd`` updates them directly, ``adam``/``adamw``
use :class:`RowAdam` (lazy Adam: only the rows a batch touches) for them and Adam/AdamW for the
rest. Weight decay applies to weight matrices only, never to embedding tables, biases or norms.
With ``layer_decay`` below 1 (encoder head), each depth of the encoder gets its own groups and
learning rate: the classifier and the final norm train at ``lr``, the top block at
``lr * decay``, ..., the embeddings at ``lr * decay^(L + 1)`` (Howard and Ruder's
discriminative fine-tuning, as used for ELECTRA); ``lr_scale`` in each group says how much.

>>> import torch
>>> from tokvec.classify.config import FinetuneConfig
>>> from tokvec.classify.heads import StaticClassifier
>>> net = StaticClassifier("bag", torch.zeros(10, 4), num_classes=2, pad_id=0)
>>> [type(o).__name__ for o in make_optimizers(net, FinetuneConfig().resolved())]
['Adam', 'RowAdam']
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..errors import TokvecError
from .config import FinetuneConfig
from .heads import StaticClassifier


class RowAdam(torch.optim.SparseAdam):
    """``SparseAdam``'s update (same formula, same state), done with row gathers and scatters.

    torch's ``SparseAdam`` builds sparse tensors and masks for every step, which costs more than
    the whole forward and backward pass of a bag-of-embeddings classifier; gathering the touched
    rows of the moments, updating them densely and scattering them back does the same arithmetic
    several times faster.

    >>> table = torch.nn.Embedding(5, 2, sparse=True)
    >>> before = table.weight.detach().clone()
    >>> table(torch.tensor([1, 3, 3])).sum().backward()
    >>> RowAdam(table.parameters(), lr=0.1).step()
    >>> (table.weight != before).any(dim=1).tolist()
    [False, True, False, True, False]
    """

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps = float(group["lr"]), group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.coalesce()
                rows, values = grad.indices()[0], grad.values()
                if values.numel() == 0:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                m = exp_avg.index_select(0, rows).lerp_(values, 1 - beta1)
                v = exp_avg_sq.index_select(0, rows).mul_(beta2).addcmul_(values, values,
                                                                          value=1 - beta2)
                exp_avg.index_copy_(0, rows, m)
                exp_avg_sq.index_copy_(0, rows, v)
                t = state["step"]
                step_size = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
                p.index_add_(0, rows, m.div_(v.sqrt_().add_(eps)), alpha=-step_size)
        return loss


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
    if cfg.layer_decay is not None and cfg.layer_decay != 1.0:
        groups = _by_depth(network, groups, cfg.layer_decay)
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
        optimizers.append(RowAdam(sparse, lr=cfg.lr))
    if not optimizers:
        raise TokvecError("nothing to train: every parameter is frozen")
    return optimizers


def _encoder_tables(network: torch.nn.Module) -> list[torch.nn.Parameter]:
    if isinstance(network, StaticClassifier):
        return []
    return [m.weight for m in network.modules() if isinstance(m, torch.nn.Embedding)]


def layer_depths(network: torch.nn.Module) -> tuple[dict[int, int], int]:
    """Depth of each parameter of an encoder classifier, by ``id``: 0 for the embeddings,
    ``l`` for block ``l`` (1-based); everything else (the final norm, the classifier) is at
    the top depth, ``L + 1``, which is also returned."""
    encoder = getattr(network, "encoder", None)
    blocks = getattr(encoder, "blocks", None)
    if not isinstance(blocks, torch.nn.ModuleList):
        raise TokvecError("--layer-decay needs a Transformer encoder (a bert model); this base "
                          "has no blocks to decay over")
    top = len(blocks) + 1
    depths = {id(p): top for p in network.parameters()}
    for name, module in encoder.named_children():
        if name in ("tok_emb", "pos_emb", "emb_norm"):
            depths.update({id(p): 0 for p in module.parameters()})
    for layer, block in enumerate(blocks, start=1):
        depths.update({id(p): layer for p in block.parameters()})
    return depths, top


def _by_depth(network: torch.nn.Module, groups: list[dict[str, Any]],
              decay: float) -> list[dict[str, Any]]:
    depths, top = layer_depths(network)
    split = []
    for group in groups:
        for depth in range(top, -1, -1):
            params = [p for p in group["params"] if depths[id(p)] == depth]
            split.append({**group, "params": params, "lr_scale": decay ** (top - depth)})
    return split
