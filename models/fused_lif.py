"""SpikingJelly's multi-step LIF recurrence compiled by Inductor into one fused loop per direction.

On the CPU SpikingJelly 2.0 runs a LIF layer as its torch reference: a Python loop over
T of about eight elementwise operations, each a separate pass over the layer's
activations, and autograd records every one of them for the backward pass.  On the
LIF front end that is about 70% of a training step (docs/performance.md).
:class:`FusedLIFNode` computes the same recurrence (SpikingJelly's formulas: charge,
fire with the surrogate's Heaviside forward, hard or soft reset) as a custom autograd
function whose forward and backward are each ``torch.compile``d once: Inductor fuses
the whole loop over T into one C++ (or Triton) loop that reads the input once and
writes the spikes and the charged potential once; the backward reads the saved
potential and the spike gradient once and writes the input gradient once.  The
backward is SpikingJelly's own hand-derived one (``_ops/lif/cpu.py::_backward_impl``,
the structure of its CUDA kernels), written here with tensor parameters so that a new
tau, threshold or alpha reuses the compiled code instead of recompiling it.

What is compiled depends only on T, the surrogate, the reset mode and detach_reset;
the number of neurons is a dynamic size.  So a search compiles once per (T, surrogate,
...) it meets, a few seconds each, and Inductor's on-disk cache serves later processes.

Spikes equal SpikingJelly's exactly wherever the charged potential is not within
float rounding of the threshold; gradients agree to float32 rounding
(tests/models/test_fused_lif.py).  Only float32 tensors on a device torch.compile can serve
take this path; everything else runs SpikingJelly's own implementation.

Which layers run fused is one process-wide mode, as SpikingJelly's own kernel choice
is (``--neuron-backend`` sets both, ``search/training/_kernels.py``):

- ``auto`` (the default): the LIF front end's convolutional LIF layers, on the CPU
  only.  There the fusion pays (about 1.5 times SpikingJelly's training speed for the
  LIF front end, docs/performance.md round 4); on the hidden layer's 512 neurons per
  image it is within the noise, and on a GPU SpikingJelly's own CUDA and Triton kernels are
  fused already.
- ``all``: every ``FusedLIFNode``, on any device torch.compile can serve.
- ``none``: never (SpikingJelly's implementation everywhere).
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from spikingjelly._ops.surrogate import (  # SpikingJelly 2.0's own formulas
    _surrogate_gradient,
    _surrogate_spec,
)
from spikingjelly.activation_based import neuron
from torch.utils._python_dispatch import _get_current_dispatch_mode

from models.compile_support import compile_unavailable, prepare_inductor

RECOMPILE_LIMIT = 256
FUSED_MODES = ("auto", "all", "none")
# Layer roles: "front" for the LIF front end's convolutional layers, "dense" for the others.
ROLES = ("front", "dense")
_mode = "auto"


def set_fused_mode(mode: str) -> None:
    """Which ``FusedLIFNode`` layers of this process run fused: ``auto``, ``all`` or ``none``."""
    global _mode
    if mode not in FUSED_MODES:
        raise ValueError(f"fused LIF mode must be one of {FUSED_MODES}, not {mode!r}")
    _mode = mode


def fused_mode() -> str:
    return _mode


def runs_fused(role: str, device_type: str) -> bool:
    """Whether a layer of ``role`` on ``device_type`` runs the fused recurrence in the current mode."""
    if _mode == "none" or (_mode == "auto" and (role != "front" or device_type != "cpu")):
        return False
    return compile_unavailable(device_type) is None


def _charge(
    x: torch.Tensor, v: torch.Tensor, tau: torch.Tensor, reset: torch.Tensor, decay_input: bool
) -> torch.Tensor:
    if decay_input:
        return v + (x - (v - reset)) / tau
    return v - (v - reset) / tau + x


def _lif_forward(
    x: torch.Tensor,
    v: torch.Tensor,
    tau: torch.Tensor,
    threshold: torch.Tensor,
    reset: torch.Tensor,
    steps: int,
    decay_input: bool,
    hard_reset: bool,
    static_input: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[T, N] (or [N] repeated T times when ``static_input``) -> spikes [T, N], last v [N], h [T, N]."""
    spikes, charged = [], []
    for t in range(steps):
        h = _charge(x if static_input else x[t], v, tau, reset, decay_input)
        spike = (h >= threshold).to(h.dtype)
        v = spike * reset + (1 - spike) * h if hard_reset else h - spike * threshold
        spikes.append(spike)
        charged.append(h)
    return torch.stack(spikes), v, torch.stack(charged)


def _lif_backward(
    gs: torch.Tensor,
    gv: torch.Tensor,
    h: torch.Tensor,
    tau: torch.Tensor,
    threshold: torch.Tensor,
    reset: torch.Tensor,
    alpha: torch.Tensor,
    steps: int,
    decay_input: bool,
    hard_reset: bool,
    detach_reset: bool,
    surrogate_id: int,
    static_input: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """SpikingJelly's LIF backward from the charged potentials: (input gradient, initial-v gradient)."""
    carry = gv
    grads: list[torch.Tensor] = []
    for t in range(steps - 1, -1, -1):
        sg = _surrogate_gradient(h[t] - threshold, alpha, surrogate_id)
        reset_grad: torch.Tensor | int
        if hard_reset:
            reset_grad = 1 - (h[t] >= threshold).to(h.dtype)
            if not detach_reset:
                reset_grad = reset_grad + (reset - h[t]) * sg
        else:
            reset_grad = 1 if detach_reset else 1 - threshold * sg
        gh = gs[t] * sg + carry * reset_grad
        grads.append(gh / tau if decay_input else gh)
        carry = gh - gh / tau
    grads.reverse()
    gx = functools.reduce(torch.add, grads) if static_input else torch.stack(grads)  # the sum, in order
    return gx, carry


def _compile(function: Any) -> Any:
    # One graph per (T, surrogate, reset mode, detach_reset, static input) met in this process.
    prepare_inductor(RECOMPILE_LIMIT)
    return torch.compile(function, dynamic=True, fullgraph=True)


@functools.cache
def _compiled_forward() -> Any:
    return _compile(_lif_forward)


@functools.cache
def _compiled_backward() -> Any:
    return _compile(_lif_backward)


class _FusedLIFFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, v: torch.Tensor, settings: dict[str, Any], tensors: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        tau, threshold, reset, _alpha = tensors
        spikes, v_last, h = _compiled_forward()(
            x,
            v,
            tau,
            threshold,
            reset,
            settings["steps"],
            settings["decay_input"],
            settings["hard_reset"],
            settings["static_input"],
        )
        ctx.save_for_backward(h)
        ctx.settings = settings
        ctx.tensors = tensors
        return spikes, v_last

    @staticmethod
    def backward(ctx: Any, gs: torch.Tensor | None, gv: torch.Tensor | None) -> tuple[Any, ...]:
        (h,) = ctx.saved_tensors
        settings = ctx.settings
        tau, threshold, reset, alpha = ctx.tensors
        gs = torch.zeros_like(h) if gs is None else gs.contiguous()
        gv = torch.zeros_like(h[0]) if gv is None else gv.contiguous()
        gx, gv0 = _compiled_backward()(
            gs,
            gv,
            h,
            tau,
            threshold,
            reset,
            alpha,
            settings["steps"],
            settings["decay_input"],
            settings["hard_reset"],
            settings["detach_reset"],
            settings["surrogate_id"],
            settings["static_input"],
        )
        return gx, gv0, None, None


def _dense_order(t: torch.Tensor) -> list[int] | None:
    """Dimensions of ``t`` from outermost to innermost in memory, or None if it is not dense."""
    order = sorted(range(t.dim()), key=lambda d: (-t.stride()[d], d))
    return order if t.permute(order).is_contiguous() else None


def lif_multi_step(
    x_seq: torch.Tensor,
    v: torch.Tensor,
    *,
    tau: float,
    decay_input: bool,
    v_threshold: float,
    v_reset: float | None,
    detach_reset: bool,
    surrogate_id: int,
    alpha: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The fused recurrence on [T, ...]: (spikes [T, ...] in the input's layout, last v [...]).

    A static input (``x_seq`` expanded over T with stride 0, as the broadcast front
    gives) is read once per step from its single copy, and its gradient is summed over T
    inside the fused backward.
    """
    steps = x_seq.shape[0]
    static_input = steps > 1 and x_seq.stride(0) == 0
    frame = x_seq[0]
    order = _dense_order(frame)
    if order is None:
        frame, order = frame.contiguous(), list(range(frame.dim()))
        x_seq = x_seq.contiguous() if not static_input else frame.expand(steps, *frame.shape)
    flat_shape = [frame.shape[d] for d in order]
    inverse = [order.index(d) for d in range(frame.dim())]

    def flatten(t: torch.Tensor) -> torch.Tensor:
        return t.permute(order).reshape(-1)

    x = flatten(frame) if static_input else x_seq.permute(0, *(d + 1 for d in order)).reshape(steps, -1)
    v_flat = flatten(v.expand_as(frame))

    def scalar(value: float) -> torch.Tensor:
        return torch.tensor(value, dtype=x.dtype, device=x.device)

    tensors = (scalar(tau), scalar(v_threshold), scalar(0.0 if v_reset is None else v_reset), scalar(alpha))
    settings = {
        "steps": steps,
        "decay_input": decay_input,
        "hard_reset": v_reset is not None,
        "detach_reset": detach_reset,
        "surrogate_id": surrogate_id,
        "static_input": static_input,
    }
    spikes, v_last = _FusedLIFFunction.apply(x, v_flat, settings, tensors)
    spikes = spikes.view(steps, *flat_shape).permute(0, *(d + 1 for d in inverse))
    return spikes, v_last.view(flat_shape).permute(inverse)


class FusedLIFNode(neuron.LIFNode):
    """SpikingJelly's LIFNode whose multi-step forward runs the fused recurrence where the mode says.

    Same parameters, state, monitors and ``reset_net`` behaviour as ``LIFNode``; runs
    SpikingJelly's own implementation where :func:`runs_fused` says no, in single-step
    mode, with ``store_v_seq``, for non-float32 inputs, for surrogates SpikingJelly has
    no closed-form gradient for, inside a whole-network ``torch.compile`` (which traces
    SpikingJelly's operator itself) and under a dispatch mode such as torch's FLOP counter.
    """

    def __init__(self, *args: Any, role: str = "dense", **kwargs: Any) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        super().__init__(*args, **kwargs)
        self.role = role

    def extra_repr(self) -> str:
        return super().extra_repr() + f", role={self.role}"

    def multi_step_forward(self, x_seq: torch.Tensor, *args: torch.Tensor, **kwargs: object) -> torch.Tensor:
        spec = _surrogate_spec(self.surrogate_function)
        if (
            not runs_fused(self.role, x_seq.device.type)
            or spec is None
            or self.store_v_seq
            or self._neuron_precision is not None
            or x_seq.dtype != torch.float32
            or args
            or kwargs
            or torch.compiler.is_compiling()
            or _get_current_dispatch_mode() is not None
        ):
            return super().multi_step_forward(x_seq, *args, **kwargs)
        states = self.materialize_states((x_seq,), tuple(self._memories.values()), "m")
        surrogate_id, alpha = spec
        spikes, v = lif_multi_step(
            x_seq,
            states[0],
            tau=self.tau,
            decay_input=self.decay_input,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            detach_reset=self.detach_reset,
            surrogate_id=surrogate_id,
            alpha=alpha,
        )
        self._memories["v"] = v
        self.v_seq = None
        return spikes
