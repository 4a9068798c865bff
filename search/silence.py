"""Silent networks: a hidden LIF layer that (almost) never fires cannot learn through spikes.

The objective asks :func:`silent_reason` after a trial's first epoch, with the
firing rates the trainer measured on the validation set
(``EpochStats.firing_rates``), and prunes the trial with that reason when it
returns one.  docs/energy.md holds the measured rates behind the threshold.
"""

from __future__ import annotations

from collections.abc import Mapping

# The layer whose silence is fatal: every path to the classifier goes through it.
SILENT_LAYER = "hidden_lif"
# Spikes per neuron per time step below which the hidden layer counts as silent.
# Measured after one epoch (docs/energy.md): silent configurations read 0.0000,
# networks that learn read 0.05 and more; 1e-3 sits far from both.
SILENT_RATE = 1e-3
# The reason recorded on a trial pruned for silence.
SILENT = "silent"


def is_silent(firing_rates: Mapping[str, float], threshold: float = SILENT_RATE,
              layer: str = SILENT_LAYER) -> bool:
    """True when ``layer`` fired below ``threshold`` spikes per neuron per step.

    A missing layer is a programming error (the rates come from the network that
    has it), so it raises instead of passing silently.
    """
    if layer not in firing_rates:
        raise KeyError(f"no firing rate for layer {layer!r}; have {', '.join(firing_rates) or 'none'}")
    return firing_rates[layer] < threshold


def silent_reason(firing_rates: Mapping[str, float], threshold: float = SILENT_RATE,
                  layer: str = SILENT_LAYER) -> str | None:
    """The message a pruned trial records, or None when the layer fires enough."""
    if not is_silent(firing_rates, threshold, layer):
        return None
    return (f"{SILENT}: {layer} fired {firing_rates[layer]:.2g} spikes per neuron per step "
            f"after the first epoch (below {threshold:g})")
