"""A worker killed between claiming a trial and its first heartbeat leaves a RUNNING trial that Optuna's
heartbeat check skips; the claim loop fails it after the grace period and runs it again."""

from __future__ import annotations

import time

import optuna

from search.store import RETRY_OF, THESIS_PRESET, WORKER, open_storage
from search.tuning import Heartbeat, identity, run_until_target


def test_a_claim_without_a_heartbeat_is_failed_and_queued_again(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'o.db'}", create=True, **Heartbeat(1, 2).storage_options())
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.enqueue_trial({"x": 0.25}, user_attrs={THESIS_PRESET: "baseline"})
    orphan = study.ask()  # popped from the queue, then its worker "died": no heartbeat, no worker attribute
    assert orphan.params == {} and study.trials[0].state == optuna.trial.TrialState.RUNNING
    time.sleep(2.2)
    ran = run_until_target(
        study, storage, lambda t: t.suggest_float("x", 0, 1), target=1, worker=identity(0), poll_s=0.2
    )
    trials = study.get_trials(deepcopy=False)
    assert ran == 1
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    retry = trials[1]
    assert retry.user_attrs[RETRY_OF] == 0
    assert retry.params == {"x": 0.25} and retry.user_attrs[THESIS_PRESET] == "baseline"  # the queued recipe kept


def test_a_fresh_claim_is_not_taken_for_an_orphan(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'o.db'}", create=True, **Heartbeat(1, 30).storage_options())
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.ask()  # another worker's claim, a moment old: waited for, not failed, within the grace period
    ran = run_until_target(
        study, storage, lambda t: t.suggest_float("x", 0, 1), target=2, worker=identity(0), poll_s=0.2, timeout=3
    )
    assert ran == 1
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert states == [optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.COMPLETE]


def test_a_retry_claimed_by_a_worker_that_died_at_once_is_failed_too(tmp_path):
    """A retry carries the ``worker`` of the trial it repeats, which names that trial, not the retry."""
    heartbeat = Heartbeat(1, 2)
    storage = open_storage(f"sqlite:///{tmp_path / 'o.db'}", create=True, **heartbeat.storage_options())
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    first = study.ask()
    first.set_user_attr(WORKER, {**identity(0), "trial": first.number})
    storage.set_trial_state_values(first._trial_id, optuna.trial.TrialState.FAIL)
    storage.get_heartbeat_stale_trial_callback()(study, storage.get_trial(first._trial_id))
    [retry] = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    assert retry.user_attrs[WORKER]["trial"] == first.number  # copied from the trial it repeats
    storage.set_trial_state_values(retry._trial_id, optuna.trial.TrialState.RUNNING)  # claimed; its worker died
    ran = run_until_target(
        study, storage, lambda t: t.suggest_float("x", 0, 1), target=1, worker=identity(1), poll_s=0.2
    )
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert ran == 1
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
