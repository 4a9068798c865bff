"""What search.final adds to the study for optuna-dashboard: downloadable files and plots.

``result.json`` and ``model.pt`` become artifacts of the study (in the artifact store
that ``python -m search.dashboard`` serves), and the retrain's learning curves and
confusion matrix become plotly figures on the study's page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna_dashboard import save_plotly_graph_object

from search.artifacts import ARTIFACTS_DIR, upload_study_files
from search.data import CLASSES
from search.figures import confusion_matrix, learning_curves

FINAL_FIGURE_IDS = ("final-learning-curves", "final-confusion-matrix")
DASHBOARD_HEIGHT = 450


def publish_final_result(study: optuna.Study, trial: optuna.trial.FrozenTrial, out_dir: Path,
                         record: dict[str, Any]) -> str:
    """Upload the final files and save the figures; returns a line saying where they went.

    The artifact ids are recorded in the study's user attribute ``final_artifacts``
    with the trial they belong to (Optuna cannot attach files to a finished trial).
    A later retrain replaces the figures; its files are added beside the earlier ones.
    """
    ids = upload_study_files(study, [out_dir / "result.json", out_dir / "model.pt"])
    study.set_user_attr("final_artifacts", {"trial": trial.number, "store": str(ARTIFACTS_DIR), **ids})
    curves = learning_curves(record["runs"])
    curves.update_layout(title=f"Final retrain of trial {trial.number}: learning curves (all training images)")
    matrix = confusion_matrix(record["confusion_matrix"], CLASSES)
    matrix.update_layout(title=f"Final retrain of trial {trial.number}: confusion matrix (test set)")
    for figure, graph_id in zip((curves, matrix), FINAL_FIGURE_IDS, strict=True):
        figure.update_layout(height=DASHBOARD_HEIGHT)  # the dashboard's cards clip taller figures
        save_plotly_graph_object(study, figure, graph_object_id=graph_id)
    return (f"attached {', '.join(ids)} to study {study.study_name!r} (artifact store {ARTIFACTS_DIR}/) "
            "with its learning curves and confusion matrix: python -m search.dashboard shows them")
