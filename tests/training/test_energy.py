"""Energy per image from SpikingJelly's counters, silent networks, and the accuracy-energy figure."""

from __future__ import annotations

import optuna
import pytest
import torch

from models import NetworkConfig, build_network
from search.inspection._energy_figures import accuracy_energy_figure, pareto_front
from search.inspection._figures import FigureUnavailable
from search.training import (
    ENERGY_ATTR,
    EnergyCost,
    TrainVal,
    energy_sample,
    measure_energy,
    silent_reason,
    steps_taken,
    strategy_config,
    train,
)
from search.training._energy import OBJECTIVE_FIELD
from search.training._silence import SILENT, SILENT_LAYER, SILENT_MIN_STEPS, is_silent
from support import head

N_IMAGES = 8
# A v_threshold that kept the hidden layer silent for all of 64 measured steps (docs/energy.md).
FAR_ABOVE_REACH = 1e5


@pytest.fixture(scope="module")
def images(small_data: TrainVal) -> torch.Tensor:
    return energy_sample(small_data.val, N_IMAGES)


def _cost(images: torch.Tensor, fold: bool = True, **network: object) -> EnergyCost:
    torch.manual_seed(0)
    net = build_network(NetworkConfig(**network))  # type: ignore[arg-type]
    net.fold_batch_norm(fold)
    return measure_energy(net, images)


def test_energy_sample_is_the_first_validation_images(small_data: TrainVal) -> None:
    sample = energy_sample(small_data.val, 5)
    assert sample.shape == (5, 1, 28, 28)
    assert torch.equal(sample, energy_sample(small_data.val, 5))
    assert torch.equal((sample[:, 0] * 255).round().to(torch.uint8), small_data.val.images[:5])


def test_energy_record_is_positive_and_round_trips(images: torch.Tensor) -> None:
    net = build_network(NetworkConfig(time_steps=2)).train()
    cost = measure_energy(net, images)
    assert cost.images == N_IMAGES and cost.time_steps == 2
    for name in (
        "macs_per_image",
        "acs_per_image",
        "mac_energy_pj_per_image",
        "compute_energy_pj_per_image",
        "memory_energy_pj_per_image",
        "total_energy_pj_per_image",
    ):
        assert getattr(cost, name) > 0, name
    assert cost.total_energy_pj_per_image == pytest.approx(
        cost.compute_energy_pj_per_image + cost.memory_energy_pj_per_image
    )
    assert cost.compute_energy_pj_per_image == pytest.approx(
        cost.macs_per_image * cost.e_mac_pj + cost.acs_per_image * cost.e_ac_pj
    )
    assert cost.energy_pj_per_image == getattr(cost, OBJECTIVE_FIELD)
    assert cost.parameter_count == sum(p.numel() for p in net.parameters())
    assert set(cost.firing_rates) == set(net.lif_layers())
    assert all(0.0 <= r <= 1.0 for r in cost.firing_rates.values())
    assert EnergyCost.from_dict(cost.to_dict()) == cost
    # The caller's network comes back in its mode, reset.
    assert net.training
    assert all(not torch.is_tensor(m.v) or not m.v.any() for m in net.lif_layers().values())


def test_lif_front_end_reports_fewer_macs_than_relu(images: torch.Tensor) -> None:
    relu = _cost(images, front_end="relu")
    lif = _cost(images, front_end="lif")
    assert lif.macs_per_image < relu.macs_per_image / 3
    assert lif.compute_energy_pj_per_image < relu.compute_energy_pj_per_image


def test_broadcast_front_is_counted_once_not_per_time_step(images: torch.Tensor) -> None:
    """The ReLU front runs once per image and is broadcast over T: its MACs do not grow with T."""
    t2, t8 = _cost(images, time_steps=2), _cost(images, time_steps=8)
    # Only the LIF leaks (one multiply per neuron per step: 512 hidden + 10 output) grow with T.
    assert t8.macs_per_image - t2.macs_per_image == pytest.approx(6 * (512 + 10))


def test_our_batch_norm_is_counted_like_spikingjellys(images: torch.Tensor) -> None:
    """The extra rule counts the affine evaluation form's multiply: one MAC per element, as SJ's own BN.

    Folded into the convolutions (the default at evaluation), the two BatchNorm2d cost only the
    folding of the weights, a few thousand operations per batch, not one per activation.
    """
    plain = _cost(images)
    unfolded, folded = _cost(images, fold=False, batch_norm=True), _cost(images, batch_norm=True)
    per_element = 32 * 28 * 28 + 64 * 14 * 14 + 512 * 4  # two BatchNorm2d (ours), one BatchNorm1d (SJ's)
    assert unfolded.macs_per_image - plain.macs_per_image == pytest.approx(per_element)
    assert folded.macs_per_image < unfolded.macs_per_image - (32 * 28 * 28 + 64 * 14 * 14) / 2


def test_silent_detection_on_rates() -> None:
    assert is_silent({SILENT_LAYER: 0.0})
    assert not is_silent({SILENT_LAYER: 0.2, "front.1": 0.0})
    with pytest.raises(KeyError, match=SILENT_LAYER):
        is_silent({"front.1": 0.1})
    # Too early to judge: silence in the first steps is normal.
    assert silent_reason({SILENT_LAYER: 0.0}, steps=SILENT_MIN_STEPS - 1) is None
    assert silent_reason({SILENT_LAYER: 0.3}, steps=SILENT_MIN_STEPS) is None
    assert steps_taken(2, train_size=1000, batch_size=128) == 16
    assert steps_taken(1, train_size=1025, batch_size=128) == 8  # a last batch of one is dropped


def test_forced_silent_configuration_is_detected(small_data: TrainVal, cpu: torch.device) -> None:
    """A threshold far above reach: after a short training the hidden layer is still silent.

    The check's own wait (SILENT_MIN_STEPS) is passed explicitly as the steps this test
    can afford; the rate threshold is the default one.
    """
    batch, images = 16, 480
    config = strategy_config("baseline", epochs=1, batch_size=batch).replace(v_threshold=FAR_ABOVE_REACH)
    result = train(config, head(small_data.train, images), head(small_data.val, 128), cpu)
    rates = result.history[0].firing_rates
    steps = steps_taken(1, images, batch)
    reason = silent_reason(rates, steps, min_steps=steps)
    assert reason is not None and reason.startswith(SILENT), rates
    assert silent_reason(rates, steps) is None or steps >= SILENT_MIN_STEPS  # the default waits longer


def _trial(
    number: int,
    acc: float,
    compute_pj: float,
    front_end: str = "relu",
    time_steps: int = 4,
    thesis: str | None = None,
    constraint: float | None = None,
) -> optuna.trial.FrozenTrial:
    cost = EnergyCost(
        images=256,
        time_steps=time_steps,
        macs_per_image=compute_pj / 4.6,
        acs_per_image=0.0,
        synops_per_image=0.0,
        mac_energy_pj_per_image=compute_pj,
        ac_energy_pj_per_image=0.0,
        compute_energy_pj_per_image=compute_pj,
        memory_energy_pj_per_image=20 * compute_pj,
        total_energy_pj_per_image=21 * compute_pj,
        firing_rates={SILENT_LAYER: 0.2},
        parameter_count=1_630_090,
        e_mac_pj=4.6,
        e_ac_pj=0.9,
        e_memory_pj_per_byte=24.96,
    )
    attrs = {ENERGY_ATTR: cost.to_dict(), "config": {"network": {"front_end": front_end, "time_steps": time_steps}}}
    if thesis:
        attrs["thesis_preset"] = thesis
    trial = optuna.trial.create_trial(
        value=acc, user_attrs=attrs, constraints=None if constraint is None else {"energy_pj": constraint}
    )
    trial.number = number
    return trial


def test_accuracy_energy_figure_from_synthetic_trials() -> None:
    trials = [
        _trial(0, 0.90, 25e6, thesis="baseline"),
        _trial(1, 0.85, 6e6, front_end="lif"),
        _trial(2, 0.80, 8e6, front_end="lif", time_steps=8),  # dominated by trial 1
        _trial(3, 0.92, 30e6),
        _trial(4, 0.95, 40e6, constraint=5.0),  # over the budget: never on the front
    ]
    assert [t.number for t in pareto_front(trials)] == [1, 0, 3]
    fig = accuracy_energy_figure(trials, budget_pj=35e6)
    names = [trace.name for trace in fig.data]
    assert "relu front end" in names and "lif front end" in names
    assert "relu front end, thesis recipe" in names
    assert "over the energy budget" in names
    assert "Pareto front (3 trials)" in names
    assert "energy budget (35 µJ)" in names
    by_t = accuracy_energy_figure(trials, color_by="time_steps")
    assert {"T = 4", "T = 8"} <= {trace.name for trace in by_t.data}


def test_accuracy_energy_figure_needs_a_measured_trial() -> None:
    unmeasured = optuna.trial.create_trial(value=0.9)
    with pytest.raises(FigureUnavailable, match="recorded energy"):
        accuracy_energy_figure([unmeasured])
