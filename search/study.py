"""A study: its settings, pruner and sampler, the thesis trials, and the objective."""

from __future__ import annotations

import importlib.metadata
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import optuna
import torch

from search.data import TrainVal
from search.engine import EpochStats, train
from search.notes import write_study_note
from search.space import SpaceSettings, suggest_config, thesis_trials

PRUNERS = ("hyperband", "median", "sha", "none")
SAMPLERS = ("tpe", "gp", "cmaes", "random", "qmc")
DEFAULT_PRUNER = "hyperband"
DEFAULT_SAMPLER = "tpe"
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
OBJECTIVE_NAME = "validation accuracy"


@dataclass(frozen=True)
class StudySettings:
    """What defines a study; stored in its user attribute ``settings`` when it is created."""

    space: SpaceSettings
    train_size: int | None = None
    pruner: str = DEFAULT_PRUNER
    sampler: str = DEFAULT_SAMPLER
    seed: int | None = None
    thesis: bool = True
    val_size: int | None = None  # validation images (None: the whole 10,000)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["space"]["strategies"] = list(self.space.strategies)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StudySettings:
        d = dict(d)
        space = d.pop("space")
        return cls(space=SpaceSettings(**{**space, "strategies": tuple(space["strategies"])}), **d)


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    """The pruner ``name``, with its resources measured in epochs. docs/pruning.md says why hyperband."""
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "sha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"unknown pruner {name!r}; valid: {', '.join(PRUNERS)}")


def make_sampler(name: str, seed: int | None) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        # group=True: the space is conditional (each strategy draws its own parameters).
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    raise ValueError(f"unknown sampler {name!r}; valid: {', '.join(SAMPLERS)}")


def versions() -> dict[str, str]:
    return {
        "torch": torch.__version__,
        "spikingjelly": importlib.metadata.version("spikingjelly"),
        "optuna": optuna.__version__,
    }


def create_study(storage: optuna.storages.BaseStorage, name: str, settings: StudySettings,
                 data: TrainVal) -> optuna.Study:
    """A new study with its settings recorded and, unless ``settings.thesis`` is off, the thesis trials queued."""
    study = optuna.create_study(
        storage=storage, study_name=name, direction="maximize",
        sampler=make_sampler(settings.sampler, settings.seed),
        pruner=make_pruner(settings.pruner, settings.space.epochs),
    )
    study.set_metric_names([OBJECTIVE_NAME])
    study.set_user_attr("settings", settings.to_dict())
    study.set_user_attr("data", data.describe())
    if settings.thesis:
        for preset, params in thesis_trials(settings.space):
            study.enqueue_trial(params, user_attrs={"thesis_preset": preset})
    write_study_note(study, settings, storage)
    return study


def attach(storage: optuna.storages.BaseStorage, name: str, settings: StudySettings) -> optuna.Study:
    """The existing study ``name`` with the pruner and sampler of ``settings``."""
    return optuna.load_study(
        study_name=name, storage=storage,
        sampler=make_sampler(settings.sampler, settings.seed),
        pruner=make_pruner(settings.pruner, settings.space.epochs),
    )


def finished_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=FINISHED)


class Objective:
    """Train one trial's config; report validation accuracy each epoch; prune when told.

    Returns the best validation accuracy over the trial's epochs (the epoch is recorded,
    and the final retrain uses it).  A diverged run is pruned with its reason recorded.
    """

    def __init__(self, settings: StudySettings, data: TrainVal, device: torch.device) -> None:
        self.settings = settings
        self.data = data
        self.device = device

    def __call__(self, trial: optuna.Trial) -> float:
        base_seed = self.settings.seed or 0
        config = suggest_config(trial, self.settings.space, seed=base_seed + trial.number)
        trial.set_user_attr("config", config.to_dict())
        trial.set_user_attr("device", str(self.device))
        trial.set_user_attr("versions", versions())
        history: list[dict[str, Any]] = []
        start = time.perf_counter()

        def record(status: str) -> None:
            trial.set_user_attr("status", status)
            trial.set_user_attr("epochs_run", len(history))
            trial.set_user_attr("wall_s", round(time.perf_counter() - start, 2))
            if history:
                best = max(history, key=lambda h: h["val_acc"])
                trial.set_user_attr("best_epoch", best["epoch"])
                trial.set_user_attr("best_val_acc", best["val_acc"])
                trial.set_user_attr("images_per_s", round(sum(h["images_per_s"] for h in history) / len(history)))
                trial.set_user_attr("firing_rates", history[-1]["firing_rates"])

        def on_epoch(stats: EpochStats) -> None:
            entry = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in stats.to_dict().items()}
            history.append(entry)
            trial.set_user_attr("history", history)
            trial.report(stats.val_acc, stats.epoch)  # type: ignore[arg-type]
            if trial.should_prune():
                record("pruned")
                raise optuna.TrialPruned(f"pruned after epoch {stats.epoch}")

        try:
            result = train(config, self.data.train, self.data.val, self.device, on_epoch=on_epoch)
        except KeyboardInterrupt:
            # Optuna marks this trial FAIL; queue its parameters so that a resumed run retries them.
            record("interrupted")
            attrs = {k: v for k, v in trial.user_attrs.items() if k == "thesis_preset"}
            trial.study.enqueue_trial(trial.params, user_attrs={**attrs, "retry_of": trial.number})
            raise
        if result.status == "diverged":
            record("diverged")
            trial.set_user_attr("reason", result.reason)
            raise optuna.TrialPruned(result.reason)
        record("completed")
        best = result.best_val_acc
        return best if best is not None and math.isfinite(best) else 0.0


def epochs_saved(study: optuna.Study) -> int:
    """Epochs that pruned trials did not train, against the study's per-trial budget."""
    budget = StudySettings.from_dict(study.user_attrs["settings"]).space.epochs
    pruned = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
    return sum(budget - int(t.user_attrs.get("epochs_run", 0)) for t in pruned)
