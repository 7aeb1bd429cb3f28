"""AdamW with weight decay only on matrices, and a warm-up then decay learning-rate schedule.

Following nanoGPT, parameters with two or more dimensions (weight matrices and embedding
tables) are decayed; biases, LayerNorm gains and scalar-mix weights are not. The fused AdamW
kernel is used where this torch build offers it (CPU included since torch 2.4).

The schedule multiplies the base rate by ``step / warmup`` during warm-up, then decays it to 0
at ``total`` steps, linearly or along a half cosine (or, with a time budget, by the share of the
budget used if that is further along, as in Geiping and Goldstein's "Cramming" BERT):

>>> [round(lr_factor(s, warmup=2, total=6), 2) for s in range(7)]
[0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0]
>>> round(lr_factor(4, warmup=2, total=6, schedule="cosine"), 2)
0.5
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from ..errors import TokvecError

SCHEDULES = ("linear", "cosine")


def lr_factor(step: int, warmup: int, total: int, schedule: str = "linear",
              time_fraction: float = 0.0) -> float:
    """The learning-rate multiplier at ``step`` (0-based: the update about to be made).

    Under a time budget, ``time_fraction`` (elapsed / budget) advances the decay when it is
    further along than the step count.
    """
    if schedule not in SCHEDULES:
        raise TokvecError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if warmup > 0 and step < warmup:
        return step / warmup
    span = max(1, total - warmup)
    progress = min(1.0, max((step - warmup) / span, time_fraction))
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0 - progress


def param_groups(modules: Iterable[nn.Module], weight_decay: float) -> list[dict]:
    """Two AdamW groups: decayed (dim >= 2) and not decayed (dim < 2), each parameter once."""
    seen: set[int] = set()
    decay, no_decay = [], []
    for module in modules:
        for p in module.parameters():
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            (decay if p.dim() >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def make_adamw(groups: list[dict], lr: float, betas: tuple[float, float] = (0.9, 0.999),
               eps: float = 1e-8) -> torch.optim.AdamW:
    """AdamW, fused where available (falls back to the foreach implementation)."""
    try:
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
