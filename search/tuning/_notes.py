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

from search.store import STARTED_FROM, THESIS_PRESET, mask_url
from search.training import PRECISION_NAMES
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
    started_from: list[tuple[str, int]] | None = None,
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
        f"- precision: **{PRECISION_NAMES[settings.precision]}** (`--precision`; docs/performance.md#precision)",
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
    if started_from:
        source = started_from[0][0]
        numbers = ", ".join(str(n) for _, n in started_from)
        lines += [
            "",
            "### Started from another study",
            f"The next {len(started_from)} trials repeat the best complete configurations of study `{source}` "
            f"(its trials {numbers}, best first; `--start-from`), trained again at this study's budget; each "
            "names its source in the user attribute `started_from`.",
        ]
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
    sources = [
        (str(t.user_attrs[STARTED_FROM].get("study")), int(t.user_attrs[STARTED_FROM].get("trial", -1)))
        for t in waiting
        if isinstance(t.user_attrs.get(STARTED_FROM), dict)
    ]
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
        started_from=sources,
    )
    optuna_dashboard.save_note(study, note)


FIDELITY_HEADING = "### Fidelity check"


def with_fidelity(note: str, warnings: list[str]) -> str:
    """``note`` with its fidelity section replaced by ``warnings`` (removed when there are none)."""
    head, found, rest = note.partition(FIDELITY_HEADING)
    if not found and not warnings:
        return note
    tail = ""
    if found:
        _, next_heading, after = rest.partition("\n### ")
        tail = f"\n### {after}" if next_heading else ""
    body = head.rstrip("\n") + ("\n" + tail if tail else "")
    if not warnings:
        return body
    section = [
        "",
        FIDELITY_HEADING,
        "Measured on the trials that ran every epoch (`python -m search.fidelity` shows every epoch):",
        "",
        *(f"- **warning:** {w}" for w in warnings),
    ]
    return body + "\n" + "\n".join(section)


def note_fidelity(study: optuna.Study, warnings: list[str]) -> None:
    """Write the fidelity check's warnings into the study note (a changed note only)."""
    note = optuna_dashboard.get_note(study)
    updated = with_fidelity(note, warnings)
    if updated != note:
        optuna_dashboard.save_note(study, updated)
