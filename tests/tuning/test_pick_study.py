"""``--study best``: the best study among those searched at the highest budget, and every study it did not
compare named with its reason; ``search.fidelity`` takes ``best`` as ``search.final`` and ``search.report`` do."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from search.errors import UserError
from search.store import open_storage
from search.tuning import pick_study
from search.tuning._settings import DATA_ATTR, SETTINGS_ATTR, SpaceSettings, StudySettings
from support import assert_one_line_error, run_module


def _study(url: str, name: str, epochs: int, train: int, values: list[float]) -> None:
    study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    study.set_user_attr(SETTINGS_ATTR, StudySettings(space=SpaceSettings(epochs=epochs)).to_dict())
    study.set_user_attr(DATA_ATTR, {"train_size": train, "val_size": 200})
    for value in values:
        study.add_trial(optuna.trial.create_trial(value=value))


def _pareto(url: str, name: str) -> None:
    study = optuna.create_study(study_name=name, storage=url, directions=["maximize", "minimize"])
    study.add_trial(optuna.trial.create_trial(values=[0.9, 2e7]))


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/s.db"
    _study(url, "long", epochs=10, train=5000, values=[0.80, 0.85])
    _study(url, "long-b", epochs=10, train=5000, values=[0.83])
    _study(url, "smoke", epochs=1, train=300, values=[0.95])  # better, but at another budget: not compared
    _study(url, "empty", epochs=10, train=5000, values=[])
    _pareto(url, "par")
    return url


def test_best_names_every_study_it_did_not_compare_and_why(url: str) -> None:
    study, why = pick_study(open_storage(url, create=False), "best", url)
    assert study.study_name == "long"
    assert why is not None
    picked, skipped = why.splitlines()
    assert picked.startswith("--study best: picked 'long' (best validation accuracy 85.00%) among 2 studies")
    assert skipped.startswith("--study best: not compared: ")
    assert "'smoke' (a lower budget: 300 training images x 1 epochs, validated on 200)" in skipped
    assert "'empty' (no complete trial yet)" in skipped
    assert "'par' (two objectives: no single best trial)" in skipped
    assert skipped.endswith("; name one with --study NAME")


def test_best_says_nothing_was_skipped_when_nothing_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    _study(url, "only", epochs=2, train=300, values=[0.5])
    _, why = pick_study(open_storage(url, create=False), "best", url)
    assert why is not None and len(why.splitlines()) == 1


def test_best_over_two_objective_studies_only_names_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    _pareto(url, "par")
    with pytest.raises(UserError) as error:
        pick_study(open_storage(url, create=False), "best", url)
    assert str(error.value) == (
        f"--study best found no single-objective study with a complete trial in {url} "
        "(skipped 'par' (two objectives: no single best trial)); name a study with --study NAME"
    )


@pytest.mark.slow
def test_fidelity_takes_best(url: str, tmp_path: Path) -> None:
    result = run_module("search.fidelity", "--study", "best", "--storage", url, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("--study best: picked 'long'") and lines[1].startswith("--study best: not compared:")
    assert lines[2].startswith("study 'long': no ranking of its epochs: its 2 complete trials recorded no per-epoch")
    refused = run_module(
        "search.fidelity", "--study", "best", "--against", "long", "--storage", url, cwd=tmp_path, timeout=120
    )
    assert refused.returncode == 2
    assert assert_one_line_error(refused.stderr) == "error: --against long: that is the study --study best picked"
