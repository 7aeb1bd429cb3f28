"""Training precision: the autocast switch and what ``auto`` resolves to."""

from __future__ import annotations

import pytest
import torch

from tokvec.contextual import precision
from tokvec.errors import TokvecError


def test_auto_follows_the_hardware(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "fast_bf16", lambda device: True)
    assert precision.resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(precision, "fast_bf16", lambda device: False)
    assert precision.resolve_precision("auto", cpu) == "fp32"
    assert precision.resolve_precision("bf16", cpu) == "bf16"  # an explicit choice is kept
    with pytest.raises(TokvecError, match="precision must be one of fp32, bf16, auto"):
        precision.resolve_precision("fp16", cpu)


def test_cpu_flags_decide_fast_bf16(monkeypatch, tmp_path):
    import builtins

    real_open = builtins.open
    for flags, expected in (("fpu avx512f avx512_bf16", True), ("fpu avx2 avx512f", False),
                            ("fpu amx_bf16 amx_tile", True)):
        info = tmp_path / "cpuinfo"
        info.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")

        def fake_open(path, *args, _info=info, **kwargs):
            return real_open(_info if path == "/proc/cpuinfo" else path, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", fake_open)
        assert precision.fast_bf16(torch.device("cpu")) is expected
    assert precision.fast_bf16(torch.device("meta")) is False


def test_autocast_runs_products_in_bf16_only_when_asked():
    a = torch.ones(4, 4, requires_grad=True)
    with precision.training_autocast(torch.device("cpu"), "bf16"):
        out = a @ a
    assert out.dtype == torch.bfloat16
    out.float().sum().backward()
    assert a.grad is not None and a.grad.dtype == torch.float32  # weights stay fp32
    with precision.training_autocast(torch.device("cpu"), "fp32"):
        assert (a @ a).dtype == torch.float32
