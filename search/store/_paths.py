"""Where studies and their files live: the default storage, study names, and results folders.

A study's results (final retrains, comparisons, reports) and the artifact store live next
to the storage that holds the study, so two storages never write into each other's
folders:

- a SQLite file ``DIR/NAME.db`` keeps them in ``DIR/NAME/`` (the default storage
  ``studies/optuna.db`` in ``studies/optuna/``);
- a database server keeps them under ``studies/<backend>-<host>-<port>-<database>/``,
  unless ``--results-dir`` names another folder;
- ``--results-dir DIR`` chooses the folder for any storage.

Inside that folder each study has its own folder, named after the study when the name is
safe (:func:`study_name_problem` finds nothing), and ``study-<hash>`` otherwise: a name that another tool
put into a shared storage can never make a path that leaves the results folder.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from search.errors import UsageError

STUDIES_DIR = Path("studies")
DEFAULT_STORAGE = f"sqlite:///{STUDIES_DIR}/optuna.db"
# The storage URL when --storage is not given: a password then never stands on a command line
# (docs/distributed.md, beside ~/.pgpass).
STORAGE_URL_ENV = "SNN_SEARCH_STORAGE"
DEFAULT_STUDY = "fmnist-snn"
BEST_STUDY = "best"  # final and report: the study whose best trial is best (search.tuning._study.pick_study)
MAX_STUDY_NAME = 100
ARTIFACTS_FOLDER = "artifacts"
# Folder names inside a results folder that a study's own folder must not take.
RESERVED_FOLDERS = (ARTIFACTS_FOLDER,)


def study_name_problem(name: str) -> str | None:
    """Why ``name`` is not a safe study name, or None when it is."""
    if not name:
        return "a study name cannot be empty"
    if len(name) > MAX_STUDY_NAME:
        return f"a study name has at most {MAX_STUDY_NAME} characters, this one has {len(name)}"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return "a study name cannot hold control characters"
    if "/" in name or "\\" in name:
        return "a study name cannot hold '/' or '\\' (it names a folder)"
    if ".." in name:
        return "a study name cannot hold '..'"
    if name.startswith("."):
        return "a study name cannot start with '.'"
    if name != name.strip():
        return "a study name cannot start or end with a space"
    return None


def study_folder_name(name: str) -> str:
    """The folder of study ``name`` inside a results folder: the name itself when safe, else a hash of it."""
    if study_name_problem(name) is None and name not in RESERVED_FOLDERS:
        return name
    return "study-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "db"


def results_root(storage_url: str, results_dir: str | Path | None = None) -> Path:
    """The folder that holds the results and the artifact store of the studies of ``storage_url``."""
    if results_dir is not None:
        return Path(results_dir)
    from sqlalchemy.engine import make_url  # parsed here: the URL has already been checked

    parsed = make_url(storage_url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return STUDIES_DIR / "in-memory"
        database = Path(parsed.database)
        # NAME.db keeps NAME/ beside it; any other file name gets NAME.SUFFIX-results/, so that
        # optuna.db and optuna.sqlite in one folder never share (and overwrite) one results folder.
        if database.suffix == ".db":
            return database.parent / _slug(database.stem)
        return database.parent / f"{_slug(database.name)}-results"
    parts = [parsed.get_backend_name(), parsed.host or "localhost", str(parsed.port or ""), parsed.database or ""]
    return STUDIES_DIR / _slug("-".join(p for p in parts if p))


def study_dir(root: Path, study_name: str) -> Path:
    """The folder of one study's results inside ``root``; never outside it."""
    folder = root / study_folder_name(study_name)
    if folder.parent != root:  # cannot happen for a folder name without separators; kept as a guard
        raise UsageError(f"study {study_name!r} cannot be given a folder inside {root}/")
    return folder


def artifacts_dir(root: Path) -> Path:
    return root / ARTIFACTS_FOLDER
