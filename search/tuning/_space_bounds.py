"""The search space's parameters and their ranges, free of Optuna and torch.

:mod:`search.tuning._space` draws from these; ``search.run --fix NAME=VALUE`` is checked against
them when a study's settings are made, before Optuna or torch load, so that a bad value
is refused in one line and nothing is created.  A fixed parameter is handed to Optuna's
``PartialFixedSampler``: every trial that draws it gets the value, and the sampler searches
the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from models.config import ENCODINGS, FRONT_ENDS, NEURONS, READOUTS
from search.training import AUGMENTATIONS, STRATEGIES

COMBINED_OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "nadam")
COMBINED_SCHEDULES = ("none", "cosine", "warm_restarts", "step", "exponential", "onecycle", "plateau")
LR_RANGE = {"sgd": (1e-3, 0.5), "rmsprop": (1e-5, 3e-3)}  # everything else: Adam-like
ADAPTIVE_LR_RANGE = (1e-4, 1e-2)
BATCH_SIZES = (32, 64, 128, 256)
TIME_STEPS = (1, 8)
TAU = (1.5, 5.0)
SURROGATE_CHOICES = ("atan", "sigmoid", "piecewise_quadratic")
WEIGHT_DECAY = (0.0, 1e-3)
DROPOUT = (0.1, 0.7)
MOMENTUM = (0.0, 0.95)
# Training practice, drawn for every strategy; the thesis presets pin none / 0 / lif.
AUGMENT_CHOICES = AUGMENTATIONS
LABEL_SMOOTHING = (0.0, 0.2)
NEURON_CHOICES = NEURONS
# Full space only. Alpha is searched as a multiple of the drawn surrogate's own default.
WIDTH = (0.5, 2.0, 0.25)  # low, high, step
ALPHA_SCALE = (0.25, 4.0)  # log-uniform
MIN_LR_RATIO = (0.0, 0.1)
STEP_GAMMA = (0.05, 0.7)
EXP_GAMMA = (0.6, 0.99)
RESTART_MULT = (1, 2)
PLATEAU_PATIENCE = (0, 5)
PLATEAU_FACTOR = (0.1, 0.7)
V_THRESHOLD = (0.5, 2.0)
BATCH_NORM_CHOICES = (False, True)
FRONT_END_CHOICES = FRONT_ENDS
ENCODING_CHOICES = ENCODINGS
READOUT_CHOICES = READOUTS
DETACH_RESET_CHOICES = (True, False)


def lr_range(optimizer: str) -> tuple[float, float]:
    return LR_RANGE.get(optimizer, ADAPTIVE_LR_RANGE)


@dataclass(frozen=True)
class Choice:
    """A categorical parameter."""

    values: tuple[Any, ...]

    def parse(self, text: str) -> Any:
        for value in self.values:
            if text.strip().lower() == str(value).lower():
                return value
        raise ValueError(f"not a choice; valid: {', '.join(str(v) for v in self.values)}")


@dataclass(frozen=True)
class Span:
    """A numeric parameter's range, both ends included; ``step`` for a stepped float."""

    low: float
    high: float
    integer: bool = False
    step: float | None = None

    def parse(self, text: str) -> Any:
        try:
            value: Any = int(text) if self.integer else float(text)
        except ValueError:
            raise ValueError(f"expected {'a whole number' if self.integer else 'a number'}") from None
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise ValueError(f"outside the space's range [{self.low:g}, {self.high:g}]")
        if self.step is not None and not math.isclose(
            (value - self.low) / self.step, round((value - self.low) / self.step)
        ):
            raise ValueError(f"not on the space's grid ({self.low:g} to {self.high:g} in steps of {self.step:g})")
        return value


# "strategy" is not here: --strategies chooses the strategies.
DEFAULT_PARAMETERS: dict[str, Choice | Span] = {
    "optimizer": Choice(COMBINED_OPTIMIZERS),
    "schedule": Choice(COMBINED_SCHEDULES),
    # lr: checked against the fixed optimizer's range, else the range every optimizer shares (parameters()).
    "momentum": Span(*MOMENTUM),
    "batch_norm": Choice(BATCH_NORM_CHOICES),
    "dropout": Span(0.0, DROPOUT[1]),
    "min_lr_ratio": Span(*MIN_LR_RATIO),
    "step_gamma": Span(*STEP_GAMMA),
    "exp_gamma": Span(*EXP_GAMMA),
    "restart_mult": Span(*RESTART_MULT, integer=True),
    "plateau_patience": Span(*PLATEAU_PATIENCE, integer=True),
    "plateau_factor": Span(*PLATEAU_FACTOR),
    "batch_size": Choice(BATCH_SIZES),
    "time_steps": Span(*TIME_STEPS, integer=True),
    "tau": Span(*TAU),
    "surrogate": Choice(SURROGATE_CHOICES),
    "weight_decay": Span(*WEIGHT_DECAY),
    "augment": Choice(AUGMENT_CHOICES),
    "label_smoothing": Span(*LABEL_SMOOTHING),
    "neuron": Choice(NEURON_CHOICES),
}
FULL_PARAMETERS: dict[str, Choice | Span] = {
    "front_end": Choice(FRONT_END_CHOICES),
    "encoding": Choice(ENCODING_CHOICES),
    "readout": Choice(READOUT_CHOICES),
    "v_threshold": Span(*V_THRESHOLD),
    "detach_reset": Choice(DETACH_RESET_CHOICES),
    "width": Span(WIDTH[0], WIDTH[1], step=WIDTH[2]),
    "alpha_scale": Span(*ALPHA_SCALE),
}


def parameters(space: str, epochs: int, optimizer: str | None) -> dict[str, Choice | Span]:
    """Every parameter a study of this space and epoch budget can draw, by its Optuna name."""
    if optimizer is None:  # lr must suit whichever optimiser a trial draws
        low = max(lr_range(o)[0] for o in COMBINED_OPTIMIZERS)
        high = min(lr_range(o)[1] for o in COMBINED_OPTIMIZERS)
    else:
        low, high = lr_range(optimizer)
    found: dict[str, Choice | Span] = {
        **DEFAULT_PARAMETERS,
        "lr": Span(low, high),
        "step_size": Span(1, max(1, epochs), integer=True),
        "restart_period": Span(1, max(1, epochs // 2), integer=True),
    }
    if space == "full":
        found.update(FULL_PARAMETERS)
    return found


def parse_fixed(
    pairs: tuple[tuple[str, str], ...], space: str, epochs: int, strategies: tuple[str, ...] = ()
) -> tuple[tuple[str, Any], ...]:
    """``(name, text)`` pairs of ``--fix`` as typed ``(name, value)`` pairs; a ValueError naming what is wrong.

    ``strategies``: the study's; the ``dropout`` strategy draws its rate from a narrower range.
    """
    names = [name for name, _ in pairs]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"--fix {name}: given twice")
    texts = dict(pairs)
    # lr's range is its optimizer's: the one --fix gives, or the one every searched strategy fixes
    # (baseline, dropout, ... are Adam), as --show-space shows it.
    implied = {STRATEGIES[s].optimizer for s in strategies if s in STRATEGIES} or {None}  # unknown ones: refused later
    optimizer = implied.pop() if len(implied) == 1 else None
    if "optimizer" in texts:
        optimizer = _parse_one("optimizer", texts["optimizer"], parameters(space, epochs, None))
    known = parameters(space, epochs, optimizer)
    hint = "" if optimizer else " (with --fix optimizer=NAME, lr has that optimizer's range)"
    fixed = tuple((name, _parse_one(name, text, known, hint if name == "lr" else "")) for name, text in pairs)
    dropout = dict(fixed).get("dropout")
    if dropout is not None and "dropout" in strategies and dropout < DROPOUT[0]:
        raise ValueError(
            f"--fix dropout={texts['dropout']}: the strategy 'dropout' draws its rate from "
            f"[{DROPOUT[0]:g}, {DROPOUT[1]:g}]; leave it out of --strategies or fix a rate in that range"
        )
    return fixed


def _parse_one(name: str, text: str, known: dict[str, Choice | Span], hint: str = "") -> Any:
    if name == "strategy":
        raise ValueError("--fix strategy: use --strategies to choose the strategies")
    if name not in known:
        if name in FULL_PARAMETERS:
            raise ValueError(f"--fix {name}: only --space full searches {name}")
        raise ValueError(f"--fix {name}: no such parameter; valid: {', '.join(sorted(known))}")
    try:
        return known[name].parse(text)
    except ValueError as error:
        raise ValueError(f"--fix {name}={text}: {error}{hint}") from None


# The search space's generation.  A study keeps the generation it was created with: a dimension a
# later generation added is not drawn in it (it stays at its default), so one study never mixes
# two spaces.  Generation 1 had the thesis's knobs; generation 2 added training practice.
SPACE_GENERATION = 2
ADDED_IN_GENERATION: dict[int, tuple[str, ...]] = {
    2: ("augment", "label_smoothing", "neuron", "width", "alpha_scale"),
}
