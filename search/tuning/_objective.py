"""The objective: train one trial's config, report validation accuracy each epoch, prune when told."""

from __future__ import annotations

import importlib.metadata
import math
import time
from collections.abc import Callable
from typing import Any

import optuna
import optuna_dashboard
import torch

from models import parameter_count
from search.store import (
    CONFIG,
    DEVICE,
    ENERGY_ATTR,
    ENERGY_UJ,
    HISTORY,
    NEURON_KERNEL,
    ORIGIN,
    PARAMETERS,
    REASON,
    RETRY_OF,
    STARTED_FROM,
    THESIS_PRESET,
    VERSIONS,
    origin_of,
    record_result,
)
from search.training import (
    EnergyCost,
    EpochStats,
    TrainVal,
    energy_sample,
    measure_energy,
    neuron_backend_in_use,
    silent_reason,
    steps_taken,
    train,
)
from search.tuning._settings import StudySettings
from search.tuning._space import suggest_config

ENERGY_CONSTRAINT = "energy_pj_over_budget"  # the constraint of --max-energy: energy minus budget, <= 0 is feasible


def note_thesis_trial(trial: optuna.Trial, origin: str) -> None:
    """A trial note optuna-dashboard shows beside a thesis recipe: what it is and why it is never pruned."""
    optuna_dashboard.save_note(
        trial,
        f"**{origin}**: the thesis's own recipe (user attribute `thesis_preset`), queued first at this study's "
        "budget as a yardstick. It reports every epoch like any trial but is never pruned.",
    )


def versions() -> dict[str, str]:
    return {
        "torch": torch.__version__,
        "spikingjelly": importlib.metadata.version("spikingjelly"),
        "optuna": optuna.__version__,
    }


class Objective:
    """Train one trial's config; report validation accuracy each epoch; prune when told; count its energy.

    The thesis's enqueued recipes (user attribute ``thesis_preset``) run to the end whatever
    the pruner says, so that every comparison with them compares finished curves.  Returns the
    best validation accuracy over the trial's epochs (the epoch is recorded, and the final
    retrain uses it), or with ``--objective accuracy,energy`` the pair (accuracy,
    compute energy per image).  A diverged run, and one whose hidden layer stays silent
    (search/training/_silence.py), is pruned with its reason recorded.  Every trial records its
    energy (search/training/_energy.py) on a fixed sample of validation images; a constrained study
    (``--max-energy``) records it each epoch and sets the trial's constraint from it.
    """

    def __init__(
        self,
        settings: StudySettings,
        data: TrainVal,
        device: torch.device,
        on_epoch: Callable[[int, EpochStats], None] | None = None,
        compile: bool | None = None,  # noqa: A002 (TrainConfig.compile and --compile's name)
    ) -> None:
        self.settings = settings
        self.compile = compile  # --compile/--no-compile of this run; None: the space's default (off)
        self.data = data
        self.device = device
        self.on_epoch = on_epoch  # (trial number, stats): progress display
        self.energy_images = energy_sample(data.val).to(device)  # the fixed sample every trial is counted on

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        try:
            return self._run(trial)
        except KeyboardInterrupt:
            # Wherever the trial is (drawing its parameters, an epoch, its energy count, its last
            # records), Optuna marks it FAIL; queue its parameters (as far as they were drawn) so
            # that a resumed run retries them.
            attrs = {k: v for k, v in trial.user_attrs.items() if k in (THESIS_PRESET, STARTED_FROM)}
            trial.study.enqueue_trial(trial.params, user_attrs={**attrs, RETRY_OF: trial.number})
            raise

    def _run(self, trial: optuna.Trial) -> float | tuple[float, float]:
        settings = self.settings
        base_seed = settings.seed or 0
        config = suggest_config(trial, settings.space, seed=base_seed + trial.number).replace(
            precision=settings.precision
        )
        if self.compile is not None:
            config = config.replace(compile=self.compile)
        trial.set_user_attr(CONFIG, config.to_dict())
        trial.set_user_attr(DEVICE, str(self.device))
        trial.set_user_attr(NEURON_KERNEL, neuron_backend_in_use(self.device, config.compile))
        trial.set_user_attr(VERSIONS, versions())
        trial.set_user_attr(PARAMETERS, parameter_count(config.network))
        origin = origin_of(trial.user_attrs)
        trial.set_user_attr(ORIGIN, origin)
        if THESIS_PRESET in trial.user_attrs:
            note_thesis_trial(trial, origin)
        history: list[dict[str, Any]] = []
        start = time.perf_counter()
        # The thesis's recipes are the yardstick: they report like every trial but are never pruned.
        reference = THESIS_PRESET in trial.user_attrs
        cost: list[EnergyCost] = []  # the latest measurement

        def record(status: str) -> None:
            record_result(trial, status, history, time.perf_counter() - start)
            if cost:
                trial.set_user_attr(ENERGY_ATTR, cost[-1].to_dict())
                trial.set_user_attr(ENERGY_UJ, round(cost[-1].energy_pj_per_image / 1e6, 4))
                if settings.max_energy_pj is not None:
                    # Feasible when <= 0; the sampler prefers feasible trials, best_trial picks among them.
                    trial.set_constraint(ENERGY_CONSTRAINT, cost[-1].energy_pj_per_image - settings.max_energy_pj)

        def measure(net: torch.nn.Module) -> None:
            cost[:] = [measure_energy(net, self.energy_images)]

        def stop(status: str, reason: str) -> None:
            record(status)
            trial.set_user_attr(REASON, reason)
            raise optuna.TrialPruned(reason)

        def on_epoch(stats: EpochStats) -> None:
            entry = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in stats.to_dict().items()}
            history.append(entry)
            trial.set_user_attr(HISTORY, history)
            if self.on_epoch is not None:
                self.on_epoch(trial.number, stats)
            silent = silent_reason(
                stats.firing_rates, steps_taken(stats.epoch, len(self.data.train), config.batch_size)
            )
            if silent is not None:
                stop("silent", silent)
            if settings.multi_objective:
                return  # Optuna has no pruning for several objectives; only silence and divergence stop a trial
            trial.report(stats.val_acc, stats.epoch)  # type: ignore[arg-type]
            if not reference and trial.should_prune():
                record("pruned")
                raise optuna.TrialPruned(f"pruned after epoch {stats.epoch}")

        try:
            result = train(
                config,
                self.data.train,
                self.data.val,
                self.device,
                on_epoch=on_epoch,
                inspect=measure if settings.measures_energy_each_epoch else None,
            )
            if result.status == "diverged":
                stop("diverged", result.reason)
            if not cost and result.model is not None:
                measure(result.model)
            record("completed")
        except KeyboardInterrupt:
            record("interrupted")  # __call__ queues the retry
            raise
        best = result.best_val_acc
        accuracy = best if best is not None and math.isfinite(best) else 0.0
        if settings.multi_objective:
            return accuracy, settings.energy_objective(cost[-1].energy_pj_per_image)
        return accuracy
