"""Command-line flags generated from TrainConfig and NetworkConfig, so every knob has one.

Flags default to None: only the values a user typed override the strategy's recipe.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from models import ENCODINGS, FRONT_ENDS, READOUTS, SURROGATES, NetworkConfig
from search.config import OPTIMIZERS, SCHEDULES, TrainConfig
from search.errors import UsageError
from search.strategies import STRATEGIES, strategy_config, thesis_preset

CHOICES: dict[str, tuple[str, ...]] = {
    "strategy": tuple(STRATEGIES),
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "surrogate": tuple(SURROGATES),
    "front_end": FRONT_ENDS,
    "encoding": ENCODINGS,
    "readout": READOUTS,
}
HELP = {
    "strategy": "training recipe (see docs/strategies.md)",
    "time_steps": "time steps T the input is presented for",
    "amp": "bfloat16 mixed precision (CUDA only)",
    "compile": "torch.compile the network for training (same numbers; speed see docs/performance.md)",
    "seed": "seed of weights, shuffling, dropout and Poisson spikes",
}
ALIASES = {"time_steps": ["-T"]}
# Set by commands in their own way (the search sets them per trial or per study).
NOT_FLAGS = {"network"}


def _fields() -> list[tuple[dataclasses.Field[Any], Any]]:
    top = [(f, TrainConfig) for f in dataclasses.fields(TrainConfig) if f.name not in NOT_FLAGS]
    return top + [(f, NetworkConfig) for f in dataclasses.fields(NetworkConfig)]


def add_config_flags(parser: argparse.ArgumentParser, skip: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """One flag per config field (``--lr``, ``--time-steps``/``-T``, ``--batch-norm``/``--no-batch-norm``...)."""
    group = parser.add_argument_group("training config (defaults: the strategy's recipe)")
    for f, owner in _fields():
        if f.name in skip:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        flags = [f"--{f.name.replace('_', '-')}", *ALIASES.get(f.name, [])]
        help_text = HELP.get(f.name, f.name.replace("_", " "))
        kwargs: dict[str, Any] = dict(dest=f.name, default=None, help=f"{help_text} (default {default})")
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = type(default)
            kwargs["metavar"] = f.name.upper() if f.name not in CHOICES else None
            if f.name in CHOICES:
                kwargs["choices"] = CHOICES[f.name]
        group.add_argument(*flags, **kwargs)


def config_from_flags(args: argparse.Namespace, thesis: bool = False, **extra: Any) -> TrainConfig:
    """The TrainConfig the flags describe: the strategy's recipe (or thesis preset) plus typed overrides."""
    overrides = {f.name: getattr(args, f.name) for f, _ in _fields() if getattr(args, f.name, None) is not None}
    overrides.update(extra)
    name = overrides.pop("strategy", None) or "baseline"
    try:
        return thesis_preset(name, **overrides) if thesis else strategy_config(name, **overrides)
    except ValueError as error:
        raise UsageError(str(error)) from None
