"""Training precision: ``fp32``, or ``bf16`` matrix products under autocast.

Under ``bf16`` the weights, the optimizer state, the losses and everything autocast keeps in
float32 (softmax, layer norm, cross-entropy) stay fp32; only the matrix products run in
bfloat16, which CPUs with AVX-512 BF16 or AMX (and GPUs) execute two to three times faster.
Attention itself runs in fp32 on a CPU (:func:`tokvec.contextual.bert.attend`). Pretraining
and ``tokvec seq2seq`` share this switch.

>>> import torch
>>> with training_autocast(torch.device("cpu"), "bf16"):
...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
torch.bfloat16
>>> with training_autocast(torch.device("cpu"), "fp32"):
...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
torch.float32
"""

from __future__ import annotations

import torch

from ..errors import TokvecError

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> None:
    """Refuse an unknown precision with one line."""
    if precision not in PRECISIONS:
        raise TokvecError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")


def training_autocast(device: torch.device, precision: str) -> torch.autocast:
    """The autocast context of a training step at ``precision`` (a no-op for ``fp32``)."""
    check_precision(precision)
    return torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16")
