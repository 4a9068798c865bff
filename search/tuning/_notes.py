"""The study note that optuna-dashboard shows on a study's page, written when search.run creates a study.

It states what the numbers of the study mean: the objective, the budget, the pruner
and sampler, the data split, the thesis recipes queued first and the search space.
Storage URLs in it are masked: a note is readable by anyone who can open the dashboard.
"""

from __future__ import annotations

import datetime
from typing import Any

import optuna
import optuna_dashboard

from search.store import THESIS_PRESET, mask_url
from search.tuning._settings import DATA_ATTR, SpaceSettings, StudySettings
from search.tuning._space import describe_space


def _counts(counts: Any) -> str:
    if isinstance(counts, dict):
        counts = list(counts.values())
    return ", ".join(str(c) for c in counts) if counts else "-"


def space_as_list(space: SpaceSettings) -> list[str]:
    """:func:`describe_space` as a Markdown list (a code block would not wrap its long lines)."""
    items = []
    for line in describe_space(space).splitlines():
        indent = "  " if line.startswith(" ") else ""
        items.append(f"{indent}- {line.strip()}")
    return items


def study_note(
    study_name: str,
    settings: StudySettings,
    data: dict[str, Any],
    *,
    storage_url: str | None,
    pruner: str,
    sampler: str,
    thesis_presets: list[str],
    created: datetime.datetime,
) -> str:
    """The note as Markdown."""
    budget = settings.space.epochs
    subset = " (a stratified subset, `--train-size`)" if settings.train_size else ""
    lines = [
        f"## {study_name}",
        "",
        f"Created {created:%Y-%m-%d %H:%M} UTC by `python -m search.run`. "
        "Objective: **validation accuracy**, maximised: each trial's best per-epoch accuracy on the "
        "held-out validation images (the test images are never used in the search).",
        "",
    ]
    if storage_url is not None:
        lines += [f"Storage: `{mask_url(storage_url)}`", ""]
    lines += [
        "### Budget",
        f"- at most **{budget} epoch{'s' if budget != 1 else ''}** per trial; a pruned trial stops earlier",
        f"- training images per epoch: **{data.get('train_size', 0):,}**{subset}",
        "- number of trials: chosen per run (`--trials N` runs until the study holds N finished trials)",
        "",
        "### Pruner and sampler",
        f"- pruner: **{settings.pruner_text}** ({pruner}); each trial reports validation accuracy after every epoch",
        f"- sampler: **{settings.sampler}** ({sampler}), seed {settings.seed if settings.seed is not None else 'none'}",
        "",
        "### Data split",
        f"- source: {data.get('source', '-')}",
        f"- train: {data.get('train_size', 0):,} images, validation: {data.get('val_size', 0):,} images, "
        f"split seed {data.get('split_seed', '-')}",
        f"- train images per class: {_counts(data.get('train_class_counts'))}",
        f"- validation images per class: {_counts(data.get('val_class_counts'))}",
        "",
        "### The thesis's recipes",
    ]
    if thesis_presets:
        lines.append(
            f"The first {len(thesis_presets)} trials are the thesis's own recipes at this budget "
            f"(user attribute `thesis_preset`): {', '.join(thesis_presets)}. They are the yardstick: "
            "they report every epoch but are never pruned."
        )
    else:
        lines.append("Not queued in this study (`--no-thesis`, or none of its strategies is searched).")
    lines += [
        "",
        "### Search space",
        "Only the parameters a trial's strategy uses are sampled.",
        "",
        *space_as_list(settings.space),
        "",
        "Results of `python -m search.final` (test accuracy, `result.json`, `model.pt`, figures) are added "
        "to this study as user attribute `final_result`, study artifacts and plots.",
    ]
    return "\n".join(lines)


def write_study_note(study: optuna.Study, settings: StudySettings, storage: object) -> None:
    """Save the note of a study just created (its ``data`` user attribute and queued trials included)."""
    waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    presets = [t.user_attrs[THESIS_PRESET] for t in waiting if THESIS_PRESET in t.user_attrs]
    url = getattr(storage, "url", None)
    note = study_note(
        study.study_name,
        settings,
        study.user_attrs.get(DATA_ATTR, {}),
        storage_url=url if isinstance(url, str) else None,
        pruner=type(study.pruner).__name__,
        sampler=type(study.sampler).__name__,
        thesis_presets=presets,
        created=datetime.datetime.now(datetime.UTC),
    )
    optuna_dashboard.save_note(study, note)
