"""search.final's progress: a bar on a terminal, a line per epoch with the time left in a log."""

from __future__ import annotations

import pytest

from search.retrain import Candidate, RetrainProgress, RetrainRun, runs_left_text
from search.store import TrialRecord
from search.training import EpochStats, TrainConfig

CANDIDATE = Candidate(TrialRecord(number=7, state=None, params={"strategy": "combined"}), TrainConfig())  # type: ignore[arg-type]


def _stats(epoch: int, elapsed_s: float) -> EpochStats:
    return EpochStats(epoch, 0.5, 0.9, None, None, 1e-3, elapsed_s, 100.0, {})


def test_in_a_log_each_epoch_has_a_line_with_the_time_left(capsys: pytest.CaptureFixture) -> None:
    progress = RetrainProgress(runs=3, log=True)
    progress.epoch(CANDIDATE, 0, _stats(2, 60.0), epochs=10)  # 30 s an epoch: 8 epochs left, then 2 runs of 10
    progress.close()
    line = capsys.readouterr().out.strip()
    assert line == "trial 7 (combined), seed 0: epoch 2/10, train acc 90.0%, 60 s; about 14m00s left"


def test_on_a_terminal_the_bar_says_it_and_nothing_is_printed(capsys: pytest.CaptureFixture) -> None:
    progress = RetrainProgress(runs=1, log=False)
    progress.epoch(CANDIDATE, 0, _stats(1, 5.0), epochs=2)
    progress.close()
    assert capsys.readouterr().out == ""


def test_the_time_left_counts_only_the_runs_that_will_train(capsys: pytest.CaptureFixture) -> None:
    """Runs recorded already or reused (--reuse) take no time: 3 runs, 1 to train, 8 epochs of 30 s left,
    whichever order the runs come in (counting all 3 would add two runs of 10 epochs: 14m00s)."""
    from dataclasses import replace

    progress = RetrainProgress(runs=3, log=True, to_train=1)
    progress.epoch(CANDIDATE, 0, _stats(2, 60.0), epochs=10)  # the run to train comes first
    reused = RetrainRun(0, 0.9, 0.3, {}, [], 1.0, 0.1, reused_from="old/final/trial-0-30ep-60000img")
    progress.run_done(CANDIDATE, reused, False)
    progress.run_done(CANDIDATE, replace(reused, seed=1, reused_from=None), True)  # a resumed one
    progress.epoch(CANDIDATE, 2, _stats(2, 60.0), epochs=10)
    progress.close()
    lines = capsys.readouterr().out.splitlines()
    assert [line.rsplit("; ", 1)[1] for line in lines if line.endswith(" left")] == ["about 4m00s left"] * 2
    assert progress.trained == 0


def test_the_header_says_how_many_runs_will_train_when_not_all_will() -> None:
    assert runs_left_text(30, 30) == ""
    assert runs_left_text(30, 9) == " (9 of the 30 runs to train; the others are recorded already or reused)"
