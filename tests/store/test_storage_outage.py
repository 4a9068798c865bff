"""A storage that stops answering: every call retried with backoff for a bounded time, then one line.

The unit tests drive the retry with a call that fails on purpose; the slow test restarts and
stops a real PostgreSQL (Debian's cluster, as root) in the middle of a two-worker search.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import optuna
import pytest
from sqlalchemy import exc as sqlalchemy_exc

from search.store import StorageLost, open_storage
from search.store import _outage as outage
from support import finish, start_module, trials, unique, wait_for


class OperationalError(Exception):
    """What the driver (psycopg) raises when the server goes away."""


def _dropped() -> Exception:
    driver_error = OperationalError("server closed the connection unexpectedly")
    return sqlalchemy_exc.OperationalError("SELECT 1", {}, driver_error)


@pytest.fixture
def storage(tmp_path, monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr(outage.time, "sleep", sleeps.append)
    opened = open_storage(f"sqlite:///{tmp_path / 'o.db'}", create=True, patience_s=20)
    opened.sleeps = sleeps  # type: ignore[attr-defined]
    return opened


def test_a_dropped_connection_is_retried_with_growing_waits_and_said_once(storage, capsys):
    failures = iter([_dropped(), _dropped(), _dropped()])

    def flaky() -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return "answer"

    assert storage._patiently("get_all_trials", flaky) == "answer"
    waits = storage.sleeps
    assert len(waits) == 3
    assert 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0 and 1.0 <= waits[2] <= 2.0  # doubling, with jitter
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[0].startswith(f"warning: the storage {storage.display_url} does not answer (OperationalError")
    assert err[0].endswith("in get_all_trials); retrying for up to 20 s")
    assert err[1].startswith(f"the storage {storage.display_url} answers again after")


def test_past_the_patience_the_worker_stops_in_one_line(storage, monkeypatch):
    clock = iter(range(0, 1000, 3))
    monkeypatch.setattr(outage.time, "monotonic", lambda: float(next(clock)))

    def down() -> None:
        raise _dropped()

    with pytest.raises(StorageLost) as lost:
        storage._patiently("set_trial_user_attr", down)
    message = str(lost.value)
    assert "\n" not in message
    assert message.startswith(f"lost the storage {storage.display_url}: no answer for")
    assert "of --storage-patience 20 s (OperationalError: server closed the connection unexpectedly)" in message
    assert all(wait <= outage.LONGEST_WAIT_S for wait in storage.sleeps)


def test_a_logical_refusal_is_not_retried(storage):
    calls = []

    def refused() -> None:
        calls.append(1)
        raise optuna.exceptions.DuplicatedStudyError("study exists")

    with pytest.raises(optuna.exceptions.DuplicatedStudyError):
        storage._patiently("create_new_study", refused)
    assert calls == [1] and storage.sleeps == []


def test_a_refusal_optuna_wraps_is_not_taken_for_an_outage(storage):
    """Optuna wraps every SQLAlchemy error of a session; only a lost connection beneath is retried."""
    calls = []

    def no_right() -> None:
        calls.append(1)
        cause = sqlalchemy_exc.ProgrammingError("INSERT", {}, Exception("permission denied for table trials"))
        raise optuna.exceptions.StorageInternalError("An exception is raised during the commit.") from cause

    with pytest.raises(optuna.exceptions.StorageInternalError):
        storage._patiently("set_trial_user_attr", no_right)
    assert calls == [1] and storage.sleeps == []
    assert outage.is_transient(optuna.exceptions.StorageInternalError("commit")) is False
    wrapped = optuna.exceptions.StorageInternalError("commit")
    wrapped.__cause__ = _dropped()
    assert outage.is_transient(wrapped)
    # What the next call on a session meets after its connection was invalidated mid-transaction
    # (seen in the load test at 64 workers across a database restart).
    pending = optuna.exceptions.StorageInternalError("commit")
    pending.__cause__ = sqlalchemy_exc.PendingRollbackError("Can't reconnect until invalid transaction is rolled back")
    assert outage.is_transient(pending)


def test_a_state_write_that_reached_the_server_before_the_drop_is_found_done(storage, monkeypatch):
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()
    written = optuna.storages.RDBStorage.set_trial_state_values
    dropped = []

    def commit_then_drop(self, trial_id, state, values=None):  # the commit lands, its answer is lost
        result = written(self, trial_id, state, values)
        if not dropped:
            dropped.append(1)
            raise _dropped()
        return result

    monkeypatch.setattr(optuna.storages.RDBStorage, "set_trial_state_values", commit_then_drop)
    assert storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.COMPLETE, [0.5]) is True
    assert storage.get_trial(trial._trial_id).state == optuna.trial.TrialState.COMPLETE
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):  # without a drop, a finished trial refuses
        storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)


def test_an_insert_sent_again_after_its_commit_landed_is_done(storage):
    """The first try's commit reached the server, its answer was lost; the second meets its own row."""
    tries = iter([_dropped(), sqlalchemy_exc.IntegrityError("INSERT", {}, Exception("duplicate key value"))])

    def insert() -> None:
        error = next(tries)
        if isinstance(error, sqlalchemy_exc.IntegrityError):
            raise optuna.exceptions.StorageInternalError("An exception is raised during the commit.") from error
        raise error

    assert storage._patiently("_set_trial_param", insert) is None

    def duplicate() -> None:  # without a lost connection first, a duplicate is an error of its own
        cause = sqlalchemy_exc.IntegrityError("INSERT", {}, Exception("duplicate key value"))
        raise optuna.exceptions.StorageInternalError("commit") from cause

    with pytest.raises(optuna.exceptions.StorageInternalError):
        storage._patiently("_set_trial_param", duplicate)


def test_every_public_call_of_the_storage_goes_through_the_retry(storage, monkeypatch):
    seen = []
    monkeypatch.setattr(type(storage), "_patiently", lambda self, name, call: seen.append(name) or call())
    study = optuna.create_study(storage=storage, study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert {"create_new_study", "_create_new_trial", "_set_trial_param", "set_trial_state_values"} <= set(seen)
    assert set(seen) <= set(outage.RETRIED)


def _cluster() -> list[str] | None:
    """``pg_ctlcluster VERSION main`` for the local Debian cluster, where this process may control it."""
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None or not os.path.isdir("/usr/lib/postgresql"):
        return None
    version = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()])
    return ["pg_ctlcluster", version[-1], "main"] if version else None


@pytest.mark.slow
def test_a_search_rides_out_a_postgres_restart_and_a_30_second_stop(tmp_path, postgres_url):
    POSTGRES = postgres_url  # noqa: N806 (the URL, as in the other PostgreSQL tests)
    cluster = _cluster()
    if cluster is None or "127.0.0.1:5432" not in POSTGRES:
        pytest.skip("needs root and Debian's local PostgreSQL cluster to restart it")
    study, target = unique("outage"), 10
    proc = start_module(
        "search.run",
        *["--storage", POSTGRES, "--study", study, "--trials", str(target), "--workers", "2", "--no-thesis"],
        *["--epochs", "2", "--train-size", "300", "--val-size", "200"],
        *["--heartbeat-interval", "2", "--grace-period", "60", "--storage-patience", "90"],
        cwd=tmp_path,
    )
    try:
        finished = lambda: sum(t.state.is_finished() for t in trials(POSTGRES, study))  # noqa: E731
        wait_for(lambda: finished() >= 1, 240, "a first finished trial")
        subprocess.run([*cluster, "restart"], check=True, timeout=60)
        wait_for(lambda: finished() >= 3, 240, "trials after the restart")
        subprocess.run([*cluster, "stop"], check=True, timeout=60)
        time.sleep(30)
    finally:
        subprocess.run([*cluster, "start"], check=True, timeout=60)
    code, out, err = finish(proc, timeout=600)
    assert code == 0, out + err
    assert "does not answer" in err and "answers again after" in err
    states = [t.state for t in trials(POSTGRES, study)]
    done = [s for s in states if s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    assert len(done) == target
    assert optuna.trial.TrialState.RUNNING not in states
    assert "Traceback" not in err
