"""``search.run --start-from STUDY``: a new study starts with the best configurations of another.

A long search builds on a short one: the short study's complete trials, best first, are queued
(Optuna's ``enqueue_trial``) in the new study after the thesis's recipes, and trained again at
the new study's budget.  Their values are not copied (``add_trials`` would set a 3-epoch figure
beside 10-epoch ones, which no sampler can tell apart).  Each queued trial records where it came
from in its user attribute ``started_from``; the study records the source in its own, so a
resume with the same flags queues nothing twice and one with another source is refused.

Only a study of the same space (strategies, space, ``--fix``, generation; the epochs may differ)
can be a source: its parameters must mean the same things.  Its thesis trials are not copied
(the thesis recipes come with ``--thesis``, the default).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import optuna

from search.errors import UsageError, UserError
from search.store import STARTED_FROM, THESIS_PRESET, study_names
from search.tuning._search_run import check_start_flags
from search.tuning._settings import StudySettings
from search.tuning._study import study_settings

# The study's user attribute: {"study": source name, "trials": [source trial numbers queued]}.
STUDY_STARTED_FROM = "started_from"
COMPLETE = optuna.trial.TrialState.COMPLETE


@dataclass(frozen=True)
class QueuedConfiguration:
    """One configuration of the source study to queue: its parameters and where it came from."""

    params: dict[str, Any]
    source_trial: int
    source_value: float

    @property
    def user_attrs(self) -> dict[str, Any]:
        return {STARTED_FROM: {"trial": self.source_trial, "value": self.source_value}}


@dataclass(frozen=True)
class StartFrom:
    """The source study and what of it to queue."""

    study: str
    configurations: tuple[QueuedConfiguration, ...]

    def record(self, study: optuna.Study) -> None:
        """Name the source in the study, before its settings: a worker that joins the study meanwhile,
        or a resume after a crash here, finds it started from this source."""
        study.set_user_attr(STUDY_STARTED_FROM, {"study": self.study, "trials": []})

    def queue(self, study: optuna.Study, already_queued: list[dict[str, Any]]) -> int:
        """Queue the configurations not among ``already_queued`` (the thesis's); how many were queued."""
        seen = {_key(p) for p in already_queued}
        numbers = []
        for c in self.configurations:
            if _key(c.params) in seen:
                continue
            seen.add(_key(c.params))
            attrs = {STARTED_FROM: {"study": self.study, **c.user_attrs[STARTED_FROM]}}
            study.enqueue_trial(c.params, user_attrs=attrs)
            numbers.append(c.source_trial)
        study.set_user_attr(STUDY_STARTED_FROM, {"study": self.study, "trials": numbers})
        return len(numbers)

    @staticmethod
    def describe(study: optuna.Study) -> str | None:
        """What a study created with --start-from queued, in words; None for any other study."""
        recorded = study.user_attrs.get(STUDY_STARTED_FROM)
        if not isinstance(recorded, dict):
            return None
        return (
            f"the {len(recorded.get('trials') or [])} best complete configuration(s) of study "
            f"{recorded.get('study')!r}, queued after the thesis's recipes and trained again at this study's budget"
        )


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _feasible(trial: optuna.trial.FrozenTrial) -> bool:
    """Within the source's energy budget (``--max-energy``: Optuna's constraints, feasible at <= 0)."""
    return all(c <= 0 for c in trial.system_attrs.get("constraints") or ())


def _ranking(source: optuna.Study) -> Callable[[optuna.trial.FrozenTrial], tuple[bool, float]]:
    """Best first: by accuracy; in a two-objective (accuracy, energy) source, its Pareto front
    first (Optuna's ``best_trials``), each part by accuracy.

    Accuracy alone would queue first a front's most expensive trials and none of its frugal
    ones, which a search of that source asked for as much.
    """
    front = {t.number for t in source.best_trials} if len(source.directions) > 1 else set()
    return lambda t: (t.number not in front, -t.values[0])


def same_space(a: StudySettings, b: StudySettings) -> bool:
    """Whether two studies draw the same parameters with the same meaning (their budgets may differ)."""
    return replace(a.space, epochs=b.space.epochs) == b.space


def plan_start_from(
    storage: optuna.storages.BaseStorage | None,
    name: str,
    source: str | None,
    top: int | None,
    settings: StudySettings,
    exists: bool,
) -> StartFrom | None:
    """What ``--start-from SOURCE [--start-top K]`` queues in study ``name``; None when nothing is to be queued.

    Checked before any data loads: the source exists in the same storage, was made by
    search.run with the same space and holds a complete trial; an existing study was started
    from the same source (a resume queues nothing again).
    """
    check_start_flags(name, source, top)
    if source is None:
        return None
    if exists:
        assert storage is not None
        recorded = optuna.load_study(study_name=name, storage=storage).user_attrs.get(STUDY_STARTED_FROM)
        if not isinstance(recorded, dict) or recorded.get("study") != source:
            began = f"from study {recorded.get('study')!r}" if isinstance(recorded, dict) else "from no other study"
            raise UsageError(
                f"study {name!r} exists and started {began}; --start-from only applies when a study is created "
                "(drop it to resume, or start another with --study NAME)"
            )
        return None  # queued when the study was created
    if storage is None or source not in study_names(storage):
        raise UsageError(f"--start-from {source}: no such study in this storage (--storage); see search.report")
    source_study = optuna.load_study(study_name=source, storage=storage)
    source_settings = study_settings(source_study)
    if source_settings is None:
        raise UsageError(f"--start-from {source}: that study was not made by search.run")
    if not same_space(source_settings, settings):
        raise UsageError(
            f"--start-from {source}: its space differs from this study's (strategies, --space, --fix or its "
            "generation): its parameters would not mean the same here"
        )
    ranked: dict[str, QueuedConfiguration] = {}
    for t in sorted(
        (t for t in source_study.get_trials(deepcopy=False, states=(COMPLETE,)) if t.values and _feasible(t)),
        key=_ranking(source_study),
    ):
        if THESIS_PRESET not in t.user_attrs:
            ranked.setdefault(_key(t.params), QueuedConfiguration(dict(t.params), t.number, t.values[0]))
    if not ranked:
        raise UserError(f"--start-from {source}: that study holds no complete searched trial yet")
    chosen = list(ranked.values())[:top] if top is not None else list(ranked.values())
    return StartFrom(source, tuple(chosen))
