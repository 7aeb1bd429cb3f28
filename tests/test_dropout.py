"""FastDropout: the drop rate, the 1/(1-p) scale, the gradient, eval mode, reproducibility."""

from __future__ import annotations

import pytest
import torch

from tokvec.contextual.dropout import FastDropout, keep_mask


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_the_drop_rate_is_p_and_survivors_are_scaled(p):
    torch.manual_seed(1)
    x = torch.randn(300, 1001)
    y = FastDropout(p)(x)
    dropped = y == 0
    assert abs(float(dropped.float().mean()) - p) < 0.005
    assert torch.allclose(y[~dropped], x[~dropped] / (1 - p))
    # no pattern across the four 16-bit shares of a random word
    shares = keep_mask(torch.Size([400_000]), p, x.device).view(-1, 4).float().mean(0)
    assert float((shares - (1 - p)).abs().max()) < 0.005


def test_the_gradient_flows_through_the_kept_elements_only():
    torch.manual_seed(2)
    x = torch.randn(64, 33, requires_grad=True)
    y = FastDropout(0.3)(x)
    y.sum().backward()
    kept = y.detach() != 0
    assert torch.allclose(x.grad, kept.float() / 0.7)


def test_eval_mode_is_the_identity_and_a_seed_repeats_the_mask():
    drop = FastDropout(0.2)
    x = torch.randn(10, 10)
    assert torch.equal(drop.eval()(x), x)
    drop.train()
    torch.manual_seed(3)
    a = drop(x)
    torch.manual_seed(3)
    assert torch.equal(drop(x), a)
    assert torch.equal(FastDropout(0.0)(x), x)
