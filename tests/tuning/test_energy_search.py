"""Energy in the search, end to end: a constrained study, a two-objective study, silent trials, bad input."""

from __future__ import annotations

import html
import math
from pathlib import Path

import optuna
import pytest

from search.store import ENERGY_ATTR
from search.tuning._objective import ENERGY_CONSTRAINT
from support import assert_one_line_error, run_module

TINY = ["--epochs", "1", "--train-size", "300", "--val-size", "200", "--no-thesis", "--seed", "3"]
ENERGY_FIELDS = (
    "macs_per_image",
    "acs_per_image",
    "compute_energy_pj_per_image",
    "memory_energy_pj_per_image",
    "parameter_count",
)


def _study(folder: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{folder}/s.db")


@pytest.fixture(scope="module")
def energy_studies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("energy-search")
    storage = ["--storage", f"sqlite:///{folder}/s.db"]
    # A budget of 20 uJ per image: the default network costs about 25 uJ, so some trials are infeasible.
    budget = run_module(
        "search.run",
        "--study",
        "budget",
        "--trials",
        "3",
        "--max-energy",
        "20uJ",
        "--strategies",
        "baseline,batchnorm",
        *TINY,
        *storage,
        cwd=folder,
    )
    assert budget.returncode == 0, budget.stdout + budget.stderr
    pareto = run_module(
        "search.run",
        "--study",
        "pareto",
        "--trials",
        "3",
        "--objective",
        "accuracy,energy",
        *TINY,
        *storage,
        cwd=folder,
    )
    assert pareto.returncode == 0, pareto.stdout + pareto.stderr
    assert "Optuna prunes no trial" in pareto.stdout and "Pareto front" in pareto.stdout
    assert "--space full searches what drives energy" in pareto.stdout  # the default space barely varies it
    return folder


@pytest.mark.slow
def test_every_trial_records_a_positive_energy(energy_studies: Path) -> None:
    for trial in _study(energy_studies, "budget").get_trials(deepcopy=False):
        cost = trial.user_attrs[ENERGY_ATTR]
        assert all(cost[f] > 0 for f in ENERGY_FIELDS), cost


def test_a_constrained_study_marks_infeasible_trials_and_picks_a_feasible_best(energy_studies: Path) -> None:
    study = _study(energy_studies, "budget")
    trials = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    for t in trials:
        over = t.user_attrs[ENERGY_ATTR]["compute_energy_pj_per_image"] - 20_000_000
        assert math.isclose(t.constraints[ENERGY_CONSTRAINT], over, rel_tol=1e-6)
    feasible = [
        t
        for t in trials
        if t.state == optuna.trial.TrialState.COMPLETE
        and t.user_attrs[ENERGY_ATTR]["compute_energy_pj_per_image"] <= 20_000_000
    ]
    if feasible:
        assert study.best_trial.number in {t.number for t in feasible}
    else:
        with pytest.raises(ValueError):
            _ = study.best_trial


@pytest.mark.slow
def test_a_two_objective_study_has_two_directions_and_a_front(energy_studies: Path) -> None:
    study = _study(energy_studies, "pareto")
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    # The energy objective in microjoules, the commands' unit: optuna-dashboard's Pareto plot shows it as stored.
    assert study.metric_names == ["validation accuracy", "compute energy per image (µJ)"]
    assert study.best_trials
    for t in study.best_trials:
        assert math.isclose(t.values[1], t.user_attrs[ENERGY_ATTR]["compute_energy_pj_per_image"] / 1e6)
    final = run_module(
        "search.final", "--study", "pareto", "--storage", f"sqlite:///{energy_studies}/s.db", cwd=energy_studies
    )
    line = assert_one_line_error(final.stderr)
    assert "two objectives" in line and "--trial N" in line and final.returncode == 1


@pytest.mark.slow
def test_a_silent_configuration_is_pruned_as_silent(
    small_data,
    cpu,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from search.tuning import _objective as module
    from search.tuning._settings import SpaceSettings, StudySettings

    # A threshold far above reach: the hidden layer never fires; 2,000 images at batch 8 pass 192 steps.
    real = module.suggest_config
    monkeypatch.setattr(module, "suggest_config", lambda *a, **k: real(*a, **k).replace(v_threshold=1e5, batch_size=8))
    settings = StudySettings(space=SpaceSettings(strategies=("baseline",), epochs=2), pruner="none")
    study = optuna.create_study(direction="maximize")
    study.optimize(module.Objective(settings, small_data, cpu), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["status"] == "silent" and trial.user_attrs["reason"].startswith("silent")


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message, code",
    [
        (["--objective", "speed"], "unknown objective 'speed'", 2),
        (["--objective", "accuracy,accuracy"], "is given twice", 2),
        (["--max-energy", "0"], "must be greater than 0, got 0 (see", 2),
        (["--max-energy", "0uJ"], "must be greater than 0, got 0uJ (see", 2),
        (["--max-energy", "lots"], "expected an energy per image in uJ, µJ, nJ or pJ (a bare number is pJ)", 2),
        (["--max-energy", "20mJ"], "in uJ, µJ, nJ or pJ (a bare number is pJ), e.g. 20uJ; got '20mJ'", 2),
        (["--max-energy", "inf"], "must be a finite energy, e.g. 20uJ", 2),
        (["--objective", "accuracy,energy", "--max-energy", "1000"], "--max-energy bounds a single-objective", 2),
        (["--objective", "accuracy,energy", "--sampler", "cmaes"], "no multi-objective mode", 2),
    ],
)
def test_bad_energy_flags_give_one_line_and_create_nothing(
    tmp_path: Path, args: list[str], message: str, code: int
) -> None:
    result = run_module("search.run", "--trials", "1", *args, cwd=tmp_path)
    line = assert_one_line_error(result.stderr, starts_with="")
    assert message in line and result.returncode == code
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_resuming_with_another_objective_or_budget_is_refused(energy_studies: Path) -> None:
    storage = ["--storage", f"sqlite:///{energy_studies}/s.db"]
    other = run_module(
        "search.run", "--study", "pareto", "--trials", "9", "--objective", "accuracy", *storage, cwd=energy_studies
    )
    assert "was created with --objective accuracy,energy" in assert_one_line_error(other.stderr)
    budget = run_module(
        "search.run", "--study", "budget", "--trials", "9", "--max-energy", "5", *storage, cwd=energy_studies
    )
    assert "was created with --max-energy 20uJ;" in assert_one_line_error(budget.stderr)


@pytest.mark.slow
def test_the_report_of_a_two_objective_study_draws_accuracy_against_energy(energy_studies: Path) -> None:
    result = run_module(
        "search.report", "--study", "pareto", "--storage", f"sqlite:///{energy_studies}/s.db", cwd=energy_studies
    )
    assert result.returncode == 0, result.stderr
    page = html.unescape((energy_studies / "s" / "pareto" / "report.html").read_text())
    assert 'id="fig-accuracy-energy"' in page and "Pareto front" in page
    # Guidance that fits a two-objective study: no best trial, no pruner, no per-epoch values, commands that work.
    assert "No complete trial yet" not in page and "Two objectives: no single best configuration" in page
    assert "none (two objectives: Optuna prunes no trial)" in page and "hyperband" not in page
    assert "reports no validation accuracy per epoch" in page
    front = sorted(_study(energy_studies, "pareto").best_trials, key=lambda t: t.values[0], reverse=True)
    assert f"--study pareto --storage sqlite:///{energy_studies}/s.db --trial {front[0].number}" in page


@pytest.mark.slow
def test_a_two_objective_study_retrains_a_front_trial_or_the_front(energy_studies: Path) -> None:
    """A Pareto study has no single best trial, but its front retrains: one trial, or the K most accurate."""
    study = _study(energy_studies, "pareto")
    front = sorted(study.best_trials, key=lambda t: t.values[0], reverse=True)
    storage = ["--storage", f"sqlite:///{energy_studies}/s.db", "--study", "pareto"]
    budget = ["--epochs", "1", "--seeds", "1", "--train-size", "300"]
    one = run_module("search.final", *storage, "--trial", str(front[-1].number), *budget, cwd=energy_studies)
    assert one.returncode == 0, one.stdout + one.stderr
    assert "energy (search)" in one.stdout
    top = run_module("search.final", *storage, "--top", str(len(front)), *budget, cwd=energy_studies)
    assert top.returncode == 0, top.stdout + top.stderr
    table = top.stdout[top.stdout.index("configuration") :]
    assert [f"trial {t.number} " in table for t in front] == [True] * len(front)
    assert f"{front[0].values[1]:.2f} uJ" in table  # the second objective (stored in uJ), as the search measured it
    best = run_module("search.final", *storage, *budget, cwd=energy_studies)
    assert best.returncode == 1
    assert "--top K" in assert_one_line_error(best.stderr)
