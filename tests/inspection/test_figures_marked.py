"""Issue 36's figures: every importance bar named and ranked as the dashboard ranks it; thesis recipes marked
alike in every figure; accuracy in percent; energies within noise and chance-level trials said as such."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna_dashboard._importance import get_param_importance_from_trials_cache
from optuna_dashboard._inmemory_cache import InMemoryCache
from test_suggested_commands import energy

from search.errors import UserError
from search.formatting import distinct_decimals
from search.inspection import _figures as figures
from search.inspection._energy_figures import accuracy_energy_figure, chance_ceiling, pareto_front
from search.retrain import select_candidates

DISTS = {
    "strategy": CategoricalDistribution(("baseline", "dropout", "sgd")),
    "lr": FloatDistribution(1e-5, 1.0, log=True),
    "batch_size": IntDistribution(32, 256),
    "tau": FloatDistribution(1.5, 4.0),
}


def _study(accuracies_and_energies: list[tuple[float, float]], thesis: int = 2) -> optuna.Study:
    """A single-objective study of these (accuracy, energy in uJ) trials; the first ``thesis`` are thesis recipes."""
    study = optuna.create_study(direction="maximize")
    for i, (accuracy, uj) in enumerate(accuracies_and_energies):
        study.add_trial(
            optuna.trial.create_trial(
                params={
                    "strategy": ("baseline", "dropout", "sgd")[i % 3],
                    "lr": 10 ** (-4 + (i * 7 % 11) / 4),
                    "batch_size": 32 + (i * 37) % 200,
                    "tau": 1.5 + (i * 13 % 10) / 4,
                },
                distributions=DISTS,
                value=accuracy,
                user_attrs={"energy": energy(uj * 1e6), **({"thesis_preset": f"recipe{i}"} if i < thesis else {})},
            )
        )
    return study


ACCURACIES = [0.80, 0.78, 0.10, 0.83, 0.61, 0.72, 0.85, 0.55, 0.79, 0.81, 0.69, 0.74]


def test_importance_names_every_bar_and_ranks_as_the_dashboard() -> None:
    study = _study([(a, 25.0) for a in ACCURACIES])
    figure = figures.param_importances(study)
    names = list(figure.data[0].y)
    assert sorted(names) == sorted(DISTS)
    assert figure.layout.yaxis.dtick == 1 and figure.layout.height >= figures.BAR_HEIGHT * len(names)
    assert "PED-ANOVA" in figure.layout.title.text
    shown = get_param_importance_from_trials_cache(InMemoryCache(), study._storage, study._study_id, 0, study.trials)
    dashboard = [row["name"] for row in shown]
    assert names[::-1] == dashboard  # plotly draws the first bar at the bottom: the most important on top


def test_thesis_recipes_are_red_stars_or_red_dashed_lines_and_accuracy_is_in_percent() -> None:
    study = _study([(a, 25.0) for a in ACCURACIES], thesis=2)
    for build in (figures.optimization_history, figures.timeline):
        figure = build(study)
        [stars] = [t for t in figure.data if t.name == figures.THESIS_NAME]
        assert stars.marker.symbol == "star" and stars.marker.color == figures.THESIS_COLOR
        assert list(stars.y) == ([0.80, 0.78] if build is figures.optimization_history else [0, 1])
    parallel = figures.parallel_coordinate(study)
    red = [t for t in parallel.data if t.line.color == figures.THESIS_COLOR and t.y[0] is not None]
    assert len(red) == 2 and all(t.line.dash == "dash" for t in red)
    assert sorted(float(t.customdata[0][1].rstrip("%")) for t in red) == [78.0, 80.0]
    ticks = [a.text for a in parallel.layout.annotations if a.x == 0]
    assert ticks and all(t.endswith("%") for t in ticks)
    assert figures.optimization_history(study).layout.yaxis.tickformat == ".1%"
    assert all(axis.tickformat == ".0%" for axis in figures.slice_plot(study).select_yaxes())


def test_energies_within_noise_are_said_equal_on_a_linear_axis_without_a_front() -> None:
    study = _study([(a, 25.05 + 0.01 * i) for i, a in enumerate(ACCURACIES)])
    figure = accuracy_energy_figure(study.trials, val_size=1000)
    assert figure.layout.xaxis.type == "linear" and "log" not in figure.layout.xaxis.title.text
    assert "within the 1% the estimate can tell apart" in figure.layout.title.text
    assert "25.05 to 25.16 µJ" in figure.layout.title.text
    low, high = figure.layout.xaxis.range  # the axis spans the 1% band: the points sit together
    assert high / low == pytest.approx(1.01 / 0.99) and low < 25.05 and high > 25.16
    assert not any((t.name or "").startswith("Pareto front") for t in figure.data)


def test_a_chance_level_trial_is_never_on_the_front_and_a_wide_range_is_drawn_on_a_log_axis() -> None:
    points = [(0.10, 1.0), (0.50, 4.0), (0.80, 40.0), (0.70, 45.0)]  # the last: dominated
    study = _study(points, thesis=0)
    assert [t.number for t in pareto_front(study.trials)] == [0, 1, 2]  # Optuna's front keeps the 10% trial
    assert [t.number for t in pareto_front(study.trials, chance_ceiling(1000))] == [1, 2]
    figure = accuracy_energy_figure(study.trials, val_size=1000)
    assert figure.layout.xaxis.type == "log"
    [ring] = [t for t in figure.data if (t.name or "").startswith("at chance level")]
    assert list(ring.y) == [0.10]
    [front] = [t for t in figure.data if (t.name or "").startswith("Pareto front")]
    assert list(front.y) == [0.50, 0.80]


@pytest.mark.parametrize(("size", "ceiling"), [(200, 0.164), (1000, 0.128), (10_000, 0.109)])
def test_chance_level_is_ten_percent_plus_three_standard_errors(size: int, ceiling: float) -> None:
    assert chance_ceiling(size) == pytest.approx(ceiling, abs=5e-4)


def test_front_energies_print_with_the_digits_that_tell_them_apart() -> None:
    assert distinct_decimals([25.05, 25.08, 25.10]) == 2
    assert distinct_decimals([25.0, 31.0]) == 1
    assert distinct_decimals([25.0512, 25.0514]) == 4


def test_search_final_lists_a_front_with_the_digits_that_tell_its_members_apart() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    for accuracy, uj in ((0.35, 25.10), (0.25, 25.08), (0.20, 25.05)):
        study.add_trial(optuna.trial.create_trial(values=[accuracy, uj], user_attrs={"energy": energy(uj * 1e6)}))
    with pytest.raises(UserError) as refused:
        select_candidates(study)
    assert "0 (35.00%, 25.10 uJ), 1 (25.00%, 25.08 uJ), 2 (20.00%, 25.05 uJ)" in str(refused.value)
