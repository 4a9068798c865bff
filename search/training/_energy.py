"""Energy per image of a network, estimated with SpikingJelly's own operation counters.

:func:`measure_energy` runs the network once (evaluation mode, no gradients) on a
fixed sample of images under SpikingJelly 2.0's ``SimpleEnergyProfiler`` (the
profiler behind ``estimate_simple_energy``) and turns its report into an
:class:`EnergyCost` per image: multiply-accumulates (MACs), accumulates (ACs, of
which the spike-driven ones are synaptic operations), their energy with the
Horowitz 2014 45 nm costs, SpikingJelly's memory-traffic energy, the firing rate
of every LIF layer and the parameter count.

The figure a search minimises or budgets is the compute energy (MAC + AC); the
memory term is recorded beside it.  docs/energy.md says why, what is counted and
what is not, and the one rule added to SpikingJelly's counters (:data:`EXTRA_MAC_RULES`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from spikingjelly.activation_based import functional, monitor
from spikingjelly.activation_based.op_counter import (
    SimpleEnergyConfig,
    SimpleEnergyCostConfig,
    SimpleEnergyProfiler,
    is_binary_tensor,
)

from models import SPIKING_NEURONS, SpikingCNN
from search.store import ENERGY_ATTR, ENERGY_FIELD  # noqa: F401 (ENERGY_ATTR: where an EnergyCost is stored)
from search.training._data import ImageSet, to_unit_float

# The trial user attribute (and result.json key) that holds EnergyCost.to_dict().
# The EnergyCost field an objective minimises and --max-energy bounds (pJ per image).
OBJECTIVE_FIELD = ENERGY_FIELD
# Images of the fixed sample (the first of the validation part, or of the test set).
SAMPLE_SIZE = 256
# Images per counted forward pass; bounds memory (the LIF front end holds
# T x B x 32 x 28 x 28 spikes), the counts do not depend on it.
COUNT_BATCH = 128

aten = torch.ops.aten


def _real_product(args: tuple[Any, ...], kwargs: dict[str, Any], out: torch.Tensor) -> int:
    """One MAC per output element of a multiply or divide of real values.

    A factor that is a spike tensor makes it a gate (select or zero), not arithmetic: 0.
    """
    factors = [a for a in args[:2] if torch.is_tensor(a)]
    if any(is_binary_tensor(f) for f in factors):
        return 0
    return int(out.numel())


# SpikingJelly's MACCounter counts matrix products, convolutions and its own
# batch norm, but no element-wise multiply.  Our evaluation-mode BatchNorm2d
# (models/snn.py) is ``x * scale + shift``, and a LIF neuron's leak is ``/ tau``:
# both would be missed.  This rule counts them as SpikingJelly counts its own
# affine batch norm (one MAC per element); the additions are already ACs.
EXTRA_MAC_RULES = {
    aten.mul.Tensor: _real_product,
    aten.div.Tensor: _real_product,
}


@dataclass(frozen=True)
class EnergyCost:
    """Cost of one inference per image, averaged over ``images`` images."""

    images: int  # size of the sample measured
    time_steps: int
    macs_per_image: float  # multiply-accumulates (dense, non-spike inputs)
    acs_per_image: float  # accumulates: spike-driven synaptic ops plus additions (neuron updates, BN shift)
    synops_per_image: float  # the spike-driven part of the ACs
    mac_energy_pj_per_image: float
    ac_energy_pj_per_image: float
    compute_energy_pj_per_image: float  # MAC + AC: the figure the search uses (OBJECTIVE_FIELD)
    memory_energy_pj_per_image: float  # SpikingJelly's parameter reads and neuron-state traffic
    total_energy_pj_per_image: float  # compute + memory
    firing_rates: dict[str, float]  # spikes per neuron per time step, each LIF layer, on this sample
    parameter_count: int
    e_mac_pj: float  # the cost constants used (SimpleEnergyCostConfig)
    e_ac_pj: float
    e_memory_pj_per_byte: float

    @property
    def energy_pj_per_image(self) -> float:
        """The figure an objective minimises and a budget bounds."""
        return float(getattr(self, OBJECTIVE_FIELD))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyCost:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown energy field(s): {', '.join(sorted(unknown))}")
        return cls(**data)


def energy_sample(data: ImageSet, size: int = SAMPLE_SIZE) -> torch.Tensor:
    """The first ``size`` images of ``data`` as floats [N, 1, 28, 28] in [0, 1].

    The validation part is already in a seeded random, class-stratified order
    (search.training._data.stratified_split), so its first images are a fixed, mixed sample.
    """
    if size < 1:
        raise ValueError(f"an energy sample needs at least one image, got {size}")
    return to_unit_float(data.images[:size])


def _profiler(cost: SimpleEnergyCostConfig) -> SimpleEnergyProfiler:
    profiler = SimpleEnergyProfiler(config=SimpleEnergyConfig(cost_config=cost))
    # The same as MACCounter(extra_rules=EXTRA_MAC_RULES): the profiler builds its own counters.
    profiler.mac_counter.rules.update(EXTRA_MAC_RULES)
    return profiler


@torch.no_grad()
def measure_energy(
    net: SpikingCNN,
    images: torch.Tensor,
    *,
    cost: SimpleEnergyCostConfig | None = None,
    seed: int = 0,
) -> EnergyCost:
    """Count one inference of ``net`` on ``images`` ([N, 1, 28, 28] in [0, 1]) and return it per image.

    The network is put in evaluation mode for the count and reset after every
    batch; its training mode is restored afterwards.  ``seed`` fixes the Poisson
    encoder's spikes without disturbing the caller's random state.
    """
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"expected images shaped [N, 1, 28, 28], got {tuple(images.shape)}")
    cost = cost or SimpleEnergyCostConfig()
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    functional.reset_net(net)
    totals: dict[str, float] = dict.fromkeys(("mac", "ac", "synop", "mac_pj", "ac_pj", "compute_pj", "memory_pj"), 0.0)
    spikes: dict[str, float] = {}
    neurons: dict[str, int] = {}
    devices = [device] if device.type == "cuda" else []
    try:
        with (
            torch.random.fork_rng(devices=devices),
            monitor.OutputMonitor(net, SPIKING_NEURONS, lambda s: s) as outputs,
        ):
            torch.manual_seed(seed)
            for start in range(0, images.shape[0], COUNT_BATCH):
                batch = images[start : start + COUNT_BATCH].to(device)
                profiler = _profiler(cost)
                profiler.bind_model(net)
                with profiler:
                    net(batch)
                report = profiler.get_report()
                functional.reset_net(net)
                for key in ("mac", "ac", "synop"):
                    totals[key] += report.counts[key]
                totals["mac_pj"] += report.energy_mac_pj
                totals["ac_pj"] += report.energy_ac_pj
                totals["compute_pj"] += report.energy_compute_pj
                totals["memory_pj"] += report.energy_memory_pj
                # The monitor keeps each LIF layer's output of this batch; summed here, outside the count.
                for name in outputs.monitored_layers:
                    for s in outputs[name]:
                        spikes[name] = spikes.get(name, 0.0) + float(s.float().sum())
                        neurons[name] = neurons.get(name, 0) + s.numel()
                outputs.clear_recorded_data()
    finally:
        functional.reset_net(net)
        net.train(was_training)
    n = int(images.shape[0])
    return EnergyCost(
        images=n,
        time_steps=net.config.time_steps,
        macs_per_image=totals["mac"] / n,
        acs_per_image=totals["ac"] / n,
        synops_per_image=totals["synop"] / n,
        mac_energy_pj_per_image=totals["mac_pj"] / n,
        ac_energy_pj_per_image=totals["ac_pj"] / n,
        compute_energy_pj_per_image=totals["compute_pj"] / n,
        memory_energy_pj_per_image=totals["memory_pj"] / n,
        total_energy_pj_per_image=(totals["compute_pj"] + totals["memory_pj"]) / n,
        firing_rates={name: spikes[name] / neurons[name] for name in spikes},
        parameter_count=sum(p.numel() for p in net.parameters()),
        e_mac_pj=cost.e_mac_pj,
        e_ac_pj=cost.e_ac_pj,
        e_memory_pj_per_byte=cost.e_memory_pj_per_byte,
    )


def measure_prediction_energy(net: SpikingCNN, images: torch.Tensor, tta: str = "none") -> EnergyCost:
    """What one prediction costs under test-time augmentation ``tta`` (TrainConfig.tta), per image.

    ``"flip"`` runs the network on each image and on its mirror image: the counts and
    energies are the sum of both passes, the firing rates their mean.
    """
    own = measure_energy(net, images)
    if tta == "none":
        return own
    mirror = measure_energy(net, images.flip(-1))
    summed = {
        f.name: getattr(own, f.name) + getattr(mirror, f.name)
        for f in dataclasses.fields(EnergyCost)
        if f.name.endswith("_per_image")
    }
    rates = {name: (rate + mirror.firing_rates[name]) / 2 for name, rate in own.firing_rates.items()}
    return dataclasses.replace(own, firing_rates=rates, **summed)
