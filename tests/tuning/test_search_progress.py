"""search.run's progress: a bar on a terminal; off one (nohup, a scheduler), lines with the count and time left."""

from __future__ import annotations

import optuna
import pytest

from search.store._trial_record import WALL_S
from search.tuning._progress import SearchProgress, time_left_s


def _finished(walls: list[float]) -> list[optuna.trial.FrozenTrial]:
    return [optuna.trial.create_trial(value=0.8, user_attrs={WALL_S: w}) for w in walls]


def test_time_left_is_the_mean_wall_time_of_finished_trials_times_those_left() -> None:
    assert time_left_s([], 10) is None
    assert time_left_s(_finished([100.0, 300.0]), 10) == pytest.approx(8 * 200.0)
    assert time_left_s(_finished([100.0, 300.0]), 10, workers=2) == pytest.approx(4 * 200.0)


def test_off_a_terminal_each_trial_line_says_how_many_are_finished_and_the_time_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress = SearchProgress(target=10, done=0, epochs=3, enabled=False)
    progress.trial_done(_finished([120.0]), "trial   0  baseline")
    progress.trial_done(_finished([120.0, 240.0]), "trial   1  sgd")
    progress.close()
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "trial   0  baseline  [1/10 finished; about 18m00s left]",
        "trial   1  sgd  [2/10 finished; about 24m00s left]",
    ]


def test_on_a_terminal_the_bar_carries_the_count_and_the_line_stays_plain(capsys: pytest.CaptureFixture[str]) -> None:
    progress = SearchProgress(target=10, done=0, epochs=3, enabled=True)
    progress.trial_done(_finished([120.0]), "trial   0  baseline")
    progress.close()
    captured = capsys.readouterr()
    assert "trial   0  baseline\n" in captured.out and "finished;" not in captured.out


def test_off_a_terminal_each_epoch_of_the_running_trial_has_a_line_with_the_time_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As search.final's: a trial of minutes is never silent in a log."""
    progress = SearchProgress(target=4, done=0, epochs=10, enabled=False, prefix="[worker 1] ")
    progress.epoch(0, 2, 0.812, 60.0)  # 30 s an epoch: 8 left, then 3 trials of 10 epochs (none finished yet)
    progress.trial_done(_finished([200.0]), "trial   0  baseline")
    progress.epoch(1, 1, None, 30.0)  # 9 epochs left at 30 s, then 2 trials of 200 s, the mean so far
    progress.close()
    assert capsys.readouterr().out.splitlines() == [
        "  [worker 1] trial 0: epoch 2/10, val 81.20%, 60 s; about 19m00s left",
        "trial   0  baseline  [1/4 finished; about 10m00s left]",
        "  [worker 1] trial 1: epoch 1/10, 30 s; about 11m10s left",
    ]


def test_on_a_terminal_the_epoch_goes_in_the_bar_not_in_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    progress = SearchProgress(target=4, done=0, epochs=10, enabled=True)
    progress.epoch(0, 2, 0.812, 60.0)
    assert progress.bar.postfix == "trial 0: epoch 2/10, val 81.20%"
    progress.close()
    assert capsys.readouterr().out == ""
