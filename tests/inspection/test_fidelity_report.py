"""The fidelity check as the report shows it: its section and figure, the warning in words, and the
search's validation ranked against the retrains' test means read from result.json files."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from search.inspection._fidelity import fidelity, fidelity_figure, fidelity_page, fidelity_section
from search.inspection._figures import FigureUnavailable
from search.retrain._result import RetrainBudget, RetrainResult, RetrainRun
from search.tuning._settings import SETTINGS_ATTR, SpaceSettings, StudySettings

EPOCHS = 4


def _study(n: int) -> optuna.Study:
    """n trials whose epoch 1 is reversed against the end and whose later epochs keep its order."""
    study = optuna.create_study(direction="maximize")
    study.set_user_attr(SETTINGS_ATTR, StudySettings(space=SpaceSettings(epochs=EPOCHS)).to_dict())
    for i in range(n):
        end = 0.8 + i / 100
        curve = {1: 0.6 - i / 100, **{e: end - (EPOCHS - e) / 100 for e in range(2, EPOCHS + 1)}}
        study.add_trial(optuna.trial.create_trial(value=max(curve.values()), intermediate_values=curve))
    return study


def _result(folder: Path, study: str, trial: int, accuracies: list[float], epochs: int = 30) -> None:
    result = RetrainResult(
        study=study,
        storage="sqlite:///x.db",
        trial=trial,
        strategy="baseline",
        thesis_preset=None,
        validation_accuracy=None,
        config={},
        budget=RetrainBudget(train_size=60_000, epochs=epochs, seeds=len(accuracies), trial_epochs=10),
        runs=[RetrainRun(s, a, 0.3, {}, [], 1.0, 0.1) for s, a in enumerate(accuracies)],
        device="cpu",
        versions={},
    )
    path = folder / "final" / f"trial-{trial}-{epochs}ep-60000img" / "result.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(result.to_dict()))


def test_the_section_draws_every_ranking_and_warns_of_the_first_rung(tmp_path):
    study = _study(8)
    for trial in range(6):  # the test means keep the search's order, except the last two swapped
        _result(tmp_path, study.study_name, trial, [0.90 + trial / 1000 + (0.01 if trial == 4 else 0)])
    _result(tmp_path, "another-study", 7, [0.5])  # not this study's: ignored
    _result(tmp_path, study.study_name, 7, [0.99], epochs=3)  # another budget than most: ignored
    result = fidelity(study, tmp_path)
    assert [a.low for a in result.epochs] == ["epoch 1", "epoch 2", "epoch 3"]
    assert result.epochs[0].tau == pytest.approx(-1.0) and result.epochs[0].rung
    # The search's value, then each epoch, against the retrains' test means over the 6 retrained trials.
    assert [a.low for a in result.retrains] == ["validation (search)"] + [f"search epoch {e}" for e in range(1, 5)]
    assert all(a.n == 6 for a in result.retrains)
    retrain = result.retrains[0]
    assert retrain.high.startswith("test mean, retrain (60,000 training images, 30 epochs")
    assert 0.5 < retrain.tau < 1.0
    # Epoch 1 runs against the end (and so against the retrains); the last epoch ranks as the value does.
    assert result.retrains[1].tau < 0 and result.retrains[-1].tau == pytest.approx(retrain.tau)
    section = fidelity_section(result)
    assert section.unavailable is None and len(section.figures) == 1
    assert "Warning: the rung at epoch 1 barely predicts epoch 4" in section.explanation
    figure = section.figures[0][1]
    assert list(figure.data[0].y) == ["epoch 1", "epoch 2", "epoch 3"] + [
        f"{a.low} → {retrain.high}" for a in result.retrains
    ]
    page = fidelity_page(result)
    assert page is not None and "fidelity check" in page


def test_another_pruner_without_a_first_rung_starts_where_search_run_would():
    study = _study(8)  # 4 epochs: search.run's first rung for 4 epochs is epoch 3
    assert [a.low for a in fidelity(study, pruner=("sha", None)).epochs if a.rung] == ["epoch 3"]
    assert [a.low for a in fidelity(study, pruner=("sha", 1)).epochs if a.rung] == ["epoch 1", "epoch 3"]


def test_without_rankings_the_section_says_what_it_needs():
    study = optuna.create_study(direction="maximize")
    result = fidelity(study)
    assert result.rows == [] and result.warnings == [] and result.retrains == []
    with pytest.raises(FigureUnavailable, match="--pruner none"):
        fidelity_figure(result)
    assert fidelity_section(result).unavailable.startswith("Not available: No ranking to compare yet")
    assert fidelity_page(result) is None
