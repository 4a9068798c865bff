"""Opening Optuna storages from a URL, with errors a user can act on and passwords masked.

Local SQLite files are safe for several worker processes at once (``--workers K``):
every transaction on a file opened for writing starts with ``BEGIN IMMEDIATE``, so
transactions that read, then write (popping a queued trial, finishing a trial) run one
at a time, and a worker waits up to ``SQLITE_BUSY_TIMEOUT_S`` for the lock instead of
failing with "database is locked".  Without that, two workers can both pop the same
queued trial (SQLite ignores ``SELECT ... FOR UPDATE``).  docs/distributed.md says
more, with the measurement.

Servers (PostgreSQL, MySQL) get a connect timeout, so an unreachable one fails within
seconds, and a connection check before use, so a worker survives a dropped connection
between trials.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from search.errors import UsageError, UserError
from search.store._outage import PatientRDBStorage
from search.store._paths import DEFAULT_STORAGE
from search.store._patience import STORAGE_PATIENCE_S

SQLITE_BUSY_TIMEOUT_S = 300
CONNECT_TIMEOUT_S = 5
SERVER_BACKENDS = {"postgresql": 5432, "mysql": 3306}
_CREATION_RACE = re.compile(r"UNIQUE constraint failed|already exists|duplicate key", re.IGNORECASE)
OPTUNA_TABLES = ("studies", "trials", "version_info")  # what every Optuna storage holds
# The Python package behind each of SQLAlchemy's database drivers, for a message a user can act on.
DRIVER_PACKAGES = {
    "psycopg": "'psycopg[binary]'",
    "psycopg2": "psycopg2-binary",
    "mysqldb": "mysqlclient (or use mysql+pymysql://... with pip install PyMySQL)",
    "pymysql": "PyMySQL",
    "mysqlconnector": "mysql-connector-python",
}
EXAMPLES = f"{DEFAULT_STORAGE} or postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE"


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***, safe to print, log or store."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # Unparseable: still hide whatever stands where a password would.
        return re.sub(r"(://[^/@]*?:)[^/]*@", r"\1***@", url)


def _mask_text(text: str, url: str) -> str:
    """``text`` with the URL and its password masked wherever they occur."""
    text = text.replace(url, mask_url(url))
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text


def parse_storage_url(url: str) -> URL:
    """The parsed URL; a usage error for a malformed URL or one whose database or driver is unknown here."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise UsageError(f"malformed storage URL {mask_url(url)!r}; expected e.g. {EXAMPLES}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise UsageError(
            f"storage {url} is an in-memory SQLite database: it would lose every trial when the "
            f"command ends; give a file, e.g. {DEFAULT_STORAGE}"
        )
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise UsageError(
            f"unsupported storage scheme {parsed.drivername!r} in {mask_url(url)}; "
            f"use sqlite:///FILE, postgresql+psycopg://... or another SQLAlchemy database URL"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError:
        package = DRIVER_PACKAGES.get(parsed.get_driver_name())
        hint = f"pip install {package}" if package else f"install SQLAlchemy's {parsed.get_driver_name()} driver"
        if parsed.get_backend_name() == "postgresql":
            hint = "pip install -e '.[postgres]', and a URL postgresql+psycopg://..."
        raise UsageError(f"the driver for storage scheme {parsed.drivername!r} is not installed: {hint}") from None
    return parsed


def sqlite_path(url: str) -> Path | None:
    """The database file of a sqlite URL (None for other schemes or in-memory sqlite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def is_new_sqlite_file(url: str) -> bool:
    """True when ``url`` names a SQLite file that does not exist yet."""
    path = sqlite_path(url)
    return path is not None and not path.exists()


def check_folder_writable(folder: Path, purpose: str) -> None:
    """Raise unless a file can be written in ``folder`` (created with its parents if missing); leaves nothing behind.

    It tries: permission bits say nothing to root, and a read-only or virtual file system
    (``/proc``, ``/sys``, a read-only mount) refuses only when written to.  Folders it had
    to create for the try are removed again.
    """
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"cannot create {folder}/ for {purpose}: {existing} is a file, not a folder")
    created = [p for p in (folder, *folder.parents) if p != existing and existing in p.parents]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise UserError(f"cannot write to {existing}/ ({purpose}): {reason}") from None
    finally:
        for path in created:  # deepest first
            with contextlib.suppress(OSError):
                path.rmdir()


def check_file_writable(path: Path, purpose: str) -> None:
    """Raise unless ``path`` can be written: not a folder, in a folder that can be written (or created)."""
    if path.is_dir():
        raise UserError(f"cannot write {purpose} to {path}: it is a folder")
    check_folder_writable(path.parent, purpose)


def check_can_create(url: str) -> None:
    """Raise unless the SQLite file of ``url`` could be created; creates nothing itself.

    A new file is made only where the user clearly asked for one: the default storage, or a
    folder that exists.  ``sqlite:///studeis/optuna.db`` (a typo) would otherwise start a
    new, empty storage and train into it without a word.
    """
    path = sqlite_path(url)
    if path is None:
        return
    if not path.parent.is_dir() and path != sqlite_path(DEFAULT_STORAGE):
        raise UsageError(
            f"storage {mask_url(url)} does not exist, and neither does its folder {path.parent}/ (a typo?); "
            f"to start a new storage there, create the folder first"
        )
    check_folder_writable(path.parent, f"storage {mask_url(url)}")


def _check_sqlite_file(url: str, path: Path, *, create: bool, writable: bool) -> None:
    if not create and not path.is_file():
        raise UserError(
            f"storage {mask_url(url)} does not exist (no file {path}); python -m search.run "
            + ("" if url == DEFAULT_STORAGE else f"--storage {mask_url(url)} ")
            + "creates it with a first study"
        )
    if path.exists() and not path.is_file():
        raise UserError(f"storage {mask_url(url)}: {path} is not a file")
    if not writable:
        return
    if create and not path.exists():
        check_can_create(url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(f"cannot create the folder of storage {mask_url(url)}: {error.strerror}") from None
        return
    if not os.access(path, os.W_OK):
        raise UserError(f"storage {mask_url(url)} is read-only (no write permission on {path})")
    # SQLite writes a journal file beside the database.
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise UserError(f"storage {mask_url(url)}: cannot write to its folder {path.parent}/ (SQLite needs it)")


def _serialize_transactions(storage: optuna.storages.RDBStorage) -> None:
    """Start every transaction with BEGIN IMMEDIATE (SQLAlchemy's recipe for pysqlite transactions)."""

    @event.listens_for(storage.engine, "begin")
    def begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _open_error(url: str, parsed: URL, error: Exception) -> UserError:
    """A one-line error naming the database (host and port for servers), password masked."""
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    detail = re.sub(r"^\([\w.]+\)\s*", "", detail)  # "(psycopg.OperationalError) ..."
    detail = _mask_text(detail, url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if "not a database" in detail or "malformed" in detail:
            return UserError(
                f"storage {mask_url(url)} is not a readable SQLite database "
                f"(corrupt, or another kind of file): {detail}"
            )
        return UserError(f"cannot open storage {mask_url(url)}: {detail}")
    if backend in SERVER_BACKENDS:
        host = parsed.host or "localhost"
        port = parsed.port or SERVER_BACKENDS[backend]
        reason = re.sub(r"^connection failed:\s*", "", detail)
        reason = re.sub(r"^connection to server at .*?, port \d+ failed:\s*", "", reason)
        reason = re.sub(r"^FATAL:\s*", "", reason)
        return UserError(f"cannot connect to {backend} at {host}:{port} ({mask_url(url)}): {reason}")
    return UserError(f"cannot open storage {mask_url(url)}: {detail}")


def _check_optuna_tables(url: str, parsed: URL, engine_kwargs: dict[str, Any]) -> None:
    """Refuse, changing nothing, a database that does not hold Optuna's tables.

    Optuna's ``RDBStorage`` creates its tables, and stamps its schema version, in whatever
    database it is pointed at; a command that only reads (final, report, dashboard, pruners)
    must not do that to a file or database it did not make.
    """
    engine = create_engine(parsed.render_as_string(hide_password=False), **engine_kwargs)
    try:
        tables = set(inspect(engine).get_table_names())
    except Exception as error:  # sqlalchemy and driver errors come in many classes
        raise _open_error(url, parsed, error) from None
    finally:
        engine.dispose()
    missing = [t for t in OPTUNA_TABLES if t not in tables]
    if not tables:
        raise UserError(
            f"storage {mask_url(url)} is an empty database, not an Optuna storage; nothing was changed "
            "(python -m search.run creates studies)"
        )
    if missing:
        raise UserError(
            f"storage {mask_url(url)} is not an Optuna storage: it holds other tables "
            f"({', '.join(sorted(tables)[:5])}) and no {', '.join(missing)}; nothing was changed"
        )


def open_storage(
    url: str,
    *,
    create: bool,
    writable: bool | None = None,
    patience_s: float = STORAGE_PATIENCE_S,
    **rdb_options: Any,
) -> optuna.storages.RDBStorage:
    """An Optuna RDB storage for ``url``.

    ``create=True`` (search.run) creates a missing SQLite file and its folder, and Optuna's tables;
    ``create=False`` (final, report, dashboard, pruners) refuses a SQLite file that does not exist
    rather than creating an empty one, and a database without Optuna's tables rather than creating
    them: a command that only reads never changes a storage it did not make.  ``writable``
    (default: ``create``) checks up front that a SQLite file can be written and serializes its
    transactions for several workers.
    ``rdb_options`` go to ``optuna.storages.RDBStorage`` (heartbeats, retry callback).  Every call
    to the database is retried through an outage of up to ``patience_s`` seconds
    (:class:`search.store._outage.PatientRDBStorage`).
    """
    writable = create if writable is None else writable
    parsed = parse_storage_url(url)
    backend = parsed.get_backend_name()
    engine_kwargs: dict[str, Any] = {}
    path = sqlite_path(url)
    if path is not None:
        _check_sqlite_file(url, path, create=create, writable=writable)
        connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        if writable:
            connect_args["isolation_level"] = None  # the driver's own BEGIN off; ours comes from the event
        engine_kwargs["connect_args"] = connect_args
    elif backend in SERVER_BACKENDS:
        engine_kwargs["pool_pre_ping"] = True
        if "connect_timeout" not in parsed.query:
            engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    if not create:
        _check_optuna_tables(url, parsed, engine_kwargs)
    for attempt in range(3):
        try:
            with warnings.catch_warnings():  # heartbeat_interval is "experimental" in Optuna 5
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = PatientRDBStorage(
                    parsed.render_as_string(hide_password=False),
                    engine_kwargs=engine_kwargs,
                    skip_table_creation=not create,
                    **rdb_options,
                )
            break
        except Exception as error:  # sqlalchemy and driver errors come in many classes
            # Processes that open a new database at the same moment race to create Optuna's
            # tables; the loser sees the winner's rows and succeeds when it tries again.
            if attempt < 2 and _CREATION_RACE.search(str(error)):
                time.sleep(0.5 + attempt)
                continue
            raise _open_error(url, parsed, error) from None
    storage.patience_s = patience_s
    storage.display_url = mask_url(url)
    if path is not None and writable:
        _serialize_transactions(storage)
    return storage


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    return [s.study_name for s in storage.get_all_studies()]


def load_study(storage: optuna.storages.BaseStorage, name: str, url: str) -> optuna.Study:
    """An existing study; a clear error listing the studies there when ``name`` is not one."""
    names = study_names(storage)
    if name not in names:
        known = ", ".join(names) if names else "none"
        raise UserError(f"no study {name!r} in {mask_url(url)}; studies there: {known}")
    return optuna.load_study(study_name=name, storage=storage)
