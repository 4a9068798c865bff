"""The thesis's spiking CNN in SpikingJelly's multi-step mode.

    conv 1->32 3x3 [BN] act, max-pool 2   (act: ReLU, or LIF for the "lif" front end;
    conv 32->64 3x3 [BN] act, max-pool 2   ReLU is applied after the pool, which is equal)
                                          -> 64 x 7 x 7 = 3136 features
    linear 3136->512, LIF, dropout (one mask for all T), [BN]
    linear 512->10, LIF spikes ("rate" readout) or a non-firing LIF ("membrane" readout)

Every layer runs in multi-step mode on tensors shaped [T, B, ...].  With direct
encoding and the ReLU front end the input is the same at every time step, so
everything before the first LIF layer (both convolutions and the first linear
layer) is computed once per batch on a [1, B, ...] tensor and broadcast over T.
That is exact, and about four times less arithmetic per training step at T = 4.

``neuron="lif"`` layers are :class:`models.fused_lif.FusedLIFNode`: SpikingJelly's
LIFNode, with the recurrence compiled into one fused loop where that pays (by default
the LIF front end's layers on the CPU; ``--neuron-backend``).
``neuron="plif"`` swaps every spiking layer (the hidden layer, the LIF front end's two
layers and the rate readout) for SpikingJelly's ParametricLIFNode, whose time constant
is learned (one parameter per layer, initialised from ``tau``).  ``width`` scales the
channels (32, 64) and the hidden layer (512); width 1 is the thesis's network.
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import functional, layer, neuron, surrogate
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from models.config import SURROGATE_NAMES, NetworkConfig
from models.fused_lif import FusedLIFNode

SURROGATES: dict[str, type[surrogate.SurrogateFunctionBase]] = {
    "atan": surrogate.ATan,
    "sigmoid": surrogate.Sigmoid,
    "piecewise_quadratic": surrogate.PiecewiseQuadratic,
    "erf": surrogate.Erf,
}
assert tuple(SURROGATES) == SURROGATE_NAMES
# ParametricLIFNode is a BaseNode, not a LIFNode: monitors and lif_layers look for both.
SPIKING_NEURONS: tuple[type[nn.Module], ...] = (neuron.LIFNode, neuron.ParametricLIFNode)

NUM_CLASSES = 10
# Pixel normalisation of the thesis: scale to [0, 1], then mean 0.5, std 0.5.
PIXEL_MEAN = 0.5
PIXEL_STD = 0.5


HALF_PRECISION = (torch.bfloat16, torch.float16)


def _float32_input(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """A spiking neuron's half-precision input as float32 (float32 and float64 pass as they are): under
    bfloat16 autocast the layer before it returns bfloat16, and a membrane potential kept in bfloat16's
    8-bit mantissa would lose small inputs near the threshold; the neurons' state and spikes stay
    float32 (search/training/_precision.py)."""
    return tuple(a.float() if a.dtype in HALF_PRECISION else a for a in args)


class BatchNorm2d(layer.BatchNorm2d):
    """SpikingJelly's multi-step BatchNorm2d, with evaluation as one multiply-add per channel.

    torch's CPU batch norm in evaluation mode is slow on channels-last tensors and
    returns them in the NCHW layout, which makes the max-pool after it slow too; the
    affine form below keeps the layout and gives the same numbers.
    """

    folded = False  # set by Conv2d.fold: in evaluation mode the convolution before it applies it

    def super_forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or self.running_var is None:
            return super().super_forward(x)
        if self.folded:
            return x
        scale = torch.rsqrt(self.running_var + self.eps)
        shift = -self.running_mean * scale
        if self.affine:
            scale = scale * self.weight
            shift = shift * self.weight + self.bias
        return x * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1)


class Conv2d(layer.Conv2d):
    """SpikingJelly's multi-step Conv2d that, in evaluation mode, can apply the batch norm after it.

    ``fold(bn)`` makes evaluation run one convolution with the batch norm folded into
    its weights and bias (``torch.nn.utils.fusion.fuse_conv_bn_weights``: w * g / s,
    (b - mean) * g / s + beta) and the batch norm pass through; one pass over the
    activations instead of two.  The weights are folded from the current parameters
    and running statistics at every evaluation call (a few thousand numbers), so there
    is no copy to go stale, and nothing changes in training mode or in the state_dict
    (the batch norm is kept in a tuple, not registered a second time).
    """

    folded_bn: tuple[BatchNorm2d, ...] = ()

    def fold(self, bn: BatchNorm2d | None) -> None:
        """Fold ``bn`` into this convolution in evaluation mode; ``None`` undoes it."""
        for old in self.folded_bn:
            old.folded = False
        self.folded_bn = () if bn is None else (bn,)
        if bn is not None:
            bn.folded = True

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if self.folded_bn and not self.training:
            bn = self.folded_bn[0]
            weight, bias = fuse_conv_bn_weights(
                weight, bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
            )
        return super()._conv_forward(x, weight, bias)


class SpikingCNN(nn.Module):
    """Takes images in [0, 1] shaped [B, 1, 28, 28]; returns class logits [B, 10]."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        bn = config.batch_norm

        c1, c2, hidden = config.channels

        def lif(role: str = "dense") -> nn.Module:
            surrogate_kwargs = {} if config.alpha is None else {"alpha": float(config.alpha)}
            common = dict(
                v_threshold=float(config.v_threshold),
                surrogate_function=SURROGATES[config.surrogate](**surrogate_kwargs),
                detach_reset=config.detach_reset,
            )
            node: nn.Module
            if config.neuron == "plif":
                node = neuron.ParametricLIFNode(init_tau=float(config.tau), **common)
            else:
                node = FusedLIFNode(tau=float(config.tau), role=role, **common)
            node.register_forward_pre_hook(_float32_input)
            return node

        def conv_block(c_in: int, c_out: int) -> list[nn.Module]:
            block: list[nn.Module] = [Conv2d(c_in, c_out, 3, padding=1, bias=not bn)]
            if bn:
                block.append(BatchNorm2d(c_out))
            if config.front_end == "relu":
                # max-pool and ReLU commute; pooling first runs ReLU on a quarter of the values.
                return block + [layer.MaxPool2d(2), nn.ReLU()]
            return block + [lif("front"), layer.MaxPool2d(2)]

        # Everything before the first LIF layer of the "relu" front end.
        self.front = nn.Sequential(
            *conv_block(1, c1),
            *conv_block(c1, c2),
            layer.Flatten(),
            layer.Linear(c2 * 7 * 7, hidden),
        )
        self.hidden_lif = lif()
        self.dropout = layer.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()
        self.hidden_bn = layer.BatchNorm1d(hidden) if bn else nn.Identity()
        self.classifier = layer.Linear(hidden, NUM_CLASSES)
        if config.readout == "rate":
            self.output: nn.Module = lif()
        else:
            self.output = neuron.NonSpikingLIFNode(tau=float(config.tau), decode="mean-mem")
            self.output.register_forward_pre_hook(_float32_input)
        functional.set_step_mode(self, "m")
        self.fold_batch_norm(True)

    def fold_batch_norm(self, enabled: bool) -> None:
        """In evaluation mode, run each convolution's batch norm inside it (on by default; exact)."""
        layers = list(self.front)
        for conv, bn in zip(layers, layers[1:]):
            if isinstance(conv, Conv2d) and isinstance(bn, BatchNorm2d):
                conv.fold(bn if enabled else None)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """[B, 1, 28, 28] in [0, 1] -> the input sequence [T', B, 1, 28, 28].

        T' is 1 for a static input that the front layers broadcast, T otherwise.
        """
        T = self.config.time_steps
        if self.config.encoding == "poisson":
            return (torch.rand((T, *images.shape), device=images.device) < images).to(images.dtype)
        normalised = ((images - PIXEL_MEAN) / PIXEL_STD).unsqueeze(0)
        return normalised if self.config.static_front else normalised.expand(T, *images.shape)

    def forward(self, images: torch.Tensor, broadcast: bool = True) -> torch.Tensor:
        """Logits for a batch; call ``functional.reset_net`` between batches.

        ``broadcast=False`` repeats a static input T times instead of broadcasting the
        front layers' output: slower, same numbers (kept for tests and benchmarks).
        """
        T = self.config.time_steps
        x_seq = self.encode(images)
        if not broadcast and x_seq.shape[0] == 1:
            x_seq = x_seq.expand(T, *x_seq.shape[1:])
        h_seq = self.front(x_seq.contiguous() if x_seq.shape[0] > 1 else x_seq)
        if h_seq.shape[0] == 1:
            h_seq = h_seq.expand(T, *h_seq.shape[1:])
        h_seq = self.hidden_bn(self.dropout(self.hidden_lif(h_seq)))
        out = self.output(self.classifier(h_seq))
        return out.mean(0) if self.config.readout == "rate" else out

    def lif_layers(self) -> dict[str, nn.Module]:
        """The spiking layers by name, for firing-rate monitors."""
        return {n: m for n, m in self.named_modules() if isinstance(m, SPIKING_NEURONS)}


def build_network(config: NetworkConfig) -> SpikingCNN:
    return SpikingCNN(config)


def parameter_count(network: nn.Module | NetworkConfig) -> int:
    """Trainable parameters of a network, or of the network a config builds (about 1.6 million at width 1).

    Counts weights, biases, batch-norm scales and PLIF time constants, not batch-norm
    running statistics (buffers).
    """
    net = build_network(network) if isinstance(network, NetworkConfig) else network
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
