"""Riding out a storage outage: every call to the database is retried with backoff for a bounded time.

A cluster's database restarts, fails over or drops connections.  Optuna's ``RDBStorage`` raises
on the first failed call (``StorageInternalError``, or SQLAlchemy's ``OperationalError``), so a
worker dies with a long traceback in the middle of a trial.  :class:`PatientRDBStorage` is Optuna's
``RDBStorage`` whose every public method retries such errors, waiting 0.5 s, then twice as long each
time (at most 8 s, with jitter so that many workers do not reconnect in step), for up to
``patience_s`` seconds in all (``search.run --storage-patience``, default
:data:`STORAGE_PATIENCE_S`).  The engine checks a connection before use (``pool_pre_ping``), so
once the server is back the next attempt gets a fresh connection.  It says on stderr when it
starts waiting and when the storage is back; past the patience it raises :class:`StorageLost`,
one line, and the worker stops.  The trial that worker held stays RUNNING without heartbeats, so
once the storage is back another worker (or the same command run again) marks it failed after
the grace period and runs it again (docs/distributed.md).

Only errors of the connection are retried, never a logical refusal (a duplicated study, a
finished trial).  A write whose commit reached the server just before the connection dropped is
sent again: Optuna's writes of one attribute or value are idempotent; a state write that had
reached the server is found done (``set_trial_state_values``, below); a trial created twice that
way stays RUNNING unclaimed, and the claim loop fails it after the grace period.
"""

from __future__ import annotations

import functools
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import optuna
from sqlalchemy import exc as sqlalchemy_exc

from search.errors import UserError
from search.store._patience import STORAGE_PATIENCE_S

FIRST_WAIT_S = 0.5
LONGEST_WAIT_S = 8.0
# What a lost connection looks like (Optuna wraps every SQLAlchemy error of a session in its
# StorageInternalError, whose cause is then one of these).
TRANSIENT = (
    sqlalchemy_exc.OperationalError,
    sqlalchemy_exc.InterfaceError,
    sqlalchemy_exc.DisconnectionError,
    sqlalchemy_exc.TimeoutError,
    # A session whose connection was invalidated mid-transaction refuses until rolled back; the retry
    # drops the session (remove_session), and the next one checks out a fresh connection.
    sqlalchemy_exc.PendingRollbackError,
)
# RDBStorage's methods that touch the database.
RETRIED = (
    "create_new_study",
    "delete_study",
    "set_study_user_attr",
    "set_study_system_attr",
    "get_study_id_from_name",
    "get_study_name_from_id",
    "get_study_directions",
    "get_study_user_attrs",
    "get_study_system_attrs",
    "get_all_studies",
    "create_new_trial",
    "set_trial_param",
    "get_trial_id_from_study_id_trial_number",
    "get_trial_param",
    "set_trial_state_values",
    "set_trial_intermediate_value",
    "set_trial_user_attr",
    "set_trial_system_attr",
    "get_trial",
    "get_trial_user_attrs",
    "get_trial_system_attrs",
    "get_all_trials",
    "get_best_trial",
    "record_heartbeat",
    # The private ones Optuna's own cache in front of an RDBStorage (_CachedStorage) calls.
    "_create_new_trial",
    "_set_trial_param",
    "_get_best_trial_id",
    "_get_trials",
    "_get_stale_trial_ids",
)
T = TypeVar("T")
_inside = threading.local()


class StorageLost(UserError):
    """The storage did not answer for the whole patience: this worker stops (exit 1, one line)."""


def is_transient(error: BaseException) -> bool:
    """True for an error of the connection (the server is down, restarting or dropped it), not for a
    refusal (no right to write, a value too long): those are raised at once."""
    if isinstance(error, optuna.exceptions.StorageInternalError):
        return error.__cause__ is not None and is_transient(error.__cause__)
    if isinstance(error, sqlalchemy_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, TRANSIENT)


def _landed(error: BaseException) -> bool:
    """A duplicate row refused: what a write sent again after its first commit landed meets."""
    cause = error.__cause__ if isinstance(error, optuna.exceptions.StorageInternalError) else error
    return isinstance(cause, sqlalchemy_exc.IntegrityError)


def _first_line(error: BaseException) -> str:
    """The driver's own error, in one line: ``OperationalError: connection failed: ...``."""
    if isinstance(error, sqlalchemy_exc.DBAPIError) and error.orig is not None:
        error = error.orig
    elif error.__cause__ is not None:
        error = error.__cause__
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


class PatientRDBStorage(optuna.storages.RDBStorage):
    """Optuna's RDBStorage, each database call retried through an outage of up to ``patience_s`` seconds."""

    patience_s: float = STORAGE_PATIENCE_S
    display_url: str = ""  # the URL with its password masked, for the messages
    _lock = threading.Lock()
    _outage_since: float | None = None  # shared by the threads of a process: one message per outage

    def _patiently(self, name: str, call: Callable[[], T]) -> T:
        if getattr(_inside, "retrying", False):  # a retried method calling another: the outer one retries
            return call()
        _inside.retrying = True
        try:
            return self._retry(name, call)
        finally:
            _inside.retrying = False

    def _retry(self, name: str, call: Callable[[], T]) -> T:
        start = time.monotonic()
        wait = FIRST_WAIT_S
        lost = False
        while True:
            try:
                result = call()
            except Exception as error:
                if lost and _landed(error):
                    # The first try's commit reached the server before its answer was lost: the row
                    # this try inserts again is there already.  Done (these writes return nothing).
                    self._note_recovery()
                    return None  # type: ignore[return-value]
                if not is_transient(error):
                    raise
                lost = True
                waited = time.monotonic() - start
                if waited + wait > self.patience_s:
                    raise StorageLost(
                        f"lost the storage {self.display_url}: no answer for {waited:.0f} s of "
                        f"--storage-patience {self.patience_s:.0f} s ({_first_line(error)}); this worker stops. "
                        "A trial it held is run again once the storage is back: rerun the same command"
                    ) from None
                self._note_outage(name, error)
                with self._lock:  # a session on a dead connection is dropped, the next checkout pings
                    self.remove_session()
                time.sleep(wait * random.uniform(0.5, 1.0))
                wait = min(wait * 2, LONGEST_WAIT_S)
                continue
            self._note_recovery()
            return result

    def set_trial_state_values(
        self, trial_id: int, state: optuna.trial.TrialState, values: Sequence[float] | None = None
    ) -> bool:
        """RDBStorage's, retried; a write that reached the server before its connection dropped is found
        done when sent again (Optuna refuses to change a finished trial) instead of raised."""
        lost_once = False
        method = optuna.storages.RDBStorage.set_trial_state_values

        def call() -> bool:
            nonlocal lost_once
            try:
                return method(self, trial_id, state, values)
            except Exception as error:
                lost_once = lost_once or is_transient(error)
                raise

        try:
            return self._patiently("set_trial_state_values", call)
        except optuna.exceptions.UpdateFinishedTrialError:
            if lost_once and state.is_finished() and self.get_trial(trial_id).state == state:
                return True
            raise

    def _note_outage(self, name: str, error: BaseException) -> None:
        with self._lock:
            if PatientRDBStorage._outage_since is None:
                PatientRDBStorage._outage_since = time.monotonic()
                print(
                    f"warning: the storage {self.display_url} does not answer ({_first_line(error)}, in {name}); "
                    f"retrying for up to {self.patience_s:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )

    def _note_recovery(self) -> None:
        if PatientRDBStorage._outage_since is None:
            return
        with self._lock:
            since = PatientRDBStorage._outage_since
            if since is not None:
                PatientRDBStorage._outage_since = None
                print(
                    f"the storage {self.display_url} answers again after {time.monotonic() - since:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )


def _patient(name: str) -> Callable[..., Any]:
    method = getattr(optuna.storages.RDBStorage, name)

    @functools.wraps(method)
    def call(self: PatientRDBStorage, *args: Any, **kwargs: Any) -> Any:
        return self._patiently(name, lambda: method(self, *args, **kwargs))

    return call


for _name in RETRIED:
    if _name not in vars(PatientRDBStorage):  # set_trial_state_values is written out in the class
        setattr(PatientRDBStorage, _name, _patient(_name))
