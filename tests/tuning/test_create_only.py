"""search.run --create-only: the first step of a cluster job creates the study and trains nothing.

Its commands run as real processes, not forked (support.fork_run): creating a study loads the data
with torch, which can hang in a child forked from a process that has trained."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from search.tuning._settings import SETTINGS_ATTR
from support import TINY, assert_one_line_error, run_module

WAITING = optuna.trial.TrialState.WAITING


@pytest.mark.slow
def test_create_only_queues_the_thesis_recipes_trains_nothing_and_checks_on_a_second_run(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path}/c.db"
    flags = ["--storage", storage, "--study", "c", *TINY]
    made = run_module("search.run", *flags, "--create-only", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "study 'c' created in" in made.stdout and "7 queued trials, none trained (--create-only)" in made.stdout
    study = optuna.load_study(study_name="c", storage=storage)
    assert SETTINGS_ATTR in study.user_attrs
    assert [t.state for t in study.get_trials()] == [WAITING] * 7
    again = run_module("search.run", *flags, "--create-only", cwd=tmp_path)
    assert again.returncode == 0 and "study 'c' exists in" in again.stdout and "nothing to create" in again.stdout
    refused = run_module(
        "search.run", "--storage", storage, "--study", "c", "--epochs", "2", "--create-only", cwd=tmp_path
    )
    assert refused.returncode == 2
    assert "study 'c' was created with --epochs 1" in assert_one_line_error(refused.stderr)
    assert len(optuna.load_study(study_name="c", storage=storage).get_trials()) == 7
