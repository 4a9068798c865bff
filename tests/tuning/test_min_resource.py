"""--min-resource: the earliest epoch a trial can be pruned at, for every pruner, fixed when the study is created."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from search.errors import UsageError
from search.tuning import PRUNERS, StudyRequest, replay
from search.tuning._settings import SETTINGS_ATTR, StudySettings
from search.tuning._study import find_study, make_pruner

EPOCHS = 9


def curves(count: int = 24) -> list[list[float]]:
    """Six good curves first, then alternating good and clearly bad ones: something to prune."""
    good = [0.5 + 0.04 * step for step in range(EPOCHS)]
    bad = [0.1 + 0.01 * step for step in range(EPOCHS)]
    return [good if i < 6 or i % 2 else bad for i in range(count)]


def prune_steps(pruner: optuna.pruners.BasePruner) -> list[int]:
    """The epoch at which each pruned trial stopped."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    steps = []
    for curve in curves():
        trial = study.ask()
        for step, value in enumerate(curve, start=1):
            trial.report(value, step)
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                steps.append(step)
                break
        else:
            study.tell(trial, max(curve))
    return steps


@pytest.mark.parametrize("name", ["hyperband", "sha", "median"])
def test_no_trial_is_pruned_before_min_resource(name: str) -> None:
    early = prune_steps(make_pruner(name, EPOCHS))
    assert early and min(early) < 3  # the default prunes bad trials in their first epochs
    later = prune_steps(make_pruner(name, EPOCHS, min_resource=3))
    assert later and min(later) >= 3


def test_the_replay_uses_min_resource() -> None:
    data = curves()
    default, later = replay(data, "sha", EPOCHS), replay(data, "sha", EPOCHS, min_resource=3)
    assert default.pruned and later.pruned
    assert default.epochs_trained < later.epochs_trained
    assert later.epochs_trained >= 3 * len(data)


def test_min_resource_is_fixed_when_the_study_is_created() -> None:
    created = StudyRequest(epochs=15, min_resource=3).new_settings()
    assert created.min_resource == 3 and created.pruner_text == "hyperband from epoch 3"
    assert StudySettings.from_dict(created.to_dict()) == created
    before = created.to_dict()
    del before["min_resource"]  # a study made before the flag
    assert StudySettings.from_dict(before).min_resource == 1
    # A new study's first rung defaults to 70% of its epochs, before the last (docs/search.md#the-default-study).
    assert StudyRequest().new_settings().pruner_text == "hyperband from epoch 7"
    firsts = [StudyRequest(epochs=e).new_settings().min_resource for e in (1, 2, 3, 4, 10, 15, 30)]
    assert firsts == [1, 1, 2, 3, 7, 11, 21]
    assert StudyRequest().resolve("s", created).min_resource == 3
    assert StudyRequest(min_resource=3, pruner="median").resolve("s", created).pruner_text == "median from epoch 3"
    # Optuna keeps rungs by number: another first rung on a resume would mix epochs.
    with pytest.raises(UsageError, match="was created with --min-resource 3"):
        StudyRequest(min_resource=2).resolve("s", created)
    with pytest.raises(UsageError, match="--pruner none prunes no trial"):
        StudyRequest(pruner="none", min_resource=3).resolve("s", created)
    unpruned = StudyRequest(epochs=15, pruner="none").new_settings()
    with pytest.raises(UsageError, match="this study prunes no trial .--pruner none.: add --pruner"):
        StudyRequest(min_resource=1).resolve("s", unpruned)
    with pytest.raises(UsageError, match="not below the study's 15 epochs per trial"):
        StudyRequest(epochs=15, min_resource=15).new_settings()
    with pytest.raises(UsageError, match="prunes no trial of a two-objective study"):
        StudyRequest(objective="accuracy,energy", min_resource=2).new_settings()


def test_a_resume_checks_fix_and_min_resource_against_the_stored_epochs(tmp_path: Path) -> None:
    # The command's path (find_study), not resolve alone: nothing may check them against the default 10 epochs.
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    stored = StudyRequest(
        epochs=15, strategies=("lr_scheduler",), fixed=(("step_size", "12"),), min_resource=12
    ).new_settings()
    study = optuna.create_study(study_name="resume", storage=url, direction="maximize")
    study.set_user_attr(SETTINGS_ATTR, stored.to_dict())
    found = find_study(url, "resume", StudyRequest(fixed=(("step_size", "12"),), min_resource=12), {})
    assert found.exists
    assert found.settings.space.fixed == (("step_size", 12),) and found.settings.min_resource == 12
    with pytest.raises(UsageError, match="not below the study's 10 epochs"):
        find_study(url, "other", StudyRequest(min_resource=12), {})  # a new study: the default 10


@pytest.mark.parametrize("name", PRUNERS)
def test_nothing_is_pruned_where_no_rung_comes_before_the_last_epoch(name: str) -> None:
    # Pruning at the last epoch would only mark a finished trial PRUNED, which TPE ranks below complete ones.
    assert isinstance(make_pruner(name, epochs=1), optuna.pruners.NopPruner)
    assert isinstance(make_pruner(name, epochs=4, min_resource=4), optuna.pruners.NopPruner)
    assert isinstance(make_pruner(name, epochs=4, min_resource=3), optuna.pruners.NopPruner) == (name == "none")


def test_the_replay_command_starts_where_search_run_would(tmp_path: Path) -> None:
    """Without --min-resource, search.pruners replays from the first rung search.run gives these epochs."""
    from support import run_module

    study = optuna.create_study(study_name="replay", storage=f"sqlite:///{tmp_path / 'r.db'}", direction="maximize")
    for curve in curves(8):
        study.add_trial(
            optuna.trial.create_trial(value=max(curve), intermediate_values={e + 1: v for e, v in enumerate(curve)})
        )
    args = ["--storage", "sqlite:///r.db", "--study", "replay"]
    default = run_module("search.pruners", *args, cwd=tmp_path, timeout=120)
    assert default.returncode == 0, default.stderr
    assert "8 trials of 9 epochs from study 'replay', replayed in order, pruning from epoch 7" in default.stdout
    first = run_module("search.pruners", *args, "--min-resource", "1", cwd=tmp_path, timeout=120)
    assert "replayed in order, pruning from epoch 1" in first.stdout
