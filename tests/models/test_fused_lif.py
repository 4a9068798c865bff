"""The fused LIF recurrence (models/fused_lif.py) against SpikingJelly's LIFNode, and where it runs.

Behaviour only; its speed is measured by ``python -m search.bench --front-end lif``.
Each parameter combination compiles its own small graph (about a second here).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional, neuron, surrogate
from torch.utils.flop_counter import FlopCounterMode

from models import NetworkConfig, build_network, compile_support, fused_lif
from models.fused_lif import FusedLIFNode
from search.errors import UsageError
from search.training import _kernels as kernels

pytestmark = pytest.mark.skipif(
    compile_support.compile_unavailable("cpu") is not None, reason="torch.compile cannot run here"
)

CPU = torch.device("cpu")
SURROGATES = {
    "atan": surrogate.ATan,
    "sigmoid": surrogate.Sigmoid,
    "piecewise_quadratic": surrogate.PiecewiseQuadratic,
    "erf": surrogate.Erf,
}


def _pair(surrogate_name: str, **kwargs) -> tuple[neuron.LIFNode, FusedLIFNode]:
    common = dict(tau=2.0, surrogate_function=SURROGATES[surrogate_name](), step_mode="m", **kwargs)
    return neuron.LIFNode(**common), FusedLIFNode(role="front", **common)


def _run(node: torch.nn.Module, base: torch.Tensor, static: bool, weights: torch.Tensor):
    """Spikes, last v and the input gradient of a loss that uses both spikes and v."""
    x = base.clone().requires_grad_()
    x_seq = x.expand(4, *x.shape[1:]) if static else x
    spikes = node(x_seq)
    ((spikes * weights).sum() + (node.v**2).sum()).backward()
    return spikes.detach(), node.v.detach(), x.grad


@pytest.mark.slow
@pytest.mark.parametrize("surrogate_name", sorted(SURROGATES))
@pytest.mark.parametrize(
    ("detach_reset", "v_reset", "static"),
    [
        (False, 0.0, False),
        (True, 0.0, True),
        (False, None, True),
        (True, None, False),
    ],
)
def test_fused_equals_spikingjelly(
    surrogate_name: str, detach_reset: bool, v_reset: float | None, static: bool
) -> None:
    """Same spikes and final potential, the same input gradient to float32 rounding, the input's
    layout kept (channels-last frames, as the convolutions give them), for a static (expanded)
    input too."""
    torch.manual_seed(0)
    reference, fused = _pair(surrogate_name, detach_reset=detach_reset, v_reset=v_reset)
    base = (torch.randn(1 if static else 4, 6, 3, 5, 5) * 1.5).contiguous(memory_format=torch.channels_last_3d)
    weights = torch.randn(4, 6, 3, 5, 5)
    want = _run(reference, base, static, weights)
    got = _run(fused, base, static, weights)
    assert torch.equal(got[0], want[0]) and got[0].any() and not got[0].all()
    assert torch.allclose(got[1], want[1], atol=1e-6)
    assert torch.allclose(got[2], want[2], rtol=1e-5, atol=1e-6)
    assert got[0].stride() == torch.empty(4, 6, 3, 5, 5).contiguous(memory_format=torch.channels_last_3d).stride()


def test_state_carries_over_calls_and_resets() -> None:
    """Two calls continue from the stored potential, as SpikingJelly's do; reset_net clears it."""
    torch.manual_seed(1)
    reference, fused = _pair("atan")
    x = torch.randn(3, 4, 7)
    for _ in range(2):
        assert torch.equal(fused(x), reference(x))
        assert torch.allclose(fused.v, reference.v, atol=1e-6)
    functional.reset_net(fused)
    assert fused.v == 0.0


def test_modes_choose_the_layers() -> None:
    fused_lif.set_fused_mode("auto")
    assert fused_lif.runs_fused("front", "cpu") and not fused_lif.runs_fused("dense", "cpu")
    assert not fused_lif.runs_fused("front", "cuda")
    fused_lif.set_fused_mode("all")
    assert fused_lif.runs_fused("dense", "cpu")
    fused_lif.set_fused_mode("none")
    assert not fused_lif.runs_fused("front", "cpu")
    with pytest.raises(ValueError, match="fused LIF mode"):
        fused_lif.set_fused_mode("fast")


def test_lif_front_end_network_trains_the_same_fused_and_not() -> None:
    """The LIF front end with batch norm, default mode (its two convolutional LIF layers fused)
    against SpikingJelly everywhere: logits and every parameter gradient agree."""
    torch.manual_seed(0)
    net = build_network(NetworkConfig(front_end="lif", batch_norm=True, time_steps=3, v_threshold=0.5))
    net = net.to(memory_format=torch.channels_last)
    images = torch.rand(16, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    labels = torch.arange(16) % 10

    def step() -> tuple[torch.Tensor, list[torch.Tensor]]:
        net.zero_grad(set_to_none=True)
        logits = net(images)
        F.cross_entropy(logits, labels).backward()
        functional.reset_net(net)
        return logits.detach(), [p.grad.clone() for p in net.parameters()]

    fused_lif.set_fused_mode("none")
    want_logits, want_grads = step()
    fused_lif.set_fused_mode("auto")
    got_logits, got_grads = step()
    assert torch.allclose(got_logits, want_logits, rtol=1e-5, atol=1e-5)
    for got, want in zip(got_grads, want_grads):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)


def test_dispatch_modes_run_spikingjelly() -> None:
    """Under torch's FLOP counter (search.bench's count) the layer runs SpikingJelly's operator."""
    fused_lif.set_fused_mode("all")
    _, fused = _pair("atan")
    x = torch.randn(2, 3, 4)
    with FlopCounterMode(display=False):
        spikes = fused(x)
    functional.reset_net(fused)
    assert torch.equal(spikes, fused(x))


def test_fused_without_a_compiler_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """--neuron-backend fused is refused with one line; auto quietly runs SpikingJelly's kernel."""
    compile_support.compile_unavailable.cache_clear()
    monkeypatch.setattr(compile_support.shutil, "which", lambda name: None)
    try:
        with pytest.raises(UsageError, match=r"^--neuron-backend fused cannot run on cpu: no C\+\+ compiler"):
            kernels.check_neuron_backend("fused", CPU)
        fused_lif.set_fused_mode("auto")
        assert not fused_lif.runs_fused("front", "cpu")
    finally:
        compile_support.compile_unavailable.cache_clear()
