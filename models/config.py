"""NetworkConfig: every knob of the spiking CNN, typed and frozen, with no torch import.

Kept apart from :mod:`models.snn` so that a command's ``--help`` and a study's settings
can be read without loading torch and SpikingJelly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SURROGATE_NAMES = ("atan", "sigmoid", "piecewise_quadratic", "erf")
# Each surrogate's own sharpness (its ``alpha`` default in SpikingJelly 2.0.0); ``alpha=None`` uses it.
SURROGATE_ALPHA: dict[str, float] = {"atan": 2.0, "sigmoid": 4.0, "piecewise_quadratic": 1.0, "erf": 2.0}
NEURONS = ("lif", "plif")
FRONT_ENDS = ("relu", "lif")
ENCODINGS = ("direct", "poisson")
READOUTS = ("membrane", "rate")
CHANNELS = (32, 64)  # at width 1
HIDDEN = 512


def _is_number(value: object) -> bool:
    """A finite int or float (not a bool, a string or NaN)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class NetworkConfig:
    """Every knob of the network; JSON-serialisable through ``dataclasses.asdict``."""

    time_steps: int = 4
    tau: float = 2.0
    v_threshold: float = 1.0
    detach_reset: bool = True
    surrogate: str = "atan"
    batch_norm: bool = False
    dropout: float = 0.0
    front_end: str = "relu"
    encoding: str = "direct"
    readout: str = "membrane"
    neuron: str = "lif"
    alpha: float | None = None  # surrogate sharpness; None: the surrogate's own default
    width: float = 1.0  # multiplier of the channels (32, 64) and the hidden layer (512)

    def __post_init__(self) -> None:
        checks = [
            (self.neuron in NEURONS, f"unknown neuron {self.neuron!r}; valid: {', '.join(NEURONS)}"),
            (
                self.alpha is None or (_is_number(self.alpha) and self.alpha > 0),
                f"alpha must be a number > 0 (or None for the surrogate's default), got {self.alpha!r}",
            ),
            (_is_number(self.width) and self.width > 0, f"width must be a number > 0, got {self.width!r}"),
            (self.time_steps >= 1, f"time_steps must be >= 1, got {self.time_steps}"),
            (self.tau > 1.0, f"tau must be > 1.0 (SpikingJelly's LIF), got {self.tau}"),
            (self.v_threshold > 0.0, f"v_threshold must be > 0, got {self.v_threshold}"),
            (0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}"),
            (
                self.surrogate in SURROGATE_NAMES,
                f"unknown surrogate {self.surrogate!r}; valid: {', '.join(SURROGATE_NAMES)}",
            ),
            (self.front_end in FRONT_ENDS, f"unknown front end {self.front_end!r}; valid: {', '.join(FRONT_ENDS)}"),
            (self.encoding in ENCODINGS, f"unknown encoding {self.encoding!r}; valid: {', '.join(ENCODINGS)}"),
            (self.readout in READOUTS, f"unknown readout {self.readout!r}; valid: {', '.join(READOUTS)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def channels(self) -> tuple[int, int, int]:
        """(first conv, second conv, hidden) sizes at this width; at least 1 each."""
        return tuple(max(1, round(n * self.width)) for n in (*CHANNELS, HIDDEN))  # type: ignore[return-value]

    @property
    def static_front(self) -> bool:
        """True when everything before the first LIF layer sees the same input at every step."""
        return self.encoding == "direct" and self.front_end == "relu"
