"""A study and a retrain made before search/ moved into packages still resume after the move.

tests/fixtures/pre-move/ holds what the flat layout (commit cd1f27b) wrote: ``pre-move.db``, a study
of two tiny trials made by ``search.run --storage sqlite:///pre-move.db --study before-the-move
--trials 2 --no-thesis --epochs 1 --train-size 300 --val-size 200 --seed 0``, and the seed-0
record of ``search.final --trial 0 --train-size 300 --epochs 1`` on it.  Stored formats hold no
module paths; these tests say so.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import REPO_ROOT, finished, run_module, trials

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "pre-move"
STUDY = "before-the-move"


@pytest.fixture
def old_study(tmp_path: Path) -> str:
    shutil.copy(FIXTURE / "pre-move.db", tmp_path / "pre-move.db")
    return f"sqlite:///{tmp_path}/pre-move.db"


def test_the_space_and_settings_of_an_old_study_read_as_stored(old_study: str, tmp_path: Path) -> None:
    result = run_module("search.run", "--storage", old_study, "--study", STUDY, "--show-space", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"study '{STUDY}' as stored in" in result.stdout


@pytest.mark.slow
def test_an_old_study_resumes(old_study: str, tmp_path: Path) -> None:
    result = run_module("search.run", "--storage", old_study, "--study", STUDY, "--trials", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"study '{STUDY}' (resumed)" in result.stdout
    assert "2 of 3 trials finished" in result.stdout
    assert len(finished(trials(old_study, STUDY))) == 3


@pytest.mark.slow
def test_an_old_retrain_resumes_without_training_again(old_study: str, tmp_path: Path) -> None:
    runs = tmp_path / "pre-move" / STUDY / "final" / "trial-0-1ep-300img" / "runs"
    runs.mkdir(parents=True)
    shutil.copy(FIXTURE / "trial-0-1ep-300img-seed-0.json", runs / "seed-0.json")
    result = run_module(
        "search.final", "--storage", old_study, "--study", STUDY, "--trial", "0", "--train-size", "300",
        "--epochs", "1", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "seed 0: test accuracy 17.86% (recorded earlier, not rerun)" in result.stdout
