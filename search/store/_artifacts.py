"""The project's Optuna artifact store: files that optuna-dashboard offers for download.

One file-system store per storage, ``<results folder>/artifacts/`` (search.store._paths), serves
every study of that storage; ``python -m search.dashboard`` serves it and ``search.final``
uploads into it.  The files are stored under opaque artifact ids; the storage records
their names.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import optuna
from optuna.artifacts import FileSystemArtifactStore, upload_artifact

from search.errors import UserError

MIMETYPES = {".json": "application/json", ".pt": "application/octet-stream", ".html": "text/html"}


def open_artifact_store(path: Path) -> FileSystemArtifactStore:
    """The store at ``path``, its folder created if needed."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create the artifact folder {path}/: {error.strerror}") from None
    return FileSystemArtifactStore(base_path=path)


def upload_study_files(study: optuna.Study, files: dict[str, Path], store: FileSystemArtifactStore) -> dict[str, str]:
    """Upload ``files`` ({name shown in the dashboard: path}) as artifacts of ``study``; {name: artifact id}.

    Study artifacts, not trial artifacts: Optuna refuses to change a finished trial
    (``UpdateFinishedTrialError``), and the trial a final retrain starts from has long
    finished; the names carry the trial and the budget instead.
    """
    ids = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in files.items():
            named = Path(tmp) / name  # the dashboard shows the uploaded file's own name
            shutil.copyfile(path, named)
            ids[name] = upload_artifact(
                artifact_store=store,
                file_path=str(named),
                study_or_trial=study,
                mimetype=MIMETYPES.get(named.suffix, "application/octet-stream"),
            )
    return ids
