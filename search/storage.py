"""Opening Optuna storages from a URL, with errors a user can act on and passwords masked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import optuna
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from search.errors import UsageError, UserError

STUDIES_DIR = Path("studies")
DEFAULT_STORAGE = f"sqlite:///{STUDIES_DIR}/optuna.db"
DEFAULT_STUDY = "fmnist-snn"


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***, safe to print, log or store."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<malformed storage URL>"


def sqlite_path(url: str) -> Path | None:
    """The database file of a sqlite URL (None for other schemes or in-memory sqlite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def open_storage(url: str, *, create: bool, **rdb_options: Any) -> optuna.storages.BaseStorage:
    """An Optuna RDB storage for ``url``.

    ``create=False`` (final, report) refuses a SQLite file that does not exist rather
    than creating an empty one.  ``rdb_options`` go to ``optuna.storages.RDBStorage``
    (heartbeats, retry callback).
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise UsageError(f"malformed storage URL {mask_url(url)!r}; expected e.g. {DEFAULT_STORAGE}") from None
    path = sqlite_path(url)
    if path is not None:
        if not create and not path.is_file():
            raise UserError(f"storage {mask_url(url)} does not exist (no file {path})")
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise UserError(f"cannot create the folder of storage {mask_url(url)}: {error.strerror}") from None
            if not os.access(path.parent, os.W_OK):
                raise UserError(f"cannot write to {path.parent}/ (storage {mask_url(url)})")
    try:
        return optuna.storages.RDBStorage(str(parsed.render_as_string(hide_password=False)), **rdb_options)
    except Exception as error:  # sqlalchemy and driver errors come in many classes
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"cannot open storage {mask_url(url)}: {detail.replace(url, mask_url(url))}") from None


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    return [s.study_name for s in storage.get_all_studies()]


def load_study(storage: optuna.storages.BaseStorage, name: str, url: str) -> optuna.Study:
    """An existing study; a clear error listing the studies there when ``name`` is not one."""
    names = study_names(storage)
    if name not in names:
        known = ", ".join(names) if names else "none"
        raise UserError(f"no study {name!r} in {mask_url(url)}; studies there: {known}")
    return optuna.load_study(study_name=name, storage=storage)
