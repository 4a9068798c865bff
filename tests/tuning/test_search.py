"""The search and the final retrain, end to end as a user runs them, on a temporary SQLite file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pytest
import torch

from models import build_network
from search.store import THESIS_PRESET, TrialRecord
from search.training import STRATEGIES, THESIS_PRESETS, TrainConfig, TrainVal
from search.tuning import Objective
from search.tuning._settings import SpaceSettings, StudySettings
from search.tuning._space import suggest_config
from search.tuning._summary import NEAR_CHANCE, trial_state
from support import STUDY, TINY, assert_one_line_error, head, run_module

SMALL = ["--epochs", "2", "--train-size", "1000", "--val-size", "1000"]
COMMON_PARAMS = {
    "strategy",
    "lr",
    "batch_size",
    "time_steps",
    "tau",
    "surrogate",
    "weight_decay",
    "augment",
    "label_smoothing",
    "neuron",
}
TRIAL_ATTRS = {
    "config",
    "history",
    "best_epoch",
    "best_val_acc",
    "wall_s",
    "images_per_s",
    "firing_rates",
    "device",
    "versions",
    "status",
    "epochs_run",
}


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A study of 4 trials made by search.run, then a repeat of the same call."""
    folder = tmp_path_factory.mktemp("search")
    storage = f"sqlite:///{folder}/s.db"
    first = run_module("search.run", "--trials", "4", *SMALL, "--storage", storage, cwd=folder)
    second = run_module("search.run", "--trials", "4", *SMALL, "--storage", storage, cwd=folder)
    return {"folder": folder, "storage": storage, "first": first, "second": second}


def _study(storage: str) -> optuna.Study:
    return optuna.load_study(study_name=STUDY, storage=storage)


@pytest.mark.slow
def test_run_creates_study_with_thesis_trials_first(searched: dict) -> None:
    first = searched["first"]
    assert first.returncode == 0, first.stderr
    study = _study(searched["storage"])
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == 4
    # The thesis's recipes were queued first, in its order; the rest still wait.
    presets = [t.user_attrs.get(THESIS_PRESET) for t in study.trials]
    assert presets == list(THESIS_PRESETS)
    assert [t.params["strategy"] for t in finished] == list(THESIS_PRESETS)[:4]
    for trial in finished:
        assert set(trial.user_attrs) >= TRIAL_ATTRS, trial.user_attrs.keys()
        config = TrainConfig.from_dict(trial.user_attrs["config"])
        assert config.strategy == trial.params["strategy"]
        assert config.epochs == 2 and config.batch_size == 64
        assert set(trial.user_attrs["versions"]) == {"torch", "spikingjelly", "optuna"}
        assert len(trial.user_attrs["history"]) == trial.user_attrs["epochs_run"] >= 1
        assert trial.intermediate_values
    assert_thesis_trials_ran_to_the_end(study)
    assert "next: python -m search.final --study fmnist-snn" in first.stdout
    assert "best trial" in first.stdout


def assert_thesis_trials_ran_to_the_end(study: optuna.Study) -> None:
    """The thesis's recipes are the yardstick: the (default) Hyperband pruner never stops one."""
    assert StudySettings.from_dict(study.user_attrs["settings"]).pruner == "hyperband"
    for trial in study.trials:
        if THESIS_PRESET in trial.user_attrs and trial.state.is_finished():
            assert trial.state == optuna.trial.TrialState.COMPLETE, (trial.number, trial.state)
            assert trial.user_attrs["epochs_run"] == 2 and trial.user_attrs["status"] == "completed"
            assert sorted(trial.intermediate_values) == [1, 2]


def test_same_command_again_adds_nothing(searched: dict) -> None:
    second = searched["second"]
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout
    assert len(_study(searched["storage"]).trials) == 7  # 4 finished + 3 thesis trials still queued


@pytest.mark.slow
def test_higher_target_adds_the_difference(searched: dict) -> None:
    result = run_module("search.run", "--trials", "6", *SMALL, "--storage", searched["storage"], cwd=searched["folder"])
    assert result.returncode == 0, result.stderr
    study = _study(searched["storage"])
    assert sum(t.state.is_finished() for t in study.trials) == 6
    assert "resumed" in result.stdout
    assert_thesis_trials_ran_to_the_end(study)


@pytest.mark.slow
def test_timeout_ends_the_sitting_between_trials(tmp_path: Path) -> None:
    """--timeout stops starting trials, finishes the one running, and says how to go on (make run's sitting)."""
    storage = f"sqlite:///{tmp_path}/t.db"
    result = run_module(
        "search.run", "--trials", "3", *TINY, "--no-thesis", "--timeout", "0.5", "--storage", storage, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "--timeout 0.5 s reached: 1 of 3 trials finished; rerun the same command to resume" in result.stdout
    assert "next: the same command, for the other 2 trials; then python -m search.final" in result.stdout
    assert [t.state.is_finished() for t in _study(storage).trials] == [True]


@pytest.mark.slow
def test_resume_refuses_a_different_budget(searched: dict) -> None:
    result = run_module(
        "search.run", "--trials", "9", "--epochs", "3", "--storage", searched["storage"], cwd=searched["folder"]
    )
    assert result.returncode == 2
    assert "--epochs 2" in assert_one_line_error(result.stderr)


@pytest.mark.slow
def test_final_retrains_and_tests_once(searched: dict) -> None:
    folder: Path = searched["folder"]  # type: ignore[assignment]
    result = run_module(
        "search.final",
        "--study",
        "best",
        "--storage",
        searched["storage"],
        "--train-size",
        "1000",
        "--epochs",
        "2",
        "--seeds",
        "2",
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr
    assert "--study best: picked 'fmnist-snn'" in result.stdout
    best = _study(searched["storage"]).best_trial.number
    # Not on a terminal (no bar): a line per epoch of each seed, with the time left.
    epochs = [
        line
        for line in result.stdout.splitlines()
        if re.search(r"seed \d: epoch \d/2, .*; about \d+m\d\ds left$", line)
    ]
    assert len(epochs) == 4, result.stdout
    # Beside the storage s.db, in s/<study>/final/, a folder per trial and budget.
    out = folder / "s" / STUDY / "final" / f"trial-{best}-2ep-1000img"
    record = json.loads((out / "result.json").read_text())
    assert record["trial"] == best
    assert record["seeds"] == [0, 1] == [run["seed"] for run in record["runs"]]  # paired seeds 0..N-1
    # Seed 0's weights are model.pt (below), every other seed's beside its record.
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["seed-0.json", "seed-1.json", "seed-1.pt"]
    assert record["test_accuracy_mean"] > 0.5  # chance is 0.1
    for run in record["runs"]:
        assert len(run["per_class_accuracy"]) == 10
        assert sum(map(sum, run["confusion_matrix"])) == 10_000
    budget = dict(record["budget"])
    assert budget.pop("precision") == record["config"]["precision"]  # the study's, which auto chose for this CPU
    assert budget == {"train_size": 1000, "epochs": 2, "seeds": 2, "trial_epochs": 2, "tta": "none"}
    # A reduced retrain (1,000 images) is never set beside the thesis's printed figures.
    assert record["reduced"] is True
    assert "reduced retrain" in result.stdout
    assert "86.01%" not in result.stdout and "87.82%" not in result.stdout
    state = torch.load(out / "model.pt", weights_only=True)
    net = build_network(TrainConfig.from_dict(record["config"]).network)
    net.load_state_dict(state)
    assert _study(searched["storage"]).user_attrs["final_result"]["trial"] == record["trial"]


@pytest.mark.slow
def test_final_errors_create_nothing(searched: dict, tmp_path: Path) -> None:
    storage = searched["storage"]
    cases = [
        (["--study", "nope", "--storage", storage], "no study 'nope'", "fmnist-snn"),
        (["--trial", "99", "--storage", storage], "--trial 99", "0..6"),
        (["--storage", f"sqlite:///{tmp_path}/missing.db"], "does not exist", "missing.db"),
    ]
    for args, *expected in cases:
        result = run_module("search.final", *args, cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        line = assert_one_line_error(result.stderr)
        for text in expected:
            assert text in line, line
    assert list(tmp_path.iterdir()) == []
    assert [s.study_name for s in optuna.get_all_study_summaries(storage)] == [STUDY]


@pytest.mark.slow
def test_final_on_a_study_without_complete_trials(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path}/empty.db"
    optuna.create_study(study_name="empty", storage=storage, direction="maximize")
    for args in (["--study", "empty"], ["--study", "best"]):
        result = run_module("search.final", *args, "--storage", storage, cwd=tmp_path)
        assert result.returncode == 1
        assert "no complete trial" in assert_one_line_error(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_only_the_parameters_a_strategy_uses_are_sampled() -> None:
    settings = SpaceSettings(epochs=6)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen: dict[str, set[frozenset[str]]] = {}
    for _ in range(300):
        trial = study.ask()
        suggest_config(trial, settings)
        seen.setdefault(trial.params["strategy"], set()).add(frozenset(trial.params))
        study.tell(trial, 0.0)
    expected = {
        "baseline": set(),
        "dropout": {"dropout"},
        "batchnorm": set(),
        "lr_annealing": {"min_lr_ratio"},
        "lr_scheduler": {"step_size", "step_gamma"},
        "adam_plateau": {"min_lr_ratio", "plateau_patience", "plateau_factor"},
        "sgd": {"momentum"},
    }
    assert set(seen) == set(STRATEGIES)
    for name, extra in expected.items():
        assert seen[name] == {frozenset(COMMON_PARAMS | extra)}, name
    # combined: its switches are always drawn; schedule and momentum parameters only when used
    for params in seen["combined"]:
        assert {"optimizer", "schedule", "batch_norm", "dropout"} | COMMON_PARAMS <= params
    assert any("momentum" in p for p in seen["combined"]) and any("momentum" not in p for p in seen["combined"])


@pytest.mark.slow
def test_a_bad_region_is_pruned_with_its_curve_stored(small_data, cpu) -> None:
    settings = StudySettings(space=SpaceSettings(strategies=("baseline", "sgd"), epochs=3))
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    )
    good = {
        "strategy": "baseline",
        "lr": 2e-3,
        "batch_size": 64,
        "time_steps": 4,
        "tau": 2.0,
        "surrogate": "atan",
        "weight_decay": 0.0,
        "augment": "none",
        "label_smoothing": 0.0,
        "neuron": "lif",
    }
    bad = {**good, "strategy": "sgd", "lr": 1e-3, "momentum": 0.0}  # plain SGD this slow learns nothing in 3 epochs
    study.enqueue_trial(good)
    study.enqueue_trial(bad)
    study.optimize(Objective(settings, small_data, cpu), n_trials=2)
    first, second = study.trials
    assert first.state == optuna.trial.TrialState.COMPLETE
    assert second.state == optuna.trial.TrialState.PRUNED
    assert second.intermediate_values and len(second.intermediate_values) < 3
    assert second.user_attrs["status"] == "pruned"
    assert len(second.user_attrs["history"]) == len(second.intermediate_values)


class AlwaysPrune(optuna.pruners.BasePruner):
    """A pruner that stops every trial at its first report: only what ignores it runs to the end."""

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return True


def test_thesis_trials_are_never_pruned_the_others_are(small_data, cpu) -> None:
    settings = StudySettings(space=SpaceSettings(strategies=("baseline",), epochs=2))
    data = TrainVal(head(small_data.train, 300), head(small_data.val, 200), small_data.split_seed, small_data.source)
    study = optuna.create_study(direction="maximize", pruner=AlwaysPrune())
    params = {
        "strategy": "baseline",
        "lr": 1e-3,
        "batch_size": 64,
        "time_steps": 4,
        "tau": 2.0,
        "surrogate": "atan",
        "weight_decay": 0.0,
    }
    study.enqueue_trial(params, user_attrs={THESIS_PRESET: "baseline"})
    study.enqueue_trial(params)
    study.optimize(Objective(settings, data, cpu), n_trials=2)
    thesis, searched = study.trials
    assert thesis.state == optuna.trial.TrialState.COMPLETE
    assert thesis.user_attrs["epochs_run"] == 2 and sorted(thesis.intermediate_values) == [1, 2]
    assert searched.state == optuna.trial.TrialState.PRUNED
    assert searched.user_attrs["epochs_run"] == 1 and searched.user_attrs["status"] == "pruned"


def test_a_trial_near_chance_is_marked_so() -> None:
    def record(best: float | None, status: str = "completed") -> TrialRecord:
        return TrialRecord(
            number=0, state=optuna.trial.TrialState.COMPLETE, params={}, status=status, best_val_acc=best
        )

    assert trial_state(record(0.10)) == "complete, near chance"  # the thesis's plain SGD on a tiny budget
    assert trial_state(record(NEAR_CHANCE)) == "complete"
    assert trial_state(record(0.80)) == "complete"
    assert trial_state(record(0.10, status="diverged")) == "diverged"


@pytest.mark.slow
def test_show_space_and_bad_flags(tmp_path: Path) -> None:
    shown = run_module("search.run", "--show-space", "--strategies", "baseline,combined", cwd=tmp_path)
    assert shown.returncode == 0 and "strategy" in shown.stdout and "combined" in shown.stdout
    bad = run_module("search.run", "--strategies", "baseline,bogus", "--show-space", cwd=tmp_path)
    assert bad.returncode == 2
    assert "bogus" in assert_one_line_error(bad.stderr) and "baseline" in bad.stderr
