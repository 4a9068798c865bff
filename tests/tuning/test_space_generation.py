"""A resumed study keeps the space it was created with: dimensions added later are not drawn there."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from search.training import TrainConfig
from search.tuning import study_settings
from search.tuning._settings import SETTINGS_ATTR, SpaceSettings, StudySettings, UnreadableSettings
from search.tuning._space import describe_space, suggest_config, thesis_trial_params
from search.tuning._space_bounds import SPACE_GENERATION
from support import assert_one_line_error, run_module

# A trial of generation 1: the thesis's knobs, no training practice.
OLD_PARAMS = {"strategy": "baseline", "lr": 1e-3, "batch_size": 64, "time_steps": 4, "tau": 2.0,
              "surrogate": "atan", "weight_decay": 0.0}  # fmt: skip


def test_a_generation_1_space_draws_no_training_practice() -> None:
    old = SpaceSettings(generation=1)
    assert old.not_searched == ("augment", "label_smoothing", "neuron", "width", "alpha_scale")
    config = suggest_config(optuna.trial.FixedTrial(OLD_PARAMS), old)
    default = TrainConfig()
    assert (config.augment, config.label_smoothing, config.network.neuron) == (
        default.augment, default.label_smoothing, default.network.neuron
    )  # fmt: skip
    with pytest.raises(ValueError):  # the current space asks for them
        suggest_config(optuna.trial.FixedTrial(OLD_PARAMS), SpaceSettings())
    assert "augment" not in thesis_trial_params("baseline", old)
    assert "created with generation 1 of the space, which it keeps" in describe_space(old)
    assert "which it keeps" not in describe_space(SpaceSettings())


def _old_study(url: str, params: dict[str, object]) -> optuna.Study:
    """A study as search.run made it before the space had generations: no "generation" in its settings."""
    settings = StudySettings(space=SpaceSettings(epochs=2), train_size=300, val_size=200, thesis=False).to_dict()
    del settings["space"]["generation"]
    study = optuna.create_study(study_name="old", storage=url, direction="maximize")
    study.set_user_attr(SETTINGS_ATTR, settings)
    study.enqueue_trial(params)
    trial = study.ask()
    suggest_config(trial, SpaceSettings(epochs=2, generation=1 if "augment" not in params else SPACE_GENERATION))
    study.tell(trial, 0.5)
    return study


def test_a_study_made_before_generations_is_read_as_the_one_its_trials_drew(tmp_path: Path) -> None:
    old = _old_study(f"sqlite:///{tmp_path}/old.db", OLD_PARAMS)
    assert study_settings(old).space.generation == 1
    new = _old_study(
        f"sqlite:///{tmp_path}/new.db", {**OLD_PARAMS, "augment": "flip", "label_smoothing": 0.0, "neuron": "lif"}
    )
    assert study_settings(new).space.generation == SPACE_GENERATION
    stored = StudySettings(space=SpaceSettings()).to_dict()
    assert stored["space"]["generation"] == SPACE_GENERATION  # recorded from now on


def test_a_newer_generation_is_refused_in_one_line(tmp_path: Path) -> None:
    stored = StudySettings(space=SpaceSettings()).to_dict()
    stored["space"]["generation"] = SPACE_GENERATION + 1
    with pytest.raises(UnreadableSettings, match=f"generation {SPACE_GENERATION + 1}"):
        StudySettings.from_dict(stored)


@pytest.mark.slow
def test_resuming_an_old_study_keeps_its_space_and_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    _old_study(url, OLD_PARAMS)
    shown = run_module("search.run", "--storage", url, "--study", "old", "--show-space", cwd=tmp_path)
    assert "created with generation 1 of the space, which it keeps" in shown.stdout, shown.stderr
    result = run_module("search.run", "--storage", url, "--study", "old", "--trials", "3", "--seed", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "study 'old' created with generation 1 of the space, which it keeps" in result.stdout
    trials = optuna.load_study(study_name="old", storage=url).get_trials(deepcopy=False)
    assert len(trials) == 3 and not [t.number for t in trials if "augment" in t.params or "neuron" in t.params]
    bad = run_module("search.run", "--storage", url, "--study", "old", "--trials", "3", "--epochs", "5", cwd=tmp_path)
    assert_one_line_error(bad.stderr)
