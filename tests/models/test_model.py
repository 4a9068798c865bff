"""The spiking CNN: shapes, state reset, the broadcast shortcut, dropout across time."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional, neuron

from models import ENCODINGS, FRONT_ENDS, READOUTS, NetworkConfig, build_network
from search.training import TrainVal
from search.training._augment import augment_batch
from search.training._data import to_unit_float


@pytest.fixture(scope="module", autouse=True)
def _real_images(small_data: TrainVal) -> None:
    """Real Fashion-MNIST images: random noise makes every image look alike to a fresh network."""
    global _POOL
    _POOL = to_unit_float(small_data.val.images)


_POOL: torch.Tensor | None = None


def _images(batch: int, seed: int = 0) -> torch.Tensor:
    """``batch`` different validation images, in [0, 1], channels-last."""
    assert _POOL is not None
    return _POOL[seed * batch : (seed + 1) * batch].contiguous(memory_format=torch.channels_last)


def _net(seed: int = 0, **fields: object):
    torch.manual_seed(seed)
    return build_network(NetworkConfig(**fields)).to(memory_format=torch.channels_last)


@pytest.mark.parametrize(("front_end", "encoding", "readout"), list(itertools.product(FRONT_ENDS, ENCODINGS, READOUTS)))
@pytest.mark.parametrize("batch_norm", [False, True], ids=["nobn", "bn"])
def test_output_shape_every_variant(front_end: str, encoding: str, readout: str, batch_norm: bool) -> None:
    net = _net(
        front_end=front_end, encoding=encoding, readout=readout, batch_norm=batch_norm, time_steps=3, dropout=0.2
    )
    for mode in (net.train, net.eval):
        mode()
        out = net(_images(5))
        functional.reset_net(net)
        assert tuple(out.shape) == (5, 10)
        assert out.dtype == torch.float32 and bool(torch.isfinite(out).all())
    # Backward reaches the first convolution through every LIF layer's surrogate gradient.
    net.train()
    F.cross_entropy(net(_images(5)), torch.arange(5)).backward()
    assert net.front[0].weight.grad is not None and float(net.front[0].weight.grad.abs().sum()) > 0


def test_variants_cover_all_choices() -> None:
    assert set(FRONT_ENDS) == {"relu", "lif"}
    assert set(ENCODINGS) == {"direct", "poisson"}
    assert set(READOUTS) == {"membrane", "rate"}


def test_only_direct_relu_front_is_static() -> None:
    for front_end, encoding in itertools.product(FRONT_ENDS, ENCODINGS):
        config = NetworkConfig(front_end=front_end, encoding=encoding, time_steps=4)
        static = front_end == "relu" and encoding == "direct"
        assert config.static_front is static
        x_seq = build_network(config).encode(_images(2))
        assert x_seq.shape[0] == (1 if static else 4)


# A freshly initialised network without batch norm does not fire its hidden layer at the
# default threshold 1.0 (its input peaks near 0.5), so its output ignores the image and
# carries no state. Tests that need spikes lower the threshold.
SPIKY = dict(v_threshold=0.1)


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_state_is_reset_between_batches(front_end: str) -> None:
    net = _net(front_end=front_end, **SPIKY)
    net.eval()
    lifs = [m for m in net.modules() if isinstance(m, neuron.LIFNode)]
    assert len(lifs) == (1 if front_end == "relu" else 3)  # hidden (+ two conv LIF layers)
    x = _images(8)
    with torch.no_grad():
        first = net(x)
        assert all(isinstance(m.v, torch.Tensor) and float(m.v.abs().max()) > 0 for m in lifs)
        carried = net(x)  # no reset: the membranes start where the last batch left them
        functional.reset_net(net)
        for m in lifs:
            v = m.v if isinstance(m.v, torch.Tensor) else torch.tensor(m.v)
            assert bool((v == m.v_reset).all()), "membrane not back to its reset value"
        again = net(x)
    assert float(first.std()) > 1e-3  # the output depends on the image
    assert torch.equal(first, again)
    assert not torch.allclose(first, carried)


def _forward_backward(net, x: torch.Tensor, y: torch.Tensor, broadcast: bool):
    net.zero_grad(set_to_none=True)
    functional.reset_net(net)
    out = net(x, broadcast=broadcast)
    F.cross_entropy(out, y).backward()
    grads = {name: p.grad.detach().clone() for name, p in net.named_parameters()}
    functional.reset_net(net)
    return out.detach(), grads


@pytest.mark.slow
@pytest.mark.parametrize("batch_norm", [False, True], ids=["nobn", "bn"])
@pytest.mark.parametrize("readout", READOUTS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(("neuron_type", "augment"), [("lif", "none"), ("plif", "none"), ("lif", "crop_flip_erase")])
def test_broadcast_equals_repeated_input(
    batch_norm: bool, readout: str, dtype: torch.dtype, neuron_type: str, augment: str
) -> None:
    """Computing the static front layers once and broadcasting over T is exact: outputs and gradients.

    Both are compared tightly in float64, and in float32 without batch norm (where the
    two paths do the same arithmetic per image). In float32 with batch norm the batch
    statistics are summed over B or T x B copies, so they differ in the last bit; that
    can flip a spike whose membrane sits at the threshold, and the backward pass of
    batch norm cancels so much that the repeated path's gradients drift by up to a few
    percent from a float64 reference (the broadcast path's by about 1e-5). There the
    test only asks that the spikes agree almost everywhere.

    It holds for PLIF neurons (their learned time constant gets the same gradient) and
    for an augmented training batch (augmentation happens before encoding).
    """
    net = _net(seed=1, batch_norm=batch_norm, readout=readout, time_steps=4, neuron=neuron_type, **SPIKY).to(dtype)
    net.train()
    x, y = _images(16, seed=2).to(dtype), torch.arange(16) % 10
    x = augment_batch(x, augment, torch.Generator().manual_seed(3))
    spikes = []
    hook = net.hidden_lif.register_forward_hook(lambda m, i, o: spikes.append(o.detach()))
    out_b, grads_b = _forward_backward(net, x, y, broadcast=True)
    out_r, grads_r = _forward_backward(net, x, y, broadcast=False)
    hook.remove()
    # The comparison means something: the hidden layer spikes, but not everywhere, and
    # the outputs differ between images.
    assert 0.01 < float(spikes[0].mean()) < 0.99
    assert float(out_b.std()) > 1e-3
    assert grads_b.keys() == grads_r.keys()
    assert all(float(g.abs().max()) > 0 for g in grads_r.values()), "a parameter got no gradient"
    if dtype == torch.float32 and batch_norm:
        assert float((spikes[0] != spikes[1]).float().mean()) < 1e-3
        return
    tight = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)
    assert torch.equal(spikes[0], spikes[1])
    assert torch.allclose(out_b, out_r, **tight), float((out_b - out_r).abs().max())
    for name in grads_b:
        scale = float(grads_r[name].abs().max())
        rtol = 1e-4 if dtype == torch.float32 else 1e-9
        assert torch.allclose(grads_b[name], grads_r[name], rtol=rtol, atol=rtol * 1e-2 * scale), name


def test_broadcast_runs_the_front_once() -> None:
    """The shortcut is really taken: the first convolution sees B images, not T x B."""
    net = _net(time_steps=4)
    shapes = []
    net.front[0].register_forward_hook(lambda m, i, o: shapes.append(tuple(i[0].shape)))
    net(_images(6))
    functional.reset_net(net)
    net(_images(6), broadcast=False)
    assert shapes[0][:2] == (1, 6) and shapes[1][:2] == (4, 6)


def test_dropout_mask_is_shared_across_time_steps() -> None:
    net = _net(dropout=0.5, time_steps=4)
    net.train()
    ones = torch.ones(4, 32, 512)
    out = net.dropout(ones)
    zeros = out == 0
    assert 0.35 < float(zeros.float().mean()) < 0.65
    for t in range(1, 4):
        assert torch.equal(zeros[t], zeros[0]), f"step {t} has another mask"
    assert torch.allclose(out[~zeros], torch.tensor(2.0))  # kept units scaled by 1 / (1 - p)
    # A new batch (after reset) draws a new mask; evaluation applies none.
    functional.reset_net(net)
    assert not torch.equal(net.dropout(ones) == 0, zeros)
    functional.reset_net(net)
    net.eval()
    assert torch.equal(net.dropout(ones), ones)


def test_dropout_in_the_network_uses_one_mask_per_batch() -> None:
    net = _net(dropout=0.5, time_steps=4)
    net.train()
    captured = {}

    def hook(module, inputs, output):
        captured["in"], captured["out"] = inputs[0].detach(), output.detach()

    net.dropout.register_forward_hook(hook)
    net(_images(8))
    x, y = captured["in"], captured["out"]
    assert tuple(x.shape) == (4, 8, 512)
    mask = net.dropout.mask
    assert tuple(mask.shape) == (8, 512)  # one [B, features] mask, broadcast over T
    assert torch.equal(y, x * mask)


def test_batch_norm_evaluation_matches_torch() -> None:
    """The network's own evaluation-mode BatchNorm2d (an affine multiply-add) equals torch's."""
    net = _net(batch_norm=True)
    net.fold_batch_norm(False)  # the batch norm on its own (folding: tests/models/test_batch_norm_folding.py)
    bns = [m for m in net.front if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 2
    g = torch.Generator().manual_seed(5)
    for bn in bns:
        c = bn.num_features
        with torch.no_grad():
            bn.running_mean.copy_(torch.randn(c, generator=g))
            bn.running_var.copy_(torch.rand(c, generator=g) + 0.1)
            bn.weight.copy_(torch.randn(c, generator=g))
            bn.bias.copy_(torch.randn(c, generator=g))
        x_seq = torch.randn(2, 3, c, 14, 14, generator=g).contiguous()
        flat = x_seq.flatten(0, 1).contiguous(memory_format=torch.channels_last)
        bn.eval()
        got = bn(flat.view(2, 3, c, 14, 14))
        want = F.batch_norm(flat, bn.running_mean, bn.running_var, bn.weight, bn.bias, training=False, eps=bn.eps)
        assert torch.allclose(got.flatten(0, 1), want, rtol=1e-5, atol=1e-5)
        bn.train()  # training mode is torch's own path: batch statistics
        trained = bn(x_seq).flatten(0, 1)
        assert torch.allclose(trained.mean((0, 2, 3)), bn.bias, atol=1e-4)
