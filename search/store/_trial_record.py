"""What a trial records in its user attributes: the keys, and a typed reader of them.

The objective writes these attributes; ``search.run``'s summary, the final retrain,
the report, its figures and the pruner replay read them through :class:`TrialRecord`
instead of spelling string keys.  optuna-dashboard shows them as they are stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial

# Trial user-attribute keys.
CONFIG = "config"  # the full TrainConfig as a dict (TrainConfig.from_dict rebuilds it)
HISTORY = "history"  # one dict per epoch: EpochStats.to_dict, rounded
STATUS = "status"  # completed | pruned | diverged | interrupted
EPOCHS_RUN = "epochs_run"
WALL_S = "wall_s"
BEST_EPOCH = "best_epoch"
BEST_VAL_ACC = "best_val_acc"
IMAGES_PER_S = "images_per_s"
FIRING_RATES = "firing_rates"  # of the last epoch, per LIF layer
REASON = "reason"  # why a diverged trial was stopped
DEVICE = "device"
NEURON_KERNEL = "neuron_kernel"  # SpikingJelly's kernel for the LIF layers (search/training/_kernels.py)
VERSIONS = "versions"
THESIS_PRESET = "thesis_preset"  # set on the thesis's own recipes, queued first
# {"study", "trial", "value"}: the trial of another study this one repeats (search.run --start-from)
STARTED_FROM = "started_from"
RETRY_OF = "retry_of"  # the number of the failed or interrupted trial this one repeats
WORKER = "worker"  # {"host", "pid", "index", "trial"}: the worker that claimed the trial numbered "trial"
ENERGY_ATTR = "energy"  # EnergyCost.to_dict() of the trained network (search/training/_energy.py)
# The EnergyCost field that a Pareto search minimises and --max-energy bounds (docs/energy.md).
ENERGY_FIELD = "compute_energy_pj_per_image"
PARAMETERS = "parameters"  # trainable parameters of the trial's network
# Plain values optuna-dashboard shows as columns of its trial table and can plot in its history:
ORIGIN = "origin"  # where the configuration came from: "thesis baseline", "searched", "study 'short' #4"
ENERGY_UJ = "energy_uJ"  # ENERGY_FIELD in microjoules per image, the unit the commands print


@dataclass(frozen=True)
class TrialRecord:
    """A trial's user attributes, typed; every field but ``number`` and ``state`` may be missing."""

    number: int
    state: optuna.trial.TrialState
    params: dict[str, Any]
    config: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    epochs_run: int = 0
    wall_s: float = 0.0
    best_epoch: int | None = None
    best_val_acc: float | None = None
    thesis_preset: str | None = None
    retry_of: int | None = None
    reason: str | None = None
    energy_pj: float | None = None  # compute energy per image (ENERGY_FIELD), the second objective of a Pareto study
    started_from: dict[str, Any] | None = None  # STARTED_FROM

    @classmethod
    def of(cls, trial: FrozenTrial) -> TrialRecord:
        a = trial.user_attrs
        return cls(
            number=trial.number,
            state=trial.state,
            params=dict(trial.params),
            config=a.get(CONFIG),
            history=list(a.get(HISTORY) or []),
            status=a.get(STATUS),
            epochs_run=int(a.get(EPOCHS_RUN) or 0),
            wall_s=float(a.get(WALL_S) or 0.0),
            best_epoch=a.get(BEST_EPOCH),
            best_val_acc=a.get(BEST_VAL_ACC),
            thesis_preset=a.get(THESIS_PRESET),
            retry_of=a.get(RETRY_OF),
            reason=a.get(REASON),
            energy_pj=(a.get(ENERGY_ATTR) or {}).get(ENERGY_FIELD),
            started_from=a.get(STARTED_FROM),
        )

    @property
    def energy_uj(self) -> float:
        """Compute energy per image in microjoules (NaN if not measured).

        Read from the energy record, not from the trial's second objective: a two-objective study
        stores that in picojoules (settings format 1 and 2) or microjoules (from format 3).
        """
        return math.nan if self.energy_pj is None else self.energy_pj / 1e6

    @property
    def strategy(self) -> str:
        return str(self.params.get("strategy", "?"))

    @property
    def is_thesis(self) -> bool:
        return self.thesis_preset is not None

    @property
    def origin(self) -> str:
        """Where the configuration came from (:func:`origin_of`)."""
        return origin_of({THESIS_PRESET: self.thesis_preset, STARTED_FROM: self.started_from})

    @property
    def trained(self) -> bool:
        """True when the trial holds a config and at least one epoch: something the final retrain can rebuild."""
        return self.config is not None and bool(self.history)


def origin_of(user_attrs: dict[str, Any]) -> str:
    """Where a trial's configuration came from, in a few words: ``thesis lr_annealing``, ``study 'short' #4``
    (``search.run --start-from``), or ``searched`` (drawn by the sampler)."""
    preset, source = user_attrs.get(THESIS_PRESET), user_attrs.get(STARTED_FROM)
    if preset:
        return f"thesis {preset}"
    if isinstance(source, dict):
        return f"study {source.get('study')!r} #{source.get('trial')}"
    return "searched"


def is_thesis(trial: FrozenTrial) -> bool:
    return THESIS_PRESET in trial.user_attrs


def thesis_preset_of(trial: FrozenTrial) -> str | None:
    return trial.user_attrs.get(THESIS_PRESET)


def record_result(trial: optuna.Trial, status: str, history: list[dict[str, Any]], wall_s: float) -> None:
    """Write what a trial has done so far: status, epochs, wall time and the best epoch."""
    trial.set_user_attr(STATUS, status)
    trial.set_user_attr(EPOCHS_RUN, len(history))
    trial.set_user_attr(WALL_S, round(wall_s, 2))
    if history:
        best = max(history, key=lambda h: h["val_acc"])
        trial.set_user_attr(BEST_EPOCH, best["epoch"])
        trial.set_user_attr(BEST_VAL_ACC, best["val_acc"])
        trial.set_user_attr(IMAGES_PER_S, round(sum(h["images_per_s"] for h in history) / len(history)))
        trial.set_user_attr(FIRING_RATES, history[-1]["firing_rates"])
