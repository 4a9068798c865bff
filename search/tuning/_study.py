"""A study's life: pruner and sampler, creation with the thesis trials, resume checks, and picking one.

``search.run`` calls :func:`find_study` (open the storage, read what is stored), then
:func:`open_study` (create the study, or join the one another worker created a moment
ago); ``search.final`` and ``search.report`` call :func:`pick_study`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import optuna

from search.errors import UsageError, UserError
from search.store import (
    BEST_STUDY,
    THESIS_PRESET,
    check_can_create,
    is_new_sqlite_file,
    load_study,
    mask_url,
    open_storage,
    sqlite_path,
    study_names,
)
from search.tuning._notes import write_study_note
from search.tuning._settings import (
    DATA_ATTR,
    OBJECTIVE_NAME,
    PRUNERS,
    SAMPLERS,
    SETTINGS_ATTR,
    StudyRequest,
    StudySettings,
    UnreadableSettings,
)
from search.tuning._space import describe_space, thesis_trials
from search.tuning._space_bounds import SPACE_GENERATION

if TYPE_CHECKING:
    from search.training import TrainVal


class ExtraQueue(Protocol):
    """Configurations a new study queues after the thesis's (``search.tuning._start_from.StartFrom``)."""

    def record(self, study: optuna.Study) -> None: ...

    def queue(self, study: optuna.Study, already_queued: list[dict[str, Any]]) -> int: ...


FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
SETTINGS_WAIT_S = 10.0


def make_pruner(name: str, epochs: int, min_resource: int = 1) -> optuna.pruners.BasePruner:
    """The pruner ``name``, with its resources measured in epochs. docs/search.md says why Hyperband.

    ``min_resource`` is the earliest epoch a trial can be pruned at (``--min-resource``): a
    schedule that warms up (one-cycle) says little about a trial in its first epochs.
    """
    if epochs <= min_resource:
        # No rung before the last epoch: pruning there would only mark a finished trial PRUNED,
        # which TPE ranks below every complete one.
        return optuna.pruners.NopPruner()
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=min_resource, max_resource=epochs, reduction_factor=3)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=min_resource)
    if name == "sha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource, reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"unknown pruner {name!r}; valid: {', '.join(PRUNERS)}")


def make_sampler(name: str, seed: int | None, fixed: tuple[tuple[str, Any], ...] = ()) -> optuna.samplers.BaseSampler:
    """The sampler ``name``; with ``fixed`` parameters (``--fix``), Optuna's PartialFixedSampler around it."""
    base = _base_sampler(name, seed)
    return optuna.samplers.PartialFixedSampler(dict(fixed), base) if fixed else base


def _base_sampler(name: str, seed: int | None) -> optuna.samplers.BaseSampler:
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


def study_settings(study: optuna.Study) -> StudySettings | None:
    """The settings a study was created with; None for a study not made by search.run.

    Settings this version cannot read (a newer snn-search wrote them) are a one-line
    :class:`UserError` naming the study and what is not understood.
    """
    stored = study.user_attrs.get(SETTINGS_ATTR)
    if not isinstance(stored, dict):
        return None
    try:
        settings = StudySettings.from_dict(stored)
    except UnreadableSettings as error:
        raise UserError(f"study {study.study_name!r} cannot be read: {error}") from None
    if "generation" not in stored.get("space", {}):  # made before the space had generations
        settings = replace(settings, space=replace(settings.space, generation=_generation_drawn(study)))
    return settings


def _generation_drawn(study: optuna.Study) -> int:
    """The space generation a study made before generations were recorded has drawn from.

    Generation 2 added ``augment`` to every trial (the thesis's queued ones too): a study whose
    trials never drew it was searching generation 1.  A study with no trial yet takes the current one.
    """
    drawn = [t.params for t in study.get_trials(deepcopy=False) if "strategy" in t.params]
    if drawn and not any("augment" in params for params in drawn):
        return 1
    return SPACE_GENERATION


def create_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    settings: StudySettings,
    data: TrainVal,
    start_from: ExtraQueue | None = None,
) -> optuna.Study:
    """A new study with its settings and note recorded and, unless ``settings.thesis`` is off, the thesis trials
    queued; then the configurations of ``start_from``'s study (``--start-from``)."""
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        directions=["maximize", "minimize"] if settings.multi_objective else ["maximize"],
        sampler=make_sampler(settings.sampler, settings.seed, settings.space.fixed),
        pruner=make_pruner(settings.pruner, settings.space.epochs, settings.min_resource),
    )
    study.set_metric_names([OBJECTIVE_NAME, settings.energy_name] if settings.multi_objective else [OBJECTIVE_NAME])
    if start_from is not None:
        start_from.record(study)
    study.set_user_attr(SETTINGS_ATTR, settings.to_dict())
    study.set_user_attr(DATA_ATTR, data.describe())
    queued = thesis_trials(settings.space) if settings.thesis else []
    for preset, params in queued:
        study.enqueue_trial(params, user_attrs={THESIS_PRESET: preset})
    if start_from is not None:
        start_from.queue(study, [params for _, params in queued])
    write_study_note(study, settings, storage)
    return study


def attach(
    storage: optuna.storages.BaseStorage, name: str, settings: StudySettings, worker: int | None = None
) -> optuna.Study:
    """The existing study ``name`` with the pruner and sampler of ``settings``, as worker ``worker`` (None: alone).

    The sampler's seed is :func:`sampler_seed`'s: a resumed or parallel seeded search draws new
    configurations, not its first ones again.
    """
    started = trials_started(storage, name)
    return optuna.load_study(
        study_name=name,
        storage=storage,
        sampler=make_sampler(settings.sampler, sampler_seed(settings, started, worker), settings.space.fixed),
        pruner=make_pruner(settings.pruner, settings.space.epochs, settings.min_resource),
    )


def trials_started(storage: optuna.storages.BaseStorage, name: str) -> int:
    """Trials of study ``name`` that a sampler has drawn or a process has begun (queued ones are not)."""
    study_id = storage.get_study_id_from_name(name)
    return sum(t.state != optuna.trial.TrialState.WAITING for t in storage.get_all_trials(study_id, deepcopy=False))


def sampler_seed(settings: StudySettings, started: int, worker: int | None) -> int | None:
    """The seed of this process's sampler in a study where ``started`` trials have begun.

    An Optuna sampler draws from its seed afresh in every process: seeded with ``--seed`` alone, a
    resumed study's RandomSampler (and TPE's random start-up) would draw its first configurations
    again, and workers started together would draw the same ones. So the first process of a new
    study keeps the study's seed (one process with ``--seed`` reproduces its search) and any other
    gets a seed derived from it, the trials already begun and its worker index. QMC keeps the
    study's seed: its scrambling must be the same in every process, and it numbers its points by
    the study's trials, so it does not repeat them.
    """
    seed = settings.seed
    if seed is None or settings.sampler == "qmc" or (started == 0 and not worker):
        return seed
    return int(np.random.SeedSequence([seed, started, worker or 0]).generate_state(1)[0])


def finished_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=FINISHED)


def epochs_saved(study: optuna.Study) -> int:
    """Epochs that pruned trials did not train, against the study's per-trial budget."""
    settings = study_settings(study)
    if settings is None:
        return 0
    pruned = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
    return sum(settings.space.epochs - int(t.user_attrs.get("epochs_run", 0)) for t in pruned)


def wait_for_settings(
    storage: optuna.storages.BaseStorage, name: str, timeout_s: float = SETTINGS_WAIT_S
) -> StudySettings:
    """The settings of study ``name``, waiting while another process is still creating it."""
    deadline = time.monotonic() + timeout_s
    while True:
        study = optuna.load_study(study_name=name, storage=storage)
        settings = study_settings(study)
        if settings is not None:
            return settings
        if study.get_trials(deepcopy=False):
            raise UsageError(f"study {name!r} was not made by search.run; pick another --study")
        if time.monotonic() > deadline:
            raise UserError(
                f"study {name!r} has no settings: it was not made by search.run, "
                "or its creator stopped half way; pick another --study"
            )
        time.sleep(0.5)


def resolve_study(
    storage: optuna.storages.BaseStorage, name: str, request: StudyRequest, timeout_s: float = SETTINGS_WAIT_S
) -> StudySettings:
    """The settings existing study ``name`` runs with: as stored, with what ``request`` may change on a resume.

    The one place a stored study's settings are read and resolved (a resume, a worker that lost
    the race to create the study, ``--show-space``); waits up to ``timeout_s`` while another
    process is still creating the study.
    """
    return request.resolve(name, wait_for_settings(storage, name, timeout_s))


@dataclass(frozen=True)
class FoundStudy:
    """What :func:`find_study` learnt: the storage (None while a new SQLite file is not created yet), settings."""

    url: str
    name: str
    request: StudyRequest
    storage_options: dict[str, Any]
    storage: optuna.storages.RDBStorage | None
    settings: StudySettings
    exists: bool

    def finished(self) -> int:
        if self.storage is None or not self.exists:
            return 0
        return len(finished_trials(optuna.load_study(study_name=self.name, storage=self.storage)))


@dataclass(frozen=True)
class OpenedStudy:
    """What :func:`open_study` returns: the study with its sampler and pruner, and how it came to be."""

    study: optuna.Study
    storage: optuna.storages.RDBStorage
    settings: StudySettings
    existed: bool


def find_study(url: str, name: str, request: StudyRequest, storage_options: dict[str, Any]) -> FoundStudy:
    """Open the storage and read study ``name``'s settings, creating nothing.

    A new SQLite file is only checked for write access here; :func:`open_study` creates it
    once the data has loaded, so that a failure before then leaves nothing behind.
    """
    if is_new_sqlite_file(url):
        settings = request.new_settings()  # refused before the file is created
        check_can_create(url)
        return FoundStudy(url, name, request, storage_options, None, settings, False)
    request.check()  # before connecting; the rest once the stored study (if any) is read
    storage = open_storage(url, create=True, **storage_options)
    if name in study_names(storage):
        return FoundStudy(url, name, request, storage_options, storage, resolve_study(storage, name, request), True)
    return FoundStudy(url, name, request, storage_options, storage, request.new_settings(), False)


def open_study(
    found: FoundStudy, data: TrainVal | None, start_from: ExtraQueue | None = None, worker: int | None = None
) -> OpenedStudy:
    """The study, created now if it did not exist (``data`` is then required), with ``start_from``'s queue,
    opened by worker ``worker`` (None: a process alone, or the parent of several)."""
    storage = found.storage or open_storage(found.url, create=True, **found.storage_options)
    settings, existed = found.settings, found.exists
    if not existed:
        assert data is not None, "a new study records its data split"
        try:
            create_study(storage, found.name, settings, data, start_from)
        except optuna.exceptions.DuplicatedStudyError:
            # Another worker created it a moment ago: join it, as if it had existed.
            settings, existed = resolve_study(storage, found.name, found.request), True
    return OpenedStudy(attach(storage, found.name, settings, worker), storage, settings, existed)


def budget_of(study: optuna.Study) -> tuple[int | None, int | None, int | None]:
    """(epochs per trial, training images, validation images) of a study made by search.run."""
    settings = study_settings(study)
    data = study.user_attrs.get(DATA_ATTR, {})
    epochs = settings.space.epochs if settings else None
    return epochs, data.get("train_size"), data.get("val_size")


def describe_budget(budget: tuple[int | None, int | None, int | None]) -> str:
    epochs, train, val = budget
    fmt = lambda n: "?" if n is None else f"{n:,}"  # noqa: E731
    return f"{fmt(train)} training images x {fmt(epochs)} epochs, validated on {fmt(val)}"


def pick_study(storage: optuna.storages.BaseStorage, name: str, url: str) -> tuple[optuna.Study, str | None]:
    """The study ``name``, or for ``best`` the study whose best trial is best among like-budget studies.

    ``best`` compares validation accuracies only between studies searched at the same budget
    (epochs per trial, training and validation images): it takes the highest budget that has
    a complete trial, then the best study there.  Returns the study and, for ``best``, what was
    compared and which studies were not, each with its reason.
    """
    if name != BEST_STUDY:
        return load_study(storage, name, url), None
    candidates: list[tuple[tuple[int, int, int], float, optuna.Study]] = []
    skipped: list[str] = []  # "'name' (why)"
    pareto_complete = False  # a two-objective study holds a complete trial: "no complete trial yet" would mislead
    for study_name in study_names(storage):
        study = optuna.load_study(study_name=study_name, storage=storage)
        if len(study.directions) != 1:
            skipped.append(f"{study_name!r} (two objectives: no single best trial)")
            pareto_complete = pareto_complete or bool(
                study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            )
            continue
        try:
            value = study.best_value
            epochs, train, val = budget_of(study)
        except ValueError:
            skipped.append(f"{study_name!r} (no complete trial yet)")
            continue
        except UserError as unreadable:  # one study a newer version wrote does not hide the others
            print(f"warning: --study best skips {unreadable}", file=sys.stderr)
            continue
        candidates.append((((train or 0) * (epochs or 0), train or 0, val or 0), value, study))
    if not candidates:
        if pareto_complete:
            raise UserError(
                f"--study best found no single-objective study with a complete trial in {mask_url(url)} "
                f"(skipped {', '.join(skipped)}); name a study with --study NAME"
            )
        raise UserError(f"no complete trial yet in any study of {mask_url(url)}; run python -m search.run first")
    top = max(c[0] for c in candidates)
    alike = [c for c in candidates if c[0] == top]
    _, value, chosen = max(alike, key=lambda c: c[1])
    lower = [
        f"{s.study_name!r} (a lower budget: {describe_budget(budget_of(s))})" for key, _, s in candidates if key != top
    ]
    why = (
        f"--study best: picked {chosen.study_name!r} (best validation accuracy {100 * value:.2f}%) "
        f"among {len(alike)} stud{'y' if len(alike) == 1 else 'ies'} searched at the highest budget, "
        f"{describe_budget(budget_of(chosen))}"
    )
    if lower or skipped:
        why += f"\n--study best: not compared: {', '.join([*lower, *skipped])}; name one with --study NAME"
    return chosen, why


def show_space(url: str, name: str, request: StudyRequest) -> str:
    """The space of study ``name`` as stored, when the storage holds it; else the space it would be created with."""
    path = sqlite_path(url)
    if path is None or path.is_file():
        storage = open_storage(url, create=False)
        if name in study_names(storage):
            settings = resolve_study(storage, name, request, timeout_s=0)
            return f"study {name!r} as stored in {mask_url(url)}\n{describe_space(settings.space)}"
    settings = request.new_settings()
    return f"study {name!r} does not exist yet: the space it would be created with\n{describe_space(settings.space)}"
