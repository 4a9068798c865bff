"""The claim loop every worker runs: trials until the study holds its target, with heartbeats.

Several workers share one study: on one machine (``--workers K``, processes started by
:mod:`search.tuning._worker_processes`) or on many sharing a database.  Every worker runs
:func:`run_until_target`, a loop of ``study.ask`` / objective / ``study.tell`` that stops when the
study holds its target of finished (complete or pruned) trials, counting every worker's trials, so
K workers together finish exactly the target, not K times it:

- before asking for a trial, a worker checks that finished + running trials leave a slot;
- after asking, it checks again (another worker may have asked at the same moment) and, if
  the slots are over-subscribed, puts its trial back in the queue (state WAITING) before it
  has sampled or trained anything, and tries again a moment later;
- while every slot is taken by a running trial, it waits instead of leaving: a running trial
  whose worker dies is marked FAIL after the grace period and queued again with the same
  parameters, and a waiting worker picks it up.

Crash recovery is Optuna's heartbeat (RDB storages only; Optuna 5's JournalStorage has none):
each running trial records a heartbeat every ``interval`` seconds; any worker, before each
trial, marks FAIL the running trials whose heartbeat is older than ``grace`` seconds, and
``RetryHeartbeatStaleTrialCallback(max_retry=1)`` queues each of them once more.  A worker killed
between claiming a trial and its first heartbeat leaves a RUNNING trial Optuna's check skips; the
loop fails and queues those too, once they are older than the grace period.  The retry
carries Optuna's system attribute ``failed_trial``; the loop copies it into the user
attribute ``retry_of`` so the dashboard shows which trial it repeats.

Why a loop of our own and not ``study.optimize(..., callbacks=[MaxTrialsCallback(n)])``: that
callback is checked only after a trial ends, so K workers that start together each begin a
trial and the study overshoots the target by up to K - 1; ``optimize`` records heartbeats but
never waits for a stale trial's retry (a worker leaves while the last slots are held by a dead
worker's trial, and nobody runs its retry); and it pops queued trials oldest first, so a retry
waits behind the whole queue.  The loop below uses only ``ask``/``tell`` and the storage's own
heartbeat calls, except where noted (a trial's storage id, and dropping the sampler's trial cache
as ``ask`` does).

Each trial records the worker that ran it in the user attribute ``worker``
(``{"host", "pid", "index", "trial"}``; ``trial`` tells a claimed retry from one that still carries
the ``worker`` of the trial it repeats).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import optuna
from optuna.storages import fail_stale_trials
from optuna.trial import FrozenTrial, TrialState

from search.store import HISTORY, RETRY_OF, WORKER, StorageLost

COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


def identity(index: int | None) -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "index": index}


class _HeartbeatThread:
    """Records the heartbeat of one trial every ``interval`` seconds until stopped."""

    def __init__(self, storage: optuna.storages.RDBStorage, trial_id: int) -> None:
        self._storage = storage
        self._trial_id = trial_id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _HeartbeatThread:
        interval = self._storage.get_heartbeat_interval()
        if interval is not None:
            self._thread = threading.Thread(target=self._beat, args=(interval,), daemon=True)
            self._thread.start()
        return self

    def _beat(self, interval: int) -> None:
        # RDBStorage's own call, not the patient one (search.store._outage): a beat missed in an outage
        # is simply sent again at the next interval, and a stopping worker does not wait for it.
        beat = optuna.storages.RDBStorage.record_heartbeat
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a missed beat is retried; the grace period covers a few
                beat(self._storage, self._trial_id)
            self._stop.wait(interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


# The signals that end a run (search.run turns both into KeyboardInterrupt).
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _stop_signals_held():
    """Hold Ctrl-C and SIGTERM while a trial is being claimed; they arrive when the block ends.

    A KeyboardInterrupt inside ``study.ask`` would leave a trial RUNNING that nobody runs and
    nobody tells (until a heartbeat grace period passes); held, it is raised just after, where
    the caller knows the trial and can give it back.  Only the main thread can hold signals.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _counts(study: optuna.Study) -> tuple[int, list[FrozenTrial]]:
    """(finished trials, running trials) of the study, as stored now."""
    trials = study.get_trials(deepcopy=False, states=COUNTED)
    running = [t for t in trials if t.state == TrialState.RUNNING]
    return len(trials) - len(running), running


def _fail_stale(study: optuna.Study, storage: optuna.storages.RDBStorage, orphans: _Orphans) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fail_stale_trials(study)  # a no-op on storages without heartbeat
        orphans.fail(study, storage)


def _claimed(trial: FrozenTrial) -> bool:
    """Whether this loop finished claiming the trial: its ``worker`` names it (a retry carries the
    ``worker`` of the trial it repeats, which names that one)."""
    worker = trial.user_attrs.get(WORKER)
    return isinstance(worker, dict) and worker.get("trial", trial.number) == trial.number


class _Orphans:
    """The trials a worker claimed but died before its first heartbeat: failed, and queued again.

    ``ask`` (or popping a retry) makes a trial RUNNING; this loop records its first heartbeat and
    its ``worker`` attribute a moment later.  A worker killed in between (``kill -9``) leaves a
    RUNNING trial with no heartbeat, which Optuna's check skips, so it would hold its slot for
    ever.  A RUNNING trial this worker has seen unclaimed for longer than the grace period, by its
    own clock (machines' clocks need not agree), is such a claim: it is failed and queued again
    like a stale one.
    """

    def __init__(self) -> None:
        self.first_seen: dict[int, float] = {}

    def fail(self, study: optuna.Study, storage: optuna.storages.RDBStorage) -> None:
        interval, grace = storage.get_heartbeat_interval(), getattr(storage, "grace_period", None)
        if interval is None:
            return
        now = time.monotonic()
        unclaimed = {
            t._trial_id: t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)) if not _claimed(t)
        }
        self.first_seen = {i: self.first_seen.get(i, now) for i in unclaimed}
        for trial_id, seen in list(self.first_seen.items()):
            if now - seen < (grace or 2 * interval):
                continue
            del self.first_seen[trial_id]
            try:
                if not storage.set_trial_state_values(trial_id, TrialState.FAIL):
                    continue
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # claimed and finished meanwhile, or failed by another worker first
            retry = storage.get_heartbeat_stale_trial_callback()
            if retry is not None:
                retry(study, storage.get_trial(trial_id))


def _is_retry(trial: FrozenTrial) -> bool:
    return "failed_trial" in trial.system_attrs or RETRY_OF in trial.user_attrs


def _pop_retry(study: optuna.Study, storage: optuna.storages.RDBStorage) -> optuna.Trial | None:
    """A queued retry of a failed trial, claimed for this worker; retries go before the rest of the queue.

    ``study.ask`` pops the oldest queued trial, and a retry is queued last; this claims it the
    way ``ask`` does (WAITING -> RUNNING succeeds for one worker only).
    """
    for waiting in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        if not _is_retry(waiting):
            continue
        try:
            if not storage.set_trial_state_values(waiting._trial_id, TrialState.RUNNING):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        if hasattr(study, "_thread_local"):
            study._thread_local.cached_all_trials = None  # as ask does: samplers see the trials as of now
        return optuna.Trial(study, waiting._trial_id)
    return None


def run_until_target(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    objective: Callable[[optuna.Trial], float | tuple[float, float]],
    *,
    target: int,
    worker: dict[str, Any],
    timeout: float | None = None,
    on_trial: Callable[[optuna.Study, FrozenTrial], None] | None = None,
    poll_s: float | None = None,
) -> int:
    """Run trials of ``study`` until it holds ``target`` finished trials; the number this call ran.

    Stops early after ``timeout`` seconds (between trials).  An exception in ``objective``
    (KeyboardInterrupt included) marks the trial FAIL and is raised again, like ``study.optimize``.
    """
    interval = storage.get_heartbeat_interval()
    poll = poll_s if poll_s is not None else min(float(interval or 5), 5.0)
    start = time.monotonic()
    ran = 0
    orphans = _Orphans()
    while timeout is None or time.monotonic() - start < timeout:
        _fail_stale(study, storage, orphans)
        finished, running = _counts(study)
        if finished >= target:
            break
        if finished + len(running) >= target:
            # Every slot is taken.  Wait while trials run: if a worker dies, its trial's retry
            # needs a worker (a claim that never got its first heartbeat is failed after the grace
            # period too, _fail_orphaned_claims).  Without heartbeats a dead worker's trial cannot
            # be told from a live one, so nothing is waited for.
            if interval is None:
                break
            time.sleep(poll)
            continue
        trial: optuna.Trial | None = None
        try:
            with _stop_signals_held():
                trial = _pop_retry(study, storage)
                if trial is None:
                    with warnings.catch_warnings():
                        # Optuna warns that heartbeats are meant for study.optimize; this loop records them itself.
                        warnings.filterwarnings("ignore", message="Heartbeat of storage")
                        trial = study.ask()
            trial_id = trial._trial_id  # the storage's id; Optuna's public API has only the number
            if interval is not None:
                storage.record_heartbeat(trial_id)  # at once: a worker dying now still leaves a stale trial
            finished, running = _counts(study)
            if finished + len(running) > target:
                # Over-subscribed by workers that asked at the same moment: give the slot back.
                storage.set_trial_state_values(trial_id, TrialState.WAITING)
                time.sleep(random.uniform(0.1, 1.0))
                continue
            trial.set_user_attr(WORKER, {**worker, "trial": trial.number})
            stored = storage.get_trial(trial_id)
            if "failed_trial" in stored.system_attrs:
                trial.set_user_attr(RETRY_OF, stored.system_attrs["failed_trial"])
                trial.set_user_attr(HISTORY, [])
        except optuna.exceptions.UpdateFinishedTrialError:
            # Taken for an orphaned claim and failed by another worker (a stall longer than the
            # grace period between claiming and the first heartbeat); its retry is queued.
            continue
        except KeyboardInterrupt:
            # Claimed, not started: back in the queue as it was (a retry keeps its parameters).
            if trial is not None:
                with _stop_signals_held():
                    storage.set_trial_state_values(trial._trial_id, TrialState.WAITING)
            raise
        frozen = _run_one(study, storage, trial, objective)
        ran += 1
        if on_trial is not None:
            on_trial(study, frozen)
    return ran


def _run_one(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    trial: optuna.Trial,
    objective: Callable[[optuna.Trial], float | tuple[float, float]],
) -> FrozenTrial:
    error: BaseException | None = None
    value: float | tuple[float, float] | None = None
    state = TrialState.COMPLETE
    with _HeartbeatThread(storage, trial._trial_id):
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except StorageLost:
            # Telling the storage would wait out another patience: the trial stays RUNNING, its
            # heartbeat stops, and once the storage is back it is failed and run again.
            raise
        except (Exception, KeyboardInterrupt) as caught:
            state, error = TrialState.FAIL, caught
    # skip_if_finished: another worker may have failed this trial as stale (a heartbeat
    # stalled past the grace period); its retry is already queued.
    if state == TrialState.COMPLETE:
        frozen = study.tell(trial, value, skip_if_finished=True)
    else:
        frozen = study.tell(trial, state=state, skip_if_finished=True)
    if isinstance(error, optuna.exceptions.UpdateFinishedTrialError):
        # This worker was taken for dead (no heartbeat for the grace period) and its trial
        # failed and queued again by another: drop this result and go on.
        print(
            f"warning: trial {trial.number} was marked failed by another worker (heartbeat "
            "older than the grace period) and will run again; this run of it is dropped",
            file=sys.stderr,
        )
        return frozen
    if error is not None:
        raise error
    return frozen
