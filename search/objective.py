"""The objective: train one trial's config, report validation accuracy each epoch, prune when told."""

from __future__ import annotations

import importlib.metadata
import math
import time
from collections.abc import Callable
from typing import Any

import optuna
import torch

from models import parameter_count
from search.data import TrainVal
from search.engine import EpochStats, train
from search.settings import StudySettings
from search.space import suggest_config
from search.trial_record import (
    CONFIG, DEVICE, HISTORY, PARAMETERS, REASON, RETRY_OF, THESIS_PRESET, VERSIONS, record_result,
)


def versions() -> dict[str, str]:
    return {
        "torch": torch.__version__,
        "spikingjelly": importlib.metadata.version("spikingjelly"),
        "optuna": optuna.__version__,
    }


class Objective:
    """Train one trial's config; report validation accuracy each epoch; prune when told.

    The thesis's enqueued recipes (user attribute ``thesis_preset``) run to the end whatever
    the pruner says, so that every comparison with them compares finished curves.  Returns the best validation accuracy over the trial's epochs (the epoch is recorded,
    and the final retrain uses it).  A diverged run is pruned with its reason recorded.
    """

    def __init__(self, settings: StudySettings, data: TrainVal, device: torch.device,
                 on_epoch: Callable[[int, EpochStats], None] | None = None) -> None:
        self.settings = settings
        self.data = data
        self.device = device
        self.on_epoch = on_epoch  # (trial number, stats): progress display

    def __call__(self, trial: optuna.Trial) -> float:
        base_seed = self.settings.seed or 0
        config = suggest_config(trial, self.settings.space, seed=base_seed + trial.number)
        trial.set_user_attr(CONFIG, config.to_dict())
        trial.set_user_attr(DEVICE, str(self.device))
        trial.set_user_attr(VERSIONS, versions())
        trial.set_user_attr(PARAMETERS, parameter_count(config.network))
        history: list[dict[str, Any]] = []
        start = time.perf_counter()
        # The thesis's recipes are the yardstick: they report like every trial but are never pruned.
        reference = THESIS_PRESET in trial.user_attrs

        def record(status: str) -> None:
            record_result(trial, status, history, time.perf_counter() - start)

        def on_epoch(stats: EpochStats) -> None:
            entry = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in stats.to_dict().items()}
            history.append(entry)
            trial.set_user_attr(HISTORY, history)
            if self.on_epoch is not None:
                self.on_epoch(trial.number, stats)
            trial.report(stats.val_acc, stats.epoch)  # type: ignore[arg-type]
            if not reference and trial.should_prune():
                record("pruned")
                raise optuna.TrialPruned(f"pruned after epoch {stats.epoch}")

        try:
            result = train(config, self.data.train, self.data.val, self.device, on_epoch=on_epoch)
        except KeyboardInterrupt:
            # Optuna marks this trial FAIL; queue its parameters so that a resumed run retries them.
            record("interrupted")
            attrs = {k: v for k, v in trial.user_attrs.items() if k == THESIS_PRESET}
            trial.study.enqueue_trial(trial.params, user_attrs={**attrs, RETRY_OF: trial.number})
            raise
        if result.status == "diverged":
            record("diverged")
            trial.set_user_attr(REASON, result.reason)
            raise optuna.TrialPruned(result.reason)
        record("completed")
        best = result.best_val_acc
        return best if best is not None and math.isfinite(best) else 0.0
