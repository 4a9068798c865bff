"""The fidelity check as a researcher reads it: every rank agreement of a study, its warnings and its figure.

The statistics live in :mod:`search.tuning._fidelity`; this adds what needs the final retrains
too (the search's validation ranking against the retrains' test means, read from the study's
results folder) and draws all of them in one figure, a point per ranking with its interval.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import optuna
import plotly.graph_objects as go

from search.errors import UsageError
from search.inspection._figures import FigureUnavailable
from search.inspection._report_html import Section, render_page
from search.retrain import RetrainResult
from search.tuning import (
    WEAK_TAU,
    Agreement,
    StudySettings,
    default_min_resource,
    epoch_agreement,
    fidelity_warnings,
    kendall,
    same_space,
    study_agreement,
    study_settings,
)

COMPLETE = optuna.trial.TrialState.COMPLETE


@dataclass(frozen=True)
class Fidelity:
    """The rank agreements of one study: epochs against the last, other studies, the retrains."""

    study: str
    epochs: list[Agreement]
    studies: list[Agreement]
    retrains: list[Agreement]  # the search's validation, then each epoch's, against the retrains' test means

    @property
    def rows(self) -> list[Agreement]:
        return [*self.epochs, *self.studies, *self.retrains]

    @property
    def warnings(self) -> list[str]:
        return fidelity_warnings(self.epochs)


def retrain_agreements(study: optuna.Study, folder: Path) -> list[Agreement]:
    """The search's rankings against the retrains' test means, at the budget most retrains share.

    First the trials' values (their best validation accuracy, what ``search.final`` ranks by), then
    each epoch's validation accuracy over the retrained trials that reached it: which epoch of a
    trial already ranks configurations as the full retrain does.  Reads every ``result.json``
    under ``folder``/final/ that belongs to this study; empty without any.
    """
    trials = {t.number: t for t in study.get_trials(deepcopy=False, states=(COMPLETE,)) if t.values}
    results = [
        r
        for path in sorted((folder / "final").glob("*/result.json"))
        if (r := RetrainResult.load(path)) is not None and r.study == study.study_name and r.trial in trials
    ]
    if not results:
        return []
    budgets = Counter((r.budget.train_size, r.budget.epochs, r.budget.tta, r.budget.precision) for r in results)
    shared = budgets.most_common(1)[0][0]
    chosen = {
        r.trial: r
        for r in results
        if (r.budget.train_size, r.budget.epochs, r.budget.tta, r.budget.precision) == shared
    }
    numbers = sorted(chosen)
    label = f"test mean, retrain ({chosen[numbers[0]].budget.describe()})"
    rows = [
        kendall(
            [trials[n].values[0] for n in numbers],
            [chosen[n].summary.mean for n in numbers],
            "validation (search)",
            label,
        )
    ]
    last = max(max(trials[n].intermediate_values, default=0) for n in numbers)
    for epoch in range(1, last + 1):
        reached = [n for n in numbers if epoch in trials[n].intermediate_values]
        rows.append(
            kendall(
                [trials[n].intermediate_values[epoch] for n in reached],
                [chosen[n].summary.mean for n in reached],
                f"search epoch {epoch}",
                label,
            )
        )
    return rows


def fidelity(
    study: optuna.Study,
    folder: Path | None = None,
    against: Sequence[optuna.Study] = (),
    pruner: tuple[str, int | None] | None = None,
) -> Fidelity:
    """Every rank agreement this study's records support (``against``: studies of the same space).

    ``pruner`` (name, first epoch) marks that pruner's rungs instead of the study's own: what a
    study searched without pruning says of a pruner it could have used.  A first epoch of None
    is the one ``search.run`` would give a new study of these epochs.
    """
    settings = study_settings(study)
    for other in against:
        theirs = study_settings(other)
        if settings is not None and theirs is not None and not same_space(theirs, settings):
            raise UsageError(
                f"--against {other.study_name}: its space differs from study {study.study_name!r}'s (strategies, "
                "--space, --fix or its generation): the same parameters would not be the same configuration"
            )
    if pruner is not None:
        settings = _with_pruner(study.study_name, settings, *pruner)
    return Fidelity(
        study=study.study_name,
        epochs=epoch_agreement(study, settings),
        studies=[study_agreement(other, study) for other in against],
        retrains=retrain_agreements(study, folder) if folder is not None else [],
    )


def _with_pruner(name: str, settings: StudySettings | None, pruner: str, first: int | None) -> StudySettings:
    """The study's settings with another pruner (``search.fidelity --pruner``), refused where it cannot apply."""
    if settings is None:
        raise UsageError(f"--pruner: study {name!r} was not made by search.run, so its epochs and rungs are unknown")
    if settings.multi_objective:
        raise UsageError(f"--pruner: study {name!r} has two objectives, and Optuna prunes none of its trials")
    if first is None:
        first = default_min_resource(settings.space.epochs)
    if first >= settings.space.epochs:
        raise UsageError(
            f"--min-resource {first} is not below the {settings.space.epochs} epochs of study {name!r}: "
            "a pruner could prune only after the last"
        )
    return replace(settings, pruner=pruner, min_resource=first)


def fidelity_figure(result: Fidelity) -> go.Figure:
    """Kendall's tau with its 95% interval, one point per ranking; the pruner's rungs in orange."""
    rows = [a for a in result.rows if a.tau == a.tau]  # drop nan
    if not rows:
        raise FigureUnavailable(
            "No ranking to compare yet: it needs complete trials that ran every epoch (a study searched with "
            "--pruner none measures it best), another study of the same space, or final retrains."
        )
    labels = [f"{a.low} → {a.high}" if not a.low.startswith("epoch") else a.low for a in rows]
    colours = ["#d95f02" if a.rung else "#1b6ca8" for a in rows]
    fig = go.Figure(
        go.Scatter(
            x=[a.tau for a in rows],
            y=labels,
            mode="markers",
            marker={"color": colours, "size": 10},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [0 if a.upper != a.upper else a.upper - a.tau for a in rows],
                "arrayminus": [0 if a.lower != a.lower else a.tau - a.lower for a in rows],
            },
            customdata=[[a.n, a.high, "pruner's rung" if a.rung else ""] for a in rows],
            hovertemplate="%{y} predicts %{customdata[1]}: tau %{x:.2f} over %{customdata[0]} configurations"
            "<br>%{customdata[2]}<extra></extra>",
            showlegend=False,
        )
    )
    fig.add_vline(x=WEAK_TAU, line_dash="dot", line_color="grey", annotation_text=f"weak below {WEAK_TAU}")
    fig.update_layout(
        title=f"Does a cheap ranking predict the end? Kendall's tau, 95% interval (study {result.study})",
        xaxis={"title": "Kendall's tau-b (1: the same order)", "range": [-1.05, 1.05]},
        yaxis={"autorange": "reversed"},
        height=max(320, 40 * len(rows) + 140),
        margin={"l": 260},
    )
    return fig


def fidelity_section(result: Fidelity) -> Section:
    """The report's section: the figure, what it means, and any rung's warning in words."""
    explanation = (
        "Kendall's tau-b between a cheap ranking of the configurations and the one it should predict, with a "
        "95% interval: each epoch's validation accuracy against the last epoch's (over the complete trials that "
        "ran every epoch; orange: an epoch where the pruner can stop a trial), other studies of the same space, "
        f"and the final retrains' test means. Below {WEAK_TAU} a ranking barely predicts the end. In a pruned "
        "study the trials that ran every epoch already passed the rungs, which understates their agreement: "
        "a study searched with --pruner none measures it (docs/search.md)."
    )
    warnings = result.warnings
    if warnings:
        explanation += " Warning: " + "; ".join(warnings) + "."
    section = Section("fidelity", "Fidelity: does an early epoch rank as the last does?", explanation)
    try:
        section.figures.append(("fig-fidelity", fidelity_figure(result)))
    except FigureUnavailable as reason:
        section.unavailable = f"Not available: {reason}"
    return section


def fidelity_page(result: Fidelity) -> str | None:
    """A page with the fidelity figure alone (``search.fidelity``); None when nothing has spread."""
    section = fidelity_section(result)
    if section.unavailable:
        return None
    now = datetime.datetime.now(datetime.UTC)
    return render_page(
        f"Study {result.study}: fidelity check",
        "",
        [section],
        f"Written {now:%Y-%m-%d %H:%M} UTC by python -m search.fidelity.",
    )
