"""search.run --fix NAME=VALUE: a slice of the space, searched with Optuna's PartialFixedSampler."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from search.store import CONFIG, THESIS_PRESET
from search.training import TrainConfig
from search.tuning import StudyRequest
from search.tuning._settings import StudySettings
from search.tuning._space_bounds import parse_fixed
from support import assert_one_line_error, run_module

TINY = ["--epochs", "1", "--train-size", "300", "--val-size", "200", "--seed", "5"]
FIXES = [
    "--fix",
    "optimizer=adam",
    "--fix",
    "schedule=onecycle",
    "--fix",
    "batch_norm=true",
    "--fix",
    "augment=crop_flip",
    "--fix",
    "label_smoothing=0.1",
    "--fix",
    "time_steps=3",
]


def test_values_are_parsed_to_the_space_types() -> None:
    pairs = (
        ("batch_norm", "True"),
        ("batch_size", "128"),
        ("lr", "2e-3"),
        ("optimizer", "adam"),
        ("time_steps", "6"),
        ("augment", "crop_flip"),
    )
    assert parse_fixed(pairs, "default", 10) == (
        ("batch_norm", True),
        ("batch_size", 128),
        ("lr", 2e-3),
        ("optimizer", "adam"),
        ("time_steps", 6),
        ("augment", "crop_flip"),
    )
    assert parse_fixed((("width", "1.25"), ("detach_reset", "false")), "full", 10) == (
        ("width", 1.25),
        ("detach_reset", False),
    )


@pytest.mark.parametrize(
    "pairs, space, message",
    [
        ((("warp", "1"),), "default", "--fix warp: no such parameter; valid: augment, batch_norm"),
        ((("strategy", "sgd"),), "default", "use --strategies"),
        ((("width", "1"),), "default", "only --space full searches width"),
        ((("width", "1.1"),), "full", "not on the space's grid"),
        ((("optimizer", "adamx"),), "default", "--fix optimizer=adamx: not a choice; valid: adam, adamw"),
        ((("batch_size", "100"),), "default", "not a choice; valid: 32, 64, 128, 256"),
        ((("time_steps", "2.5"),), "default", "expected a whole number"),
        ((("label_smoothing", "0.5"),), "default", "outside the space's range [0, 0.2]"),
        ((("tau", "nan"),), "default", "outside the space's range"),
        ((("lr", "0.02"),), "default", "(with --fix optimizer=NAME, lr has that optimizer's range)"),
        ((("lr", "0.02"), ("optimizer", "adam")), "default", "--fix lr=0.02: outside the space's range [0.0001, 0.01]"),
        ((("lr", "1e-3"), ("lr", "2e-3")), "default", "--fix lr: given twice"),
    ],
)
def test_bad_values_are_refused_by_name(pairs: tuple[tuple[str, str], ...], space: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_fixed(pairs, space, 10)
    assert message in str(error.value)


def test_a_dropout_below_the_dropout_strategys_range_is_refused_only_when_it_is_searched() -> None:
    with pytest.raises(ValueError, match="the strategy 'dropout' draws its rate from"):
        parse_fixed((("dropout", "0"),), "default", 10, ("dropout", "combined"))
    assert parse_fixed((("dropout", "0"),), "default", 10, ("combined",)) == (("dropout", 0.0),)


def test_an_sgd_rate_is_accepted_once_the_optimizer_is_fixed() -> None:
    assert dict(parse_fixed((("lr", "0.1"), ("optimizer", "sgd")), "default", 10))["lr"] == 0.1


def test_settings_keep_the_fixed_values_through_json() -> None:
    settings = StudyRequest(fixed=(("batch_norm", "true"), ("lr", "0.002"), ("optimizer", "adam"))).new_settings()
    again = StudySettings.from_dict(settings.to_dict())
    assert again == settings and again.space.fixed == (("batch_norm", True), ("lr", 0.002), ("optimizer", "adam"))


def test_settings_stored_before_fix_existed_read_as_nothing_fixed() -> None:
    stored = StudyRequest().new_settings().to_dict()
    del stored["space"]["fixed"]
    assert StudySettings.from_dict(stored).space.fixed == ()


def test_a_resume_checks_fixed_values_against_the_stored_epochs() -> None:
    stored = StudyRequest(epochs=15, strategies=("lr_scheduler",), fixed=(("step_size", "12"),)).new_settings()
    resumed = StudyRequest(fixed=(("step_size", "12"),)).resolve("s", stored)  # no --epochs: the stored 15
    assert resumed.space.fixed == (("step_size", 12),)


@pytest.fixture(scope="module")
def fixed_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fixed")
    result = run_module(
        "search.run",
        "--study",
        "slice",
        "--trials",
        "3",
        "--strategies",
        "combined,baseline",
        *FIXES,
        *TINY,
        "--storage",
        f"sqlite:///{folder}/s.db",
        cwd=folder,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


@pytest.mark.slow
def test_every_searched_trial_trains_the_fixed_values(fixed_study: Path) -> None:
    study = optuna.load_study(study_name="slice", storage=f"sqlite:///{fixed_study}/s.db")
    searched = [t for t in study.trials if THESIS_PRESET not in t.user_attrs]
    assert searched
    for trial in searched:
        config = TrainConfig.from_dict(trial.user_attrs[CONFIG])
        assert (config.augment, config.label_smoothing, config.network.time_steps) == ("crop_flip", 0.1, 3)
        assert trial.params["time_steps"] == 3 and "tau" in trial.params  # the rest is still searched
        if trial.params["strategy"] == "combined":
            assert (config.optimizer, config.schedule, config.network.batch_norm) == ("adam", "onecycle", True)


def test_the_thesis_recipes_keep_their_own_settings(fixed_study: Path) -> None:
    study = optuna.load_study(study_name="slice", storage=f"sqlite:///{fixed_study}/s.db")
    (baseline,) = [t for t in study.trials if t.user_attrs.get(THESIS_PRESET) == "baseline"]
    config = TrainConfig.from_dict(baseline.user_attrs[CONFIG])
    assert (config.augment, config.label_smoothing, config.network.time_steps) == ("none", 0.0, 4)


@pytest.mark.slow
def test_show_space_and_the_note_name_the_fixed_values(fixed_study: Path) -> None:
    shown = run_module(
        "search.run", "--study", "slice", "--show-space", "--storage", f"sqlite:///{fixed_study}/s.db", cwd=fixed_study
    )
    assert shown.returncode == 0, shown.stderr
    assert (
        "fixed (--fix; the thesis recipes keep their own): optimizer=adam, schedule=onecycle, batch_norm=True, "
        "augment=crop_flip, label_smoothing=0.1, time_steps=3" in shown.stdout
    )


@pytest.mark.slow
def test_resuming_with_other_fixed_values_is_refused(fixed_study: Path) -> None:
    storage = ["--storage", f"sqlite:///{fixed_study}/s.db"]
    other = run_module(
        "search.run", "--study", "slice", "--trials", "9", "--fix", "optimizer=adamw", *storage, cwd=fixed_study
    )
    line = assert_one_line_error(other.stderr)
    assert "study 'slice' was created with --fix optimizer=adam, schedule=onecycle" in line and other.returncode == 2
    same = run_module("search.run", "--study", "slice", "--trials", "3", *FIXES, *storage, cwd=fixed_study)
    assert same.returncode == 0 and "nothing to do" in same.stdout


def test_lr_is_fixed_against_the_range_its_strategies_optimizer_has() -> None:
    """--strategies baseline is Adam: --fix lr takes Adam's range, as --show-space shows it."""
    assert parse_fixed((("lr", "0.005"),), "default", 10, ("baseline",)) == (("lr", 0.005),)
    assert parse_fixed((("lr", "0.3"),), "default", 10, ("sgd",)) == (("lr", 0.3),)
    with pytest.raises(ValueError, match=r"\[0.001, 0.003\] \(with --fix optimizer=NAME"):
        parse_fixed((("lr", "0.005"),), "default", 10, ("baseline", "sgd"))  # two optimisers: their shared range
