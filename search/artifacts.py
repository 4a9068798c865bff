"""The project's Optuna artifact store: files that optuna-dashboard offers for download.

One file-system store, ``studies/artifacts/``, serves every study of the default
storage; ``python -m search.dashboard`` serves it and ``search.final`` uploads into it.
The files are stored under opaque artifact ids; the storage records their names.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.artifacts import FileSystemArtifactStore, upload_artifact

from search.errors import UserError
from search.storage import STUDIES_DIR

ARTIFACTS_DIR = STUDIES_DIR / "artifacts"


def open_artifact_store(path: Path = ARTIFACTS_DIR) -> FileSystemArtifactStore:
    """The store at ``path``, its folder created if needed."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create the artifact folder {path}/: {error.strerror}") from None
    return FileSystemArtifactStore(base_path=path)


def upload_study_files(study: optuna.Study, files: list[Path],
                       store: FileSystemArtifactStore | None = None) -> dict[str, str]:
    """Upload ``files`` as artifacts of ``study``; {file name: artifact id}.

    Study artifacts, not trial artifacts: Optuna refuses to change a finished trial
    (``UpdateFinishedTrialError``), and the trial a final retrain starts from has long
    finished.  The caller records which trial the files belong to.
    """
    store = store or open_artifact_store()
    return {path.name: upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=study)
            for path in files}
