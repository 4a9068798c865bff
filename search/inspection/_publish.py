"""What search.run and search.final add to the study for optuna-dashboard: downloadable files and plots.

While a search runs, :func:`publish_search` keeps two figures on the study's page that the
dashboard's own plots cannot draw: validation accuracy by strategy with the thesis's recipes
marked, and accuracy against compute energy per image in microjoules (the commands' unit, and
the unit of the energy objective that the dashboard's Pareto plot shows, from settings format 3).

Each retrained trial's ``result.json`` and ``model.pt`` become study artifacts named after
the trial and budget (``trial-12-6ep-60000img.result.json``) in the artifact store that
``python -m search.dashboard`` serves; the retrain's learning curves and confusion matrix,
and a comparison's forest plot, become plotly figures on the study's page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna_dashboard import get_note, save_note, save_plotly_graph_object

from search.inspection._energy_figures import accuracy_energy_figure, validation_size
from search.inspection._figures import (
    FigureUnavailable,
    comparison_thesis_figures,
    confusion_matrix,
    forest_plot,
    learning_curves,
    param_importances,
    strategy_accuracy,
)
from search.retrain import RetrainResult
from search.store import open_artifact_store, upload_study_files
from search.tuning import study_settings

FINAL_FIGURE_IDS = ("final-learning-curves", "final-confusion-matrix")
SEARCH_FIGURE_IDS = ("search-by-strategy", "search-accuracy-energy", "search-importance")
COMPARISON_FIGURE_ID = "final-comparison"
FINAL_ARTIFACTS_ATTR = "final_artifacts"
RETRAIN_NOTE_TITLE = "Final retrain"  # a trial note's heading per retrain folder: "### Final retrain trial-2-..."
DASHBOARD_HEIGHT = 450


def publish_retrain(study: optuna.Study, result: RetrainResult, folder: Path, artifacts: Path) -> str:
    """Upload one retrained trial's files and save its figures; a line saying where they went.

    The artifact ids are recorded in the study's user attribute ``final_artifacts`` under the
    folder name (trial and budget).  A later retrain of another trial or budget adds its own
    files; the figures show the latest retrain.
    """
    name = folder.name
    files = {f"{name}.result.json": folder / "result.json"}
    if (folder / "model.pt").is_file():
        files[f"{name}.model.pt"] = folder / "model.pt"
    ids = upload_study_files(study, files, open_artifact_store(artifacts))
    note_retrain_files(study, result.trial, name, ids)
    recorded = dict(study.user_attrs.get(FINAL_ARTIFACTS_ATTR, {}))
    recorded[name] = {"trial": result.trial, "budget": result.budget.describe(), **ids}
    study.set_user_attr(FINAL_ARTIFACTS_ATTR, recorded)
    budget = result.budget.describe()
    curves = learning_curves([r.to_dict() for r in result.runs], budget)
    curves.update_layout(title=f"Final retrain of trial {result.trial}: learning curves ({budget})")
    matrix = confusion_matrix(result.runs[0].confusion_matrix, list(result.runs[0].per_class_accuracy))
    matrix.update_layout(
        title=f"Final retrain of trial {result.trial}: confusion matrix (test set, seed {result.runs[0].seed})"
    )
    for figure, graph_id in zip((curves, matrix), FINAL_FIGURE_IDS, strict=True):
        figure.update_layout(height=DASHBOARD_HEIGHT)  # the dashboard's cards clip taller figures
        save_plotly_graph_object(study, figure, graph_object_id=graph_id)
    return (
        f"attached {', '.join(ids)} to study {study.study_name!r} (artifact store {artifacts}/) "
        "with its learning curves and confusion matrix: python -m search.dashboard shows them"
    )


def note_retrain_files(study: optuna.Study, number: int, folder: str, ids: dict[str, str]) -> None:
    """Name a retrain's files, with download links, in the note of the trial it retrained.

    Optuna and optuna-dashboard refuse to attach an artifact to a finished trial (``UpdateFinishedTrialError``;
    the dashboard's own upload answers "The trial is already finished"), so the files are study artifacts.
    A trial's note lives in the study's attributes and can change after the trial ends: the trial's page
    lists them there, under a heading per retrain folder; the rest of the note (a thesis recipe's) stays.
    """
    trial = optuna.Trial(study, study.get_trials(deepcopy=False)[number]._trial_id)
    title = f"{RETRAIN_NOTE_TITLE} {folder}"
    intro, *sections = ("\n\n" + get_note(trial)).split("\n\n### ")
    links = [f"- [{name}](/artifacts/{study._study_id}/{artifact_id})" for name, artifact_id in ids.items()]
    sections = [part for part in sections if part.split("\n")[0] != title]
    sections.append("\n".join([title, "", "Study artifacts, to download:", *links]))
    save_note(trial, "\n\n### ".join([intro.strip("\n"), *sections]).lstrip("\n"))


def publish_comparison(study: optuna.Study, record: dict[str, Any], path: Path, artifacts: Path) -> str:
    """Upload a comparison's JSON and save its forest plot on the study's page."""
    ids = upload_study_files(study, {path.name: path}, open_artifact_store(artifacts))
    figure = forest_plot(record["rows"], comparison_thesis_figures(record), record["budget"])
    save_plotly_graph_object(study, figure, graph_object_id=COMPARISON_FIGURE_ID)
    return f"attached {', '.join(ids)} and the forest plot to study {study.study_name!r}"


def publish_search(study: optuna.Study) -> None:
    """Save (or refresh) the search's figures on the study's page; a figure with nothing to draw yet is left out."""
    settings = study_settings(study)
    trials = study.get_trials(deepcopy=False)
    builders = (
        lambda: strategy_accuracy(trials, settings.space.strategies if settings else ()),
        lambda: accuracy_energy_figure(
            trials, budget_pj=settings.max_energy_pj if settings else None, val_size=validation_size(study)
        ),
        lambda: param_importances(study),  # the dashboard's own chart does not name its evaluator: this one does
    )
    for build, graph_id in zip(builders, SEARCH_FIGURE_IDS, strict=True):
        try:
            figure = build()
        except FigureUnavailable:
            continue
        figure.update_layout(height=DASHBOARD_HEIGHT)
        save_plotly_graph_object(study, figure, graph_object_id=graph_id)
