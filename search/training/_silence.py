"""Silent networks: a hidden LIF layer that never fires cannot learn through spikes.

Every path to the classifier goes through ``hidden_lif``; while it is silent the
classifier sees zeros.  But silence early in training is normal: an untrained
network of our default recipe fires at 0.000 and wakes up within a few dozen
optimiser steps, and some recipes (the thesis's plain SGD, the LIF front end) take
longer.  So a trial is judged only once it has taken :data:`SILENT_MIN_STEPS`
optimiser steps; from then on, a hidden layer below :data:`SILENT_RATE` spikes per
neuron per step is silent.  docs/energy.md holds the measured rates behind both
numbers.

The objective calls :func:`silent_reason` after each epoch with the firing rates
the trainer measured on the validation set (``EpochStats.firing_rates``) and the
optimiser steps taken so far, and prunes the trial with the reason it returns.
"""

from __future__ import annotations

from collections.abc import Mapping

# The layer whose silence is fatal: every path to the classifier goes through it.
SILENT_LAYER = "hidden_lif"
# Spikes per neuron per time step below which the hidden layer counts as silent.
SILENT_RATE = 1e-3
# Optimiser steps before silence is judged: twice the 96 steps after which the
# slowest recipe measured to wake up was firing (docs/energy.md), and no more than
# one epoch of all 50,000 training images at the largest batch of the space (196).
SILENT_MIN_STEPS = 192
# The reason recorded on a trial pruned for silence (the start of its message).
SILENT = "silent"


def is_silent(firing_rates: Mapping[str, float], threshold: float = SILENT_RATE, layer: str = SILENT_LAYER) -> bool:
    """True when ``layer`` fired below ``threshold`` spikes per neuron per step.

    A missing layer is a programming error (the rates come from the network that
    has it), so it raises instead of passing silently.
    """
    if layer not in firing_rates:
        raise KeyError(f"no firing rate for layer {layer!r}; have {', '.join(firing_rates) or 'none'}")
    return firing_rates[layer] < threshold


def steps_taken(epochs: int, train_size: int, batch_size: int) -> int:
    """Optimiser steps after ``epochs`` epochs (the engine drops a last batch of one image)."""
    full, rest = divmod(train_size, batch_size)
    return epochs * (full + (rest > 1))


def silent_reason(
    firing_rates: Mapping[str, float],
    steps: int,
    *,
    threshold: float = SILENT_RATE,
    min_steps: int = SILENT_MIN_STEPS,
    layer: str = SILENT_LAYER,
) -> str | None:
    """The message a pruned trial records, or None: too early to judge, or the layer fires."""
    if steps < min_steps or not is_silent(firing_rates, threshold, layer):
        return None
    return (
        f"{SILENT}: {layer} fired {firing_rates[layer]:.2g} spikes per neuron per step "
        f"after {steps} optimiser steps (below {threshold:g})"
    )
