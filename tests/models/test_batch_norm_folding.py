"""Evaluation batch norm folded into the convolutions: same outputs, training and saving untouched."""

from __future__ import annotations

import io

import pytest
import torch
from spikingjelly.activation_based import functional

from models import FRONT_ENDS, NetworkConfig, build_network
from models.snn import BatchNorm2d, Conv2d


def _trained_looking_net(front_end: str, dtype: torch.dtype = torch.float32):
    """A batch-norm network with running statistics and affine parameters away from their defaults."""
    torch.manual_seed(0)
    net = build_network(NetworkConfig(batch_norm=True, front_end=front_end)).to(dtype=dtype)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for bn in (m for m in net.modules() if isinstance(m, BatchNorm2d)):
            c = bn.num_features
            bn.running_mean.copy_(torch.randn(c, generator=g, dtype=dtype) * 0.3)
            bn.running_var.copy_(torch.rand(c, generator=g, dtype=dtype) + 0.2)
            bn.weight.copy_(1 + 0.5 * torch.randn(c, generator=g, dtype=dtype))
            bn.bias.copy_(0.2 * torch.randn(c, generator=g, dtype=dtype))
    return net.to(memory_format=torch.channels_last).eval()


def _images(n: int, dtype: torch.dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(2)
    return torch.rand(n, 1, 28, 28, generator=g, dtype=dtype).contiguous(memory_format=torch.channels_last)


def _front(net, images: torch.Tensor) -> torch.Tensor:
    out = net.front(net.encode(images))
    functional.reset_net(net)
    return out


def test_both_convolutions_are_folded() -> None:
    net = _trained_looking_net("relu")
    convs = [m for m in net.front if isinstance(m, Conv2d)]
    assert len(convs) == 2 and all(len(c.folded_bn) == 1 for c in convs)
    assert all(m.folded for m in net.front if isinstance(m, BatchNorm2d))


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_folded_evaluation_equals_unfolded(front_end: str) -> None:
    """float32 front (before the first spike) to 1e-5; float64 logits through the spikes to 1e-10."""
    net = _trained_looking_net(front_end)
    x = _images(16, torch.float32)
    with torch.no_grad():
        if front_end == "relu":  # the LIF front end spikes: compare it in float64 only
            folded = _front(net, x)
            net.fold_batch_norm(False)
            unfolded = _front(net, x)
            net.fold_batch_norm(True)
            assert torch.allclose(folded, unfolded, rtol=1e-5, atol=1e-5)
        net64 = _trained_looking_net(front_end, torch.float64)
        x64 = x.double()
        folded = net64(x64)
        functional.reset_net(net64)
        net64.fold_batch_norm(False)
        unfolded = net64(x64)
    assert torch.allclose(folded, unfolded, rtol=1e-10, atol=1e-10)


def test_training_mode_uses_batch_statistics_not_the_fold() -> None:
    """In training mode the batch norm normalises with the batch's own statistics, as before."""
    net = _trained_looking_net("relu").train()
    x = _images(32, torch.float32)
    out = _front(net, x)
    net.fold_batch_norm(False)
    assert torch.equal(out, _front(net, x))
    assert net.front[0].weight.grad is None  # nothing folded into the parameters themselves


def test_state_dict_keys_and_round_trip_unchanged() -> None:
    """model.pt holds the same keys as before folding existed, and loads with weights_only=True."""
    net = _trained_looking_net("relu")
    keys = set(net.state_dict())
    assert not any("folded" in k for k in keys)
    assert {"front.0.weight", "front.1.running_mean", "front.1.running_var", "front.1.weight"} <= keys
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    fresh = build_network(NetworkConfig(batch_norm=True)).to(memory_format=torch.channels_last).eval()
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    x = _images(8, torch.float32)
    with torch.no_grad():
        assert torch.equal(_front(fresh, x), _front(net, x))
