"""Command-line flags generated from TrainConfig and NetworkConfig, so every knob has one.

Flags default to None: only the values a user typed override the strategy's recipe.
``--help`` shows the recipe of the ``--strategy`` on the same command line (baseline
when none is given), with ``--thesis`` the thesis's preset of it.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from typing import Any

from models import ENCODINGS, FRONT_ENDS, NEURONS, READOUTS, SURROGATE_NAMES, NetworkConfig
from search.errors import UsageError
from search.training import (
    AUGMENTATIONS,
    OPTIMIZERS,
    SCHEDULES,
    STRATEGY_NAMES,
    TEST_TIME_AUGMENTATIONS,
    TrainConfig,
    strategy_config,
    thesis_preset,
)

CHOICES: dict[str, tuple[str, ...]] = {
    "strategy": STRATEGY_NAMES,
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "surrogate": SURROGATE_NAMES,
    "front_end": FRONT_ENDS,
    "encoding": ENCODINGS,
    "readout": READOUTS,
    "neuron": NEURONS,
    "augment": AUGMENTATIONS,
    "tta": TEST_TIME_AUGMENTATIONS,
}
# Fields whose default is None: the type of a value typed on the command line.
TYPES: dict[str, type] = {"alpha": float}
HELP = {
    "strategy": "training recipe (see docs/strategies.md)",
    "optimizer": "optimiser",
    "lr": "learning rate (the peak rate of one-cycle)",
    "momentum": "momentum of SGD and RMSprop",
    "weight_decay": "L2 weight decay",
    "schedule": "learning-rate schedule over the run",
    "min_lr": "floor of cosine, warm restarts and reduce-on-plateau",
    "step_size": "step decay: epochs between decays",
    "gamma": "decay factor: of step decay per step, of exponential decay per epoch",
    "restart_period": "warm restarts: epochs in the first cosine cycle",
    "restart_mult": "warm restarts: each cycle is this many times longer than the last",
    "plateau_patience": "reduce-on-plateau: epochs without improvement before the rate drops",
    "plateau_factor": "reduce-on-plateau: factor the rate is multiplied by",
    "epochs": "training epochs",
    "batch_size": "images per training batch",
    "compile": "torch.compile the network for training (same numbers; speed see docs/performance.md)",
    "seed": "seed of weights, shuffling, dropout and Poisson spikes",
    "time_steps": "time steps T the input is presented for",
    "tau": "membrane time constant of the LIF neurons (> 1)",
    "v_threshold": "firing threshold of the LIF neurons",
    "detach_reset": "detach the reset from the graph (SpikingJelly's detach_reset)",
    "surrogate": "surrogate gradient of the spike function",
    "batch_norm": "batch norm after the convolutions and the hidden layer",
    "dropout": "dropout rate on the hidden spiking layer (one mask for all T)",
    "front_end": "activation of the convolutions: ReLU (computed once) or LIF (spiking, T times)",
    "encoding": "input encoding: the image at every step (direct) or Poisson spikes",
    "readout": "output: mean membrane potential, or spike rate",
    "augment": "training-batch augmentation (see search/training/_augment.py)",
    "tta": "test-time augmentation of validation and test images: flip averages each image's class scores "
    "with its mirror image's (twice the inference cost)",
    "label_smoothing": "label smoothing of the training loss, in [0, 1)",
    "neuron": "spiking neuron: lif, or plif (learnable time constant, initialised from tau)",
    "alpha": "surrogate gradient sharpness, > 0 (None: the surrogate's own default)",
    "width": "multiplier of the channels (32, 64) and the hidden layer (512), > 0",
}
ALIASES = {"time_steps": ["-T"]}
# Set by commands in their own way (the search sets them per trial or per study; --precision is a
# runtime flag, resolved against the device: search.cli._parser.add_runtime_flags).
NOT_FLAGS = {"network", "precision"}


def _fields() -> list[tuple[dataclasses.Field[Any], Any]]:
    top = [(f, TrainConfig) for f in dataclasses.fields(TrainConfig) if f.name not in NOT_FLAGS]
    return top + [(f, NetworkConfig) for f in dataclasses.fields(NetworkConfig)]


def _recipe(argv: Sequence[str], thesis_flag: bool) -> tuple[str, TrainConfig | None]:
    """The strategy named on ``argv`` and its recipe (or thesis preset), for the defaults ``--help`` shows."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--strategy", default="baseline")
    pre.add_argument("--thesis", action="store_true")
    known, _ = pre.parse_known_args(list(argv))
    try:
        if thesis_flag and known.thesis:
            return f"{known.strategy}, thesis preset", thesis_preset(known.strategy)
        return known.strategy, strategy_config(known.strategy)
    except ValueError:
        return known.strategy, None  # reported when the real parser runs


def add_config_flags(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] = (),
    *,
    thesis_flag: bool = False,
    skip: frozenset[str] = frozenset(),
) -> None:
    """One flag per config field (``--lr``, ``--time-steps``/``-T``, ``--batch-norm``/``--no-batch-norm``...)."""
    name, recipe = _recipe(argv, thesis_flag)
    group = parser.add_argument_group(f"training config (defaults: the recipe of --strategy, here {name})")
    for f, owner in _fields():
        if f.name in skip:
            continue
        if recipe is not None:
            default = getattr(recipe.network if owner is NetworkConfig else recipe, f.name)
        else:
            default = f.default if f.default is not dataclasses.MISSING else None
        flags = [f"--{f.name.replace('_', '-')}", *ALIASES.get(f.name, [])]
        help_text = HELP.get(f.name, f.name.replace("_", " "))
        kwargs: dict[str, Any] = dict(dest=f.name, default=None, help=f"{help_text} (default {default})")
        if isinstance(f.default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = TYPES.get(f.name, type(f.default))
            kwargs["metavar"] = f.name.upper() if f.name not in CHOICES else None
            if f.name in CHOICES:
                kwargs["choices"] = CHOICES[f.name]
        group.add_argument(*flags, **kwargs)


def config_from_flags(args: argparse.Namespace, thesis: bool = False) -> TrainConfig:
    """The TrainConfig the flags describe: the strategy's recipe (or thesis preset) plus typed overrides."""
    overrides = {f.name: getattr(args, f.name) for f, _ in _fields() if getattr(args, f.name, None) is not None}
    name = overrides.pop("strategy", None) or "baseline"
    try:
        return thesis_preset(name, **overrides) if thesis else strategy_config(name, **overrides)
    except ValueError as error:
        raise UsageError(str(error)) from None
