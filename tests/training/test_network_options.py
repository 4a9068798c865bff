"""The network and training options of issue 9: PLIF, alpha, width, label smoothing, stretched schedules."""

from __future__ import annotations

import math

import optuna
import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional, neuron

from models import SURROGATE_ALPHA, SURROGATES, NetworkConfig, build_network, parameter_count
from search.training import TrainConfig, TrainVal, stretch_schedule, thesis_preset
from search.training import _engine as engine
from search.training._data import to_unit_float
from search.training._optimizers import build_scheduler
from search.tuning._settings import SpaceSettings
from search.tuning._space import suggest_config, thesis_trials
from support import head


def _spiking(net: torch.nn.Module) -> list[torch.nn.Module]:
    return list(net.lif_layers().values())


@pytest.mark.parametrize("front_end", ["relu", "lif"])
def test_plif_replaces_every_spiking_layer(front_end: str) -> None:
    net = build_network(NetworkConfig(neuron="plif", front_end=front_end, readout="rate", tau=3.0))
    layers = _spiking(net)
    assert len(layers) == (2 if front_end == "relu" else 4)  # hidden and readout (+ two conv layers)
    for m in layers:
        assert isinstance(m, neuron.ParametricLIFNode)
        assert math.isclose(float(1 / m.w.detach().sigmoid()), 3.0, rel_tol=1e-6)  # tau initialised from the config
    assert not any(isinstance(m, neuron.LIFNode) for m in net.modules())


def test_plif_time_constant_learns(small_data: TrainVal) -> None:
    torch.manual_seed(0)
    net = build_network(NetworkConfig(neuron="plif", readout="rate", v_threshold=0.5))
    before = {n: float(m.w) for n, m in net.lif_layers().items()}
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    images = to_unit_float(small_data.train.images[:32])
    F.cross_entropy(net(images), small_data.train.labels[:32]).backward()
    optimizer.step()
    functional.reset_net(net)
    after = {n: float(m.w) for n, m in net.lif_layers().items()}
    assert all(after[n] != before[n] for n in before), (before, after)


def test_firing_rates_cover_plif_layers(small_data: TrainVal, cpu: torch.device) -> None:
    network = NetworkConfig(neuron="plif", front_end="lif", time_steps=2)
    result = engine.train(
        TrainConfig(epochs=1, batch_size=32, network=network), head(small_data.train, 64), head(small_data.val, 50), cpu
    )
    assert set(result.history[0].firing_rates) == set(result.model.lif_layers()) == {"front.1", "front.4", "hidden_lif"}


@pytest.mark.parametrize("name", list(SURROGATES))
def test_alpha_reaches_the_surrogate_and_none_keeps_its_default(name: str) -> None:
    assert SURROGATES[name]().alpha == SURROGATE_ALPHA[name]  # the table matches SpikingJelly's defaults
    default = build_network(NetworkConfig(surrogate=name))
    assert default.hidden_lif.surrogate_function.alpha == SURROGATE_ALPHA[name]
    for kind in ("lif", "plif"):
        sharp = build_network(NetworkConfig(surrogate=name, alpha=7.5, neuron=kind, readout="rate"))
        assert all(m.surrogate_function.alpha == 7.5 for m in _spiking(sharp))


def _expected_parameters(width: float) -> int:
    c1, c2, h = (max(1, round(n * width)) for n in (32, 64, 512))
    return (9 * c1 + c1) + (9 * c1 * c2 + c2) + (49 * c2 * h + h) + (10 * h + 10)


@pytest.mark.parametrize("width", [0.25, 0.5, 1.0, 1.5, 2.0])
def test_parameter_count_scales_with_width(width: float) -> None:
    config = NetworkConfig(width=width)
    assert parameter_count(config) == parameter_count(build_network(config)) == _expected_parameters(width)
    net = build_network(config)
    images = torch.rand(3, 1, 28, 28)
    assert tuple(net(images).shape) == (3, 10)


def test_parameter_count_at_the_thesis_size() -> None:
    assert parameter_count(NetworkConfig()) == 1_630_090
    assert parameter_count(NetworkConfig(width=2.0)) > 3.9 * parameter_count(NetworkConfig())
    # PLIF adds one time constant per spiking layer; batch norm its scales and shifts, not its statistics.
    assert parameter_count(NetworkConfig(neuron="plif")) == 1_630_090 + 1
    assert parameter_count(NetworkConfig(batch_norm=True)) == 1_630_090 - 32 - 64 + 2 * (32 + 64 + 512)


def test_label_smoothing_reaches_the_training_loss_only(
    small_data: TrainVal, cpu: torch.device, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[float] = []
    real = F.cross_entropy

    def recording(*args: object, **kwargs: object) -> torch.Tensor:
        calls.append(float(kwargs.get("label_smoothing", 0.0)))  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.F, "cross_entropy", recording)
    train, val = head(small_data.train, 128), head(small_data.val, 100)
    smoothed = engine.train(TrainConfig(epochs=1, batch_size=64, label_smoothing=0.2), train, val, cpu)
    assert calls == [0.2, 0.2, 0.0]  # two training batches; the validation loss is plain cross-entropy
    calls.clear()
    plain = engine.train(TrainConfig(epochs=1, batch_size=64), train, val, cpu)
    assert calls == [0.0, 0.0, 0.0]
    # Same seed, same first batch: only the loss differs, so the first epoch's mean loss does.
    assert smoothed.history[0].train_loss != plain.history[0].train_loss


def test_label_smoothing_loss_matches_torch() -> None:
    logits, labels = torch.randn(8, 10, generator=torch.Generator().manual_seed(0)), torch.arange(8)
    smooth = F.cross_entropy(logits, labels, label_smoothing=0.1)
    by_hand = 0.9 * F.cross_entropy(logits, labels) + 0.1 * (-logits.log_softmax(1).mean(1)).mean()
    assert torch.allclose(smooth, by_hand)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TrainConfig(label_smoothing=1.0), r"label_smoothing must be in \[0, 1\), got 1.0"),
        (lambda: TrainConfig(label_smoothing=-0.1), r"label_smoothing must be in \[0, 1\), got -0.1"),
        (lambda: TrainConfig(label_smoothing=float("nan")), r"label_smoothing must be in \[0, 1\), got nan"),
        (lambda: NetworkConfig(width=0), "width must be a number > 0, got 0"),
        (lambda: NetworkConfig(width=-1.0), "width must be a number > 0, got -1.0"),
        (lambda: NetworkConfig(width="2"), "width must be a number > 0, got '2'"),
        (lambda: NetworkConfig(width=True), "width must be a number > 0, got True"),
        (lambda: NetworkConfig(width=float("inf")), "width must be a number > 0, got inf"),
        (lambda: NetworkConfig(neuron="izhikevich"), "unknown neuron 'izhikevich'; valid: lif, plif"),
        (lambda: NetworkConfig(alpha=0.0), "alpha must be a number > 0"),
        (lambda: NetworkConfig(alpha="sharp"), "alpha must be a number > 0"),
    ],
)
def test_bad_values_in_python_and_json(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


# Stretched schedules: the final retrain runs longer than the trial that chose the config.


def _epoch_rates(config: TrainConfig, steps_per_epoch: int = 1) -> list[float]:
    """The learning rate at the start of each epoch, the engine's way of stepping."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=config.lr)
    scheduler = build_scheduler(config, optimizer, steps_per_epoch)
    rates = []
    for _ in range(config.epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        for _ in range(steps_per_epoch if config.schedule == "onecycle" else 1):
            optimizer.step()
            if config.schedule == "onecycle":
                scheduler.step()
        if config.schedule != "onecycle":
            scheduler.step()
    return rates


def test_stretch_keeps_step_decay_fractions() -> None:
    trial = TrainConfig(optimizer="sgd", schedule="step", step_size=2, gamma=0.5, epochs=6, lr=1.0)
    final = stretch_schedule(trial, 18)
    assert final.epochs == 18 and final.step_size == 6 and final.gamma == 0.5
    short, long = _epoch_rates(trial), _epoch_rates(final)
    assert [long[3 * k] for k in range(6)] == pytest.approx(short)  # decays at the same fractions
    assert long[-1] == pytest.approx(short[-1])


def test_stretch_cosine_and_onecycle_span_all_epochs() -> None:
    trial = TrainConfig(schedule="cosine", epochs=4, lr=1.0, min_lr=0.0)
    rates = _epoch_rates(stretch_schedule(trial, 12))
    assert len(rates) == 12 and rates[6] == pytest.approx(0.5)  # halfway down at half of 12 epochs
    assert rates[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 11 / 12)))
    cycle = stretch_schedule(TrainConfig(schedule="onecycle", epochs=3, lr=1.0), 9)
    assert cycle.epochs == 9
    rates = _epoch_rates(cycle, steps_per_epoch=10)
    peak = max(range(9), key=lambda e: rates[e])
    assert 2 <= peak <= 3 and rates[-1] < 0.1  # warms up over the first 30%, anneals to the end


def test_stretch_warm_restarts_and_exponential() -> None:
    restarts = stretch_schedule(TrainConfig(schedule="warm_restarts", restart_period=2, restart_mult=2, epochs=6), 12)
    assert restarts.restart_period == 4 and restarts.restart_mult == 2  # restarts at epochs 4 and 12 of 12
    decay = TrainConfig(schedule="exponential", gamma=0.5, epochs=4, lr=1.0)
    assert _epoch_rates(stretch_schedule(decay, 8))[-1] * 0.5 ** (1 / 2) == pytest.approx(
        _epoch_rates(decay)[-1] * 0.5
    )  # the same rate after the last epoch
    plateau = TrainConfig(schedule="plateau", plateau_patience=3, epochs=5)
    assert stretch_schedule(plateau, 20) == plateau.replace(epochs=20)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        stretch_schedule(plateau, 0)
    assert stretch_schedule(TrainConfig(schedule="step", step_size=1, epochs=10), 3).step_size == 1


# The space: the new practice for every strategy, thesis presets untouched.


@pytest.mark.parametrize("space", ["default", "full"])
def test_thesis_trials_build_exactly_the_presets(space: str) -> None:
    settings = SpaceSettings(epochs=30, space=space)
    for name, params in thesis_trials(settings):
        config = suggest_config(optuna.trial.FixedTrial(params), settings)
        assert config == thesis_preset(name), name
        assert config.augment == "none" and config.label_smoothing == 0.0
        assert config.network.neuron == "lif" and config.network.width == 1.0 and config.network.alpha is None


def test_space_draws_the_new_settings() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    configs = []
    for space in ("default", "full"):
        for _ in range(40):
            trial = study.ask()
            configs.append((space, suggest_config(trial, SpaceSettings(epochs=4, space=space))))
            assert {"augment", "label_smoothing", "neuron"} <= set(trial.params)
            assert ({"width", "alpha_scale"} <= set(trial.params)) is (space == "full")
            study.tell(trial, 0.0)
    default = [c for s, c in configs if s == "default"]
    full = [c for s, c in configs if s == "full"]
    assert {c.augment for c in default} == {"none", "flip", "crop_flip", "crop_flip_erase"}
    assert {c.network.neuron for c in default} == {"lif", "plif"}
    assert all(c.network.width == 1.0 and c.network.alpha is None for c in default)
    assert len({c.network.width for c in full}) > 3 and all(c.network.alpha is not None for c in full)
