"""Training precision: ``fp32``, or ``bf16`` matrix products under autocast.

Under ``bf16`` the weights, the optimizer state, the losses and everything autocast keeps in
float32 (softmax, layer norm, cross-entropy) stay fp32; only the matrix products run in
bfloat16, which CPUs with AVX-512 BF16 or AMX (and GPUs) execute two to three times faster.
Attention itself runs in fp32 on a CPU (:func:`tokvec.contextual.bert.attend`). Pretraining
and ``tokvec seq2seq`` share this switch. ``auto`` (pretraining's default) is ``bf16`` where the
hardware has fast bfloat16 products (:func:`fast_bf16`) and ``fp32`` elsewhere; it is resolved
once, when a run starts, and the run records what it chose.

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
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def check_precision(precision: str, allowed: tuple[str, ...] = PRECISIONS) -> None:
    """Refuse an unknown precision with one line."""
    if precision not in allowed:
        raise TokvecError(f"precision must be one of {', '.join(allowed)}, got {precision!r}")


def fast_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices natively: a CUDA GPU that supports it,
    or a CPU whose flags (``/proc/cpuinfo``) include AVX-512 BF16 or AMX."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return any(flag in line.split() for flag in CPU_BF16_FLAGS)
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` made concrete for ``device``; ``fp32`` and ``bf16`` are returned as given."""
    check_precision(precision, (*PRECISIONS, "auto"))
    if precision != "auto":
        return precision
    return "bf16" if fast_bf16(device) else "fp32"


def training_autocast(device: torch.device, precision: str) -> torch.autocast:
    """The autocast context of a training step at ``precision`` (a no-op for ``fp32``)."""
    check_precision(precision)
    return torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16")
