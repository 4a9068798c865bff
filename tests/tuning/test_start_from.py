"""``search.run --start-from STUDY``: a new study queues another study's best configurations, says where each
came from, queues nothing twice on a resume, and refuses a source it cannot use before any data loads."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from search.errors import UsageError, UserError
from search.store import STARTED_FROM, THESIS_PRESET, TrialRecord, open_storage
from search.tuning._settings import SETTINGS_ATTR, SpaceSettings, StudySettings
from search.tuning._start_from import STUDY_STARTED_FROM, plan_start_from
from support import TINY, assert_one_line_error, fork_run, run_module, trials

LR = optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
STRATEGY = optuna.distributions.CategoricalDistribution(["baseline", "sgd"])


def _source(url: str, name: str, settings: StudySettings, values: list[float], thesis_first: bool = False) -> None:
    study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    study.set_user_attr(SETTINGS_ATTR, settings.to_dict())
    for i, value in enumerate(values):
        study.add_trial(
            optuna.trial.create_trial(
                value=value,
                params={"strategy": "baseline", "lr": 1e-3 * (1 + i)},
                distributions={"strategy": STRATEGY, "lr": LR},
                user_attrs={THESIS_PRESET: "baseline"} if thesis_first and i == 0 else {},
            )
        )
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED, intermediate_values={1: 0.9}))


@pytest.fixture
def storage(tmp_path: Path) -> tuple[str, optuna.storages.BaseStorage]:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    _source(url, "short", StudySettings(space=SpaceSettings(epochs=3)), [0.70, 0.90, 0.80, 0.60], thesis_first=True)
    _source(url, "other-space", StudySettings(space=SpaceSettings(space="full")), [0.5])
    _source(url, "empty", StudySettings(space=SpaceSettings()), [])
    return url, open_storage(url, create=False)


def test_the_best_searched_configurations_are_queued_best_first(storage):
    url, opened = storage
    settings = StudySettings(space=SpaceSettings(epochs=10))  # another budget, the same space
    plan = plan_start_from(opened, "long", "short", 2, settings, exists=False)
    assert plan is not None and plan.study == "short"
    # Trial 0 is the thesis's recipe (queued by --thesis, not copied); then 0.90 (trial 1) and 0.80 (trial 2).
    assert [(c.source_trial, c.source_value) for c in plan.configurations] == [(1, 0.90), (2, 0.80)]
    study = optuna.create_study(study_name="long", storage=url, direction="maximize")
    assert plan.queue(study, already_queued=[{"strategy": "baseline", "lr": 2e-3}]) == 1  # trial 1's is queued
    waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [{"strategy": "baseline", "lr": 3e-3}]
    assert waiting[0].user_attrs[STARTED_FROM] == {"study": "short", "trial": 2, "value": 0.80}
    assert TrialRecord.of(waiting[0]).origin == "study 'short' #2"
    assert study.user_attrs[STUDY_STARTED_FROM] == {"study": "short", "trials": [2]}


def test_a_two_objective_source_queues_its_pareto_front_first(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="pareto", storage=url, directions=["maximize", "minimize"])
    study.set_user_attr(SETTINGS_ATTR, StudySettings(space=SpaceSettings(epochs=3)).to_dict())
    # (accuracy, energy): trial 1 is dominated by trial 0; trial 2 is on the front, frugal and less accurate.
    for i, values in enumerate([(0.90, 30e6), (0.85, 40e6), (0.80, 10e6)]):
        study.add_trial(
            optuna.trial.create_trial(
                values=list(values),
                params={"strategy": "baseline", "lr": 1e-3 * (1 + i)},
                distributions={"strategy": STRATEGY, "lr": LR},
            )
        )
    plan = plan_start_from(
        open_storage(url, create=False), "long", "pareto", None, StudySettings(space=SpaceSettings()), exists=False
    )
    assert plan is not None
    assert [c.source_trial for c in plan.configurations] == [0, 2, 1]


def test_a_resume_queues_nothing_again_and_another_source_is_refused(storage):
    url, opened = storage
    settings = StudySettings(space=SpaceSettings())
    study = optuna.create_study(study_name="long", storage=url, direction="maximize")
    study.set_user_attr(STUDY_STARTED_FROM, {"study": "short", "trials": [1]})
    assert plan_start_from(opened, "long", "short", None, settings, exists=True) is None
    with pytest.raises(UsageError, match="study 'long' exists and started from study 'short'"):
        plan_start_from(opened, "long", "empty", None, settings, exists=True)
    optuna.create_study(study_name="plain", storage=url, direction="maximize")
    with pytest.raises(UsageError, match="started from no other study; --start-from only applies when"):
        plan_start_from(opened, "plain", "short", None, settings, exists=True)


@pytest.mark.parametrize(
    ("source", "top", "error", "message"),
    [
        (None, 3, UsageError, "--start-top K chooses how many configurations --start-from STUDY queues: add it"),
        ("new", None, UsageError, "--start-from new: a study cannot start from itself"),
        ("nope", None, UsageError, "--start-from nope: no such study in this storage"),
        ("other-space", None, UsageError, "--start-from other-space: its space differs from this study's"),
        ("empty", None, UserError, "--start-from empty: that study holds no complete searched trial yet"),
    ],
)
def test_a_source_that_cannot_be_used_is_refused(storage, source, top, error, message):
    _, opened = storage
    with pytest.raises(error) as raised:
        plan_start_from(opened, "new", source, top, StudySettings(space=SpaceSettings()), exists=False)
    assert str(raised.value).startswith(message)


def test_no_source_given_queues_nothing(storage):
    _, opened = storage
    assert plan_start_from(opened, "new", None, None, StudySettings(space=SpaceSettings()), exists=False) is None


def test_a_refused_source_leaves_no_new_study(tmp_path):
    (tmp_path / "studies").mkdir()
    url = f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}"
    _source(url, "short", StudySettings(space=SpaceSettings(space="full")), [0.7])
    result = fork_run("search.run", "--study", "long", "--start-from", "short", *TINY, cwd=tmp_path)
    assert result.returncode == 2
    assert assert_one_line_error(result.stderr).startswith("error: --start-from short: its space differs")
    assert optuna.study.get_all_study_names(url) == ["short"]


@pytest.mark.slow
def test_a_long_search_starts_from_a_short_one(tmp_path):
    """As a user runs it: a short study, then a longer one that starts from its two best configurations."""
    short = run_module(
        "search.run", "--study", "short", "--trials", "3", "--no-thesis", "--seed", "1", *TINY, cwd=tmp_path
    )
    assert short.returncode == 0, short.stderr
    args = ["--study", "long", "--start-from", "short", "--start-top", "2", "--no-thesis", "--trials", "2"]
    long = run_module("search.run", *args, "--epochs", "2", "--train-size", "300", "--val-size", "200", cwd=tmp_path)
    assert long.returncode == 0, long.stderr
    assert "queued: the 2 best complete configuration(s) of study 'short'" in long.stdout
    source = sorted(
        (t for t in trials(f"sqlite:///{tmp_path}/studies/optuna.db", "short") if t.values),
        key=lambda t: -t.values[0],
    )
    ran = trials(f"sqlite:///{tmp_path}/studies/optuna.db", "long")
    assert [t.params for t in ran] == [t.params for t in source[:2]]
    assert [t.user_attrs[STARTED_FROM]["trial"] for t in ran] == [t.number for t in source[:2]]
    again = run_module("search.run", *args[:-1], "3", cwd=tmp_path)  # the same flags, one more trial: a resume
    assert again.returncode == 0, again.stderr
    assert len(trials(f"sqlite:///{tmp_path}/studies/optuna.db", "long")) == 3
    assert "queued:" not in again.stdout
