"""Strategies: the optimiser and schedule each one builds, thesis presets, refusals, JSON."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch
from torch.optim import lr_scheduler

from models import NetworkConfig
from search.training import (
    OPTIMIZERS,
    SCHEDULES,
    STRATEGIES,
    THESIS_PRESETS,
    TrainConfig,
    strategy_config,
    thesis_preset,
)
from search.training._optimizers import build_optimizer, build_scheduler

OPTIMIZER_CLASSES = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "nadam": torch.optim.NAdam,
    "adagrad": torch.optim.Adagrad,
}
SCHEDULE_CLASSES = {
    "none": None,
    "cosine": lr_scheduler.CosineAnnealingLR,
    "warm_restarts": lr_scheduler.CosineAnnealingWarmRestarts,
    "step": lr_scheduler.StepLR,
    "exponential": lr_scheduler.ExponentialLR,
    "onecycle": lr_scheduler.OneCycleLR,
    "plateau": lr_scheduler.ReduceLROnPlateau,
}
# What each fixed strategy must build: optimiser, schedule, batch norm, dropout on.
EXPECTED = {
    "baseline": (torch.optim.Adam, None, False, False),
    "dropout": (torch.optim.Adam, None, False, True),
    "batchnorm": (torch.optim.Adam, None, True, False),
    "lr_annealing": (torch.optim.Adam, lr_scheduler.CosineAnnealingLR, False, False),
    "lr_scheduler": (torch.optim.Adam, lr_scheduler.StepLR, False, False),
    "adam_plateau": (torch.optim.Adam, lr_scheduler.ReduceLROnPlateau, False, False),
    "sgd": (torch.optim.SGD, None, False, False),
}


def _params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.zeros(3))]


def _build(config: TrainConfig):
    optimizer = build_optimizer(config, _params())
    return optimizer, build_scheduler(config, optimizer, steps_per_epoch=10)


def test_there_are_eight_strategies() -> None:
    assert set(STRATEGIES) == set(EXPECTED) | {"combined"}
    assert set(OPTIMIZER_CLASSES) == set(OPTIMIZERS)
    assert set(SCHEDULE_CLASSES) == set(SCHEDULES)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_fixed_strategy_builds_what_it_names(name: str) -> None:
    optimizer_class, scheduler_class, batch_norm, dropout_on = EXPECTED[name]
    config = strategy_config(name, epochs=12)
    optimizer, scheduler = _build(config)
    assert type(optimizer) is optimizer_class
    if scheduler_class is None:
        assert scheduler is None
    else:
        assert type(scheduler) is scheduler_class
    assert config.strategy == name
    assert config.network.batch_norm is batch_norm
    assert (config.network.dropout > 0) is dropout_on


@pytest.mark.parametrize(("optimizer", "schedule"), [(o, s) for o, s in itertools.product(OPTIMIZERS, SCHEDULES)])
def test_combined_builds_every_optimizer_and_schedule(optimizer: str, schedule: str) -> None:
    config = strategy_config("combined", optimizer=optimizer, schedule=schedule, lr=0.02, epochs=6)
    opt, sched = _build(config)
    assert type(opt) is OPTIMIZER_CLASSES[optimizer]
    expected = SCHEDULE_CLASSES[schedule]
    assert (sched is None) if expected is None else (type(sched) is expected)
    if schedule != "onecycle":  # one-cycle starts at max_lr / div_factor
        assert opt.param_groups[0]["lr"] == pytest.approx(0.02)


def test_combined_also_chooses_batch_norm_and_dropout() -> None:
    config = strategy_config("combined", batch_norm=True, dropout=0.3)
    assert config.network.batch_norm is True and config.network.dropout == 0.3


def test_settings_reach_torch() -> None:
    opt, _ = _build(strategy_config("sgd", lr=0.05, momentum=0.8, weight_decay=1e-4))
    group = opt.param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.05, 0.8, 1e-4)

    _, cosine = _build(strategy_config("lr_annealing", epochs=7, min_lr=1e-5))
    assert cosine.T_max == 7 and cosine.eta_min == 1e-5

    _, step = _build(strategy_config("lr_scheduler", step_size=4, gamma=0.5))
    assert step.step_size == 4 and step.gamma == 0.5

    _, plateau = _build(strategy_config("adam_plateau", plateau_patience=2, plateau_factor=0.3))
    assert plateau.patience == 2 and plateau.factor == 0.3 and plateau.mode == "min"

    _, restarts = _build(strategy_config("combined", schedule="warm_restarts", restart_period=3, restart_mult=2))
    assert restarts.T_0 == 3 and restarts.T_mult == 2

    opt, onecycle = _build(strategy_config("combined", schedule="onecycle", lr=0.1, epochs=3))
    assert onecycle.total_steps == 30
    assert max(g["max_lr"] for g in opt.param_groups) == 0.1


def test_cosine_anneals_over_the_run() -> None:
    opt, sched = _build(strategy_config("lr_annealing", lr=1e-3, epochs=4))
    rates = []
    for _ in range(4):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert rates[0] == pytest.approx(1e-3)
    assert rates == sorted(rates, reverse=True) and rates[-1] < 2e-4


# --- thesis presets ----------------------------------------------------------------------------------

THESIS_RATES = {
    "baseline": 1e-3,
    "dropout": 1e-3,
    "batchnorm": 1e-3,
    "lr_annealing": 1e-3,
    "lr_scheduler": 1e-3,
    "adam_plateau": 1e-3,
    "sgd": 0.1,
}


@pytest.mark.parametrize("name", list(THESIS_RATES))
def test_thesis_presets(name: str) -> None:
    config = thesis_preset(name)
    assert config.epochs == 30 and config.batch_size == 64
    assert config.lr == THESIS_RATES[name]
    assert config.strategy == name
    optimizer_class, scheduler_class, batch_norm, dropout_on = EXPECTED[name]
    opt, sched = _build(config)
    assert type(opt) is optimizer_class
    assert (sched is None) if scheduler_class is None else (type(sched) is scheduler_class)
    assert config.network.batch_norm is batch_norm
    assert config.network.dropout == (0.5 if dropout_on else 0.0)


def test_thesis_preset_details() -> None:
    sgd = thesis_preset("sgd")
    assert sgd.optimizer == "sgd" and sgd.momentum == 0.0  # the thesis's plain SGD
    assert strategy_config("sgd").momentum > 0  # the searched strategy uses momentum
    step = thesis_preset("lr_scheduler")
    assert (step.schedule, step.step_size, step.gamma) == ("step", 10, 0.1)
    plateau = thesis_preset("adam_plateau")
    assert (plateau.schedule, plateau.plateau_patience, plateau.plateau_factor) == ("plateau", 3, 0.1)
    assert thesis_preset("lr_annealing").schedule == "cosine"
    assert set(THESIS_PRESETS) == set(THESIS_RATES)
    # Overrides apply on top of the preset.
    short = thesis_preset("sgd", epochs=1)
    assert short.epochs == 1 and short.lr == 0.1 and short.batch_size == 64


def test_combined_has_no_thesis_preset() -> None:
    with pytest.raises(ValueError, match="no thesis preset"):
        thesis_preset("combined")


# --- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: strategy_config("adamw_please"),
        lambda: thesis_preset("adamw_please"),
        lambda: TrainConfig(strategy="adamw_please"),
    ],
    ids=["strategy_config", "thesis_preset", "TrainConfig"],
)
def test_unknown_strategy_lists_the_valid_ones(make) -> None:
    with pytest.raises(ValueError) as caught:
        make()
    message = str(caught.value)
    assert "adamw_please" in message
    for name in STRATEGIES:
        assert name in message


@pytest.mark.parametrize(
    ("name", "override"),
    [
        ("baseline", dict(optimizer="sgd")),
        ("baseline", dict(schedule="cosine")),
        ("baseline", dict(batch_norm=True)),
        ("baseline", dict(dropout=0.3)),
        ("sgd", dict(optimizer="adam")),
        ("lr_annealing", dict(schedule="step")),
        ("lr_scheduler", dict(schedule="none")),
        ("adam_plateau", dict(optimizer="rmsprop")),
        ("batchnorm", dict(batch_norm=False)),
        ("dropout", dict(batch_norm=True)),
    ],
)
def test_strategy_refuses_to_override_what_it_fixes(name: str, override: dict) -> None:
    key = next(iter(override))
    with pytest.raises(ValueError, match=f"fixes {key}.*combined"):
        strategy_config(name, **override)
    if name in THESIS_PRESETS:
        with pytest.raises(ValueError, match=f"fixes {key}"):
            thesis_preset(name, **override)
    strategy_config("combined", **override)  # the free strategy takes it


def test_dropout_strategy_refuses_to_switch_dropout_off() -> None:
    with pytest.raises(ValueError):
        strategy_config("dropout", dropout=0.0)


def test_strategy_takes_an_override_equal_to_its_fixed_value_and_free_fields() -> None:
    config = strategy_config("sgd", optimizer="sgd", lr=0.3, time_steps=6, dropout=0.0)
    assert config.optimizer == "sgd" and config.lr == 0.3 and config.network.time_steps == 6
    assert strategy_config("dropout", dropout=0.2).network.dropout == 0.2


def test_unknown_fields_and_bad_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown config field"):
        strategy_config("baseline", learning_rate=0.1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        strategy_config("baseline", lr=0.0)
    with pytest.raises(ValueError, match="unknown schedule"):
        strategy_config("combined", schedule="linear")


# --- JSON --------------------------------------------------------------------------------------------


def _unusual_config() -> TrainConfig:
    """Every field away from its default, with floats that do not print short."""
    network = NetworkConfig(
        time_steps=7,
        tau=1.7 + 1e-9,
        v_threshold=0.3 / 7,
        detach_reset=False,
        surrogate="erf",
        batch_norm=True,
        dropout=1 / 3,
        front_end="lif",
        encoding="poisson",
        readout="rate",
        neuron="plif",
        alpha=2.5 / 3,
        width=0.75,
    )
    return TrainConfig(
        strategy="combined",
        optimizer="rmsprop",
        lr=0.1 / 3,
        momentum=0.95,
        weight_decay=1.234e-7,
        schedule="warm_restarts",
        min_lr=3e-8,
        step_size=3,
        gamma=0.7,
        restart_period=4,
        restart_mult=2,
        plateau_patience=5,
        plateau_factor=0.25,
        epochs=17,
        batch_size=96,
        seed=123456789,
        precision="bf16",
        compile=True,
        augment="crop_flip_erase",
        label_smoothing=0.1 / 3,
        tta="flip",
        network=network,
    )


@pytest.mark.parametrize(
    "make",
    [
        TrainConfig,
        _unusual_config,
        *[lambda name=name: strategy_config(name) for name in STRATEGIES],
        *[lambda name=name: thesis_preset(name) for name in THESIS_PRESETS],
    ],
)
def test_json_round_trip_is_exact(make) -> None:
    config = make()
    text = config.to_json()
    back = TrainConfig.from_json(text)
    assert back == config
    assert isinstance(back.network, NetworkConfig)
    assert back.to_json() == text
    for f in dataclasses.fields(TrainConfig):
        assert type(getattr(back, f.name)) is type(getattr(config, f.name)), f.name


def test_unusual_config_really_differs_from_the_default() -> None:
    unusual, default = _unusual_config(), TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        assert getattr(unusual, f.name) != getattr(default, f.name), f.name
    for f in dataclasses.fields(NetworkConfig):
        assert getattr(unusual.network, f.name) != getattr(default.network, f.name), f.name
