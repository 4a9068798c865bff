"""The thesis's strategies as named training recipes, and the thesis's presets.

A strategy fixes the switches that define it (optimiser, schedule, batch norm,
dropout on or off); ``combined`` leaves every switch free.  The optimisers and
schedules themselves are built by :mod:`search.training._optimizers`.  Each thesis strategy
also has a preset with the thesis's own settings.  docs/strategies.md explains
the mapping and the choices where the thesis contradicts itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from search.training._config import STRATEGY_NAMES, TrainConfig


@dataclass(frozen=True)
class Strategy:
    """What a strategy fixes; None means the switch is free (searched, or set by flags)."""

    description: str
    optimizer: str | None = "adam"
    schedule: str | None = "none"
    batch_norm: bool | None = False
    uses_dropout: bool | None = False


STRATEGIES: dict[str, Strategy] = {
    "baseline": Strategy("Adam at a constant learning rate"),
    "dropout": Strategy("baseline + dropout on the hidden spiking layer", uses_dropout=True),
    "batchnorm": Strategy("baseline + batch norm after the convolutions and the hidden layer", batch_norm=True),
    "lr_annealing": Strategy("Adam + cosine annealing over the run", schedule="cosine"),
    "lr_scheduler": Strategy("Adam + step decay", schedule="step"),
    "adam_plateau": Strategy("Adam + reduce-on-plateau on the validation loss", schedule="plateau"),
    "sgd": Strategy("SGD with momentum at a constant learning rate", optimizer="sgd"),
    "combined": Strategy(
        "every switch free: optimiser, schedule, batch norm, dropout",
        optimizer=None,
        schedule=None,
        batch_norm=None,
        uses_dropout=None,
    ),
}

assert tuple(STRATEGIES) == STRATEGY_NAMES

# The thesis's printed test accuracies (thesis.md): its baseline and its best recipe (cosine annealing).
THESIS_BASELINE_TEST = 0.8601
THESIS_BEST_TEST = 0.8782

# The thesis's settings: 30 epochs, batch 64, cross-entropy; the rates of thesis.md.
THESIS_EPOCHS = 30
THESIS_BATCH = 64
THESIS_PRESETS: dict[str, dict[str, Any]] = {
    "baseline": dict(lr=1e-3),
    "dropout": dict(lr=1e-3, dropout=0.5),
    "batchnorm": dict(lr=1e-3, batch_norm=True),
    "lr_annealing": dict(lr=1e-3),
    "lr_scheduler": dict(lr=1e-3, step_size=10, gamma=0.1),
    "adam_plateau": dict(lr=1e-3, plateau_patience=3, plateau_factor=0.1),
    "sgd": dict(lr=0.1, momentum=0.0),  # the thesis's "plain SGD"
}


def _check_name(name: str) -> Strategy:
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; valid: {', '.join(STRATEGIES)}")
    return STRATEGIES[name]


def strategy_config(name: str, **overrides: Any) -> TrainConfig:
    """A TrainConfig for strategy ``name``: its fixed switches, then ``overrides``.

    Overriding a switch that the strategy fixes is an error (use ``combined``).
    """
    strategy = _check_name(name)
    fixed: dict[str, Any] = {}
    if strategy.optimizer is not None:
        fixed["optimizer"] = strategy.optimizer
    if strategy.schedule is not None:
        fixed["schedule"] = strategy.schedule
    if strategy.batch_norm is not None:
        fixed["batch_norm"] = strategy.batch_norm
    if strategy.uses_dropout is False:
        fixed["dropout"] = 0.0
    for key, value in overrides.items():
        if key in fixed and fixed[key] != value:
            raise ValueError(f"strategy {name!r} fixes {key}={fixed[key]!r}; use --strategy combined to choose {key}")
    if strategy.uses_dropout and overrides.get("dropout", 0.5) == 0.0:
        raise ValueError(f"strategy {name!r} needs a dropout rate above 0; use --strategy baseline for none")
    config = TrainConfig().replace(strategy=name, **fixed)
    if strategy.uses_dropout and "dropout" not in overrides and config.network.dropout == 0.0:
        overrides = {**overrides, "dropout": 0.5}
    return config.replace(**overrides)


def thesis_preset(name: str, **overrides: Any) -> TrainConfig:
    """The thesis's own settings for one of its seven strategies."""
    _check_name(name)
    if name not in THESIS_PRESETS:
        raise ValueError(f"strategy {name!r} has no thesis preset; presets: {', '.join(THESIS_PRESETS)}")
    settings = dict(epochs=THESIS_EPOCHS, batch_size=THESIS_BATCH, **THESIS_PRESETS[name])
    settings.update(overrides)
    return strategy_config(name, **settings)


def stretch_schedule(config: TrainConfig, epochs: int) -> TrainConfig:
    """``config`` run for ``epochs`` epochs with its learning-rate schedule keeping its shape.

    For a final retrain longer (or shorter) than the trial that chose the config.
    Cosine and one-cycle already span ``config.epochs``, so they stretch by
    themselves.  Step decay decays at the same fractions of the run (``step_size``
    scaled, at least 1); warm restarts restart at the same fractions (``restart_period``
    scaled, at least 1; the cycle multiplier stays); exponential decay ends at the same
    rate (``gamma ** (old / new)`` per epoch).  Reduce-on-plateau and a constant rate
    are left as they are: plateau reacts to the loss, not to the epoch count.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    factor = epochs / config.epochs
    changes: dict[str, Any] = {"epochs": epochs}
    if config.schedule == "step":
        changes["step_size"] = max(1, round(config.step_size * factor))
    elif config.schedule == "warm_restarts":
        changes["restart_period"] = max(1, round(config.restart_period * factor))
    elif config.schedule == "exponential":
        changes["gamma"] = config.gamma ** (1 / factor)
    return config.replace(**changes)
