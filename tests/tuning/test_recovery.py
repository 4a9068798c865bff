"""A worker killed with SIGKILL in mid-trial: its trial is failed and retried, nothing finished is lost.

Short heartbeats (1 s, grace 3 s) so that each scenario runs in seconds.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch

from search.store import RETRY_OF, WORKER
from search.store import _atomic as results
from support import (
    HEARTBEAT,
    STUDY,
    count_states,
    finish,
    finished,
    run_module,
    running_trial_after_finished,
    start_module,
    trials,
    unique,
    wait_for,
)

# Trials long enough (two epochs of 600 images) to be caught in the middle.
LONGER = ["--epochs", "2", "--train-size", "600", "--val-size", "200"]


def snapshot(all_trials: list) -> dict[int, tuple[str, float | None]]:
    return {t.number: (t.state.name, t.value) for t in finished(all_trials)}


def assert_recovered(all_trials: list, target: int, killed: int, before: dict) -> None:
    """Exactly ``target`` finished, none running, the killed trial failed and run again once with its parameters."""
    states = count_states(all_trials)
    assert len(finished(all_trials)) == target, states
    assert states.get("RUNNING", 0) == 0, states
    by_number = {t.number: t for t in all_trials}
    assert by_number[killed].state.name == "FAIL"
    retries = [t for t in all_trials if t.user_attrs.get(RETRY_OF) == killed]
    assert len(retries) == 1, [(t.number, t.state.name, t.user_attrs.get(RETRY_OF)) for t in all_trials]
    retry = retries[0]
    assert retry.state.name in ("COMPLETE", "PRUNED")
    assert retry.system_attrs.get("failed_trial") == killed
    assert retry.params == by_number[killed].params
    assert retry.user_attrs[WORKER]["pid"] != by_number[killed].user_attrs[WORKER]["pid"]
    for number, state_value in before.items():  # nothing finished before the kill was lost or changed
        assert (by_number[number].state.name, by_number[number].value) == state_value


@pytest.mark.slow
def test_kill9_then_restart_on_the_local_storage(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path}/studies/optuna.db"
    args = ["--trials", "3", *LONGER, *HEARTBEAT]
    proc = start_module("search.run", *args, cwd=tmp_path)
    victim = wait_for(lambda: running_trial_after_finished(storage, STUDY), 120, "a trial in progress")
    before = snapshot(trials(storage, STUDY))
    os.kill(victim.user_attrs[WORKER]["pid"], signal.SIGKILL)
    code, _, _ = finish(proc)
    assert code == -9
    assert [t.number for t in trials(storage, STUDY) if t.state.name == "RUNNING"] == [victim.number]
    # Any worker started again finds the dead trial (at once or after the grace period) and retries it.
    again = run_module("search.run", *args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert_recovered(trials(storage, STUDY), 3, victim.number, before)


@pytest.mark.slow
def test_kill9_of_one_of_two_workers_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    """The other worker waits out the grace period, retries the dead worker's trial and finishes the study."""
    name = unique("kill9")
    args = ["--trials", "5", "--workers", "2", *LONGER, *HEARTBEAT, "--storage", postgres_url, "--study", name]
    proc = start_module("search.run", *args, cwd=tmp_path)
    victim = wait_for(lambda: running_trial_after_finished(postgres_url, name), 120, "a trial in progress")
    before = snapshot(trials(postgres_url, name))
    os.kill(victim.user_attrs[WORKER]["pid"], signal.SIGKILL)
    code, out, err = finish(proc)
    assert code == 0, err
    assert f"(pid {victim.user_attrs['worker']['pid']}) was killed by SIGKILL" in err
    assert "optuna:optuna@" not in out + err
    assert_recovered(trials(postgres_url, name), 5, victim.number, before)
    # Starting a worker again finds nothing to do.
    again = run_module("search.run", *args[:2], "--storage", postgres_url, "--study", name, cwd=tmp_path)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_results_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash while writing leaves the previous file whole and no temporary file behind."""
    target = tmp_path / "final" / "model.pt"
    results.save_state_dict(target, {"w": torch.ones(3)})
    results.write_json(tmp_path / "final" / "result.json", {"test_accuracy": 0.9})

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        results.save_state_dict(target, {"w": torch.zeros(3)})
    monkeypatch.setattr(results.json, "dumps", crash)
    with pytest.raises(OSError):
        results.write_json(tmp_path / "final" / "result.json", {"test_accuracy": 0.1})
    assert sorted(os.listdir(tmp_path / "final")) == ["model.pt", "result.json"]
    assert torch.equal(torch.load(target, weights_only=True)["w"], torch.ones(3))
    assert (tmp_path / "final" / "result.json").read_text().strip().endswith("}")


def test_a_worker_taken_for_dead_drops_its_result_and_goes_on(tmp_path: Path) -> None:
    """Its trial was failed (and queued again) by another worker: the late result is not an error."""
    import optuna

    from search.store import open_storage
    from search.tuning import Heartbeat, identity, run_until_target

    storage = open_storage(f"sqlite:///{tmp_path}/s.db", create=True, **Heartbeat(1, 3).storage_options())
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    calls = []

    def objective(trial: optuna.Trial) -> float:
        calls.append(trial.number)
        if len(calls) == 1:  # another worker declares this one dead in mid-trial
            storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
            trial.report(0.5, 1)  # raises: the trial is finished
        return 0.9

    ran = run_until_target(study, storage, objective, target=2, worker=identity(0))
    assert ran == 3
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    assert states == ["FAIL", "COMPLETE", "COMPLETE"]
