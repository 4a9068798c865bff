"""Figures set side by side only what is comparable, and their axes fit the data that carry information."""

from __future__ import annotations

import optuna

from search.inspection import _figures as figures

THESIS = (0.8601, 0.8782)


def _row(label: str, mean: float, low: float | None, high: float | None, thesis: bool = False) -> dict:
    return {
        "label": label,
        "test_mean": mean,
        "test_ci95": [low, high],
        "settings": "adam",
        "thesis_preset": "baseline" if thesis else None,
    }


def test_the_thesis_lines_appear_only_when_given_and_their_labels_keep_apart() -> None:
    rows = [_row("thesis baseline (trial 0)", 0.913, 0.909, 0.917, thesis=True), _row("trial 9", 0.92, 0.91, 0.93)]
    alone = figures.forest_plot(rows, None, "60,000 training images, 3 epochs, 3 seeds")
    assert not alone.layout.shapes and not alone.layout.annotations
    beside = figures.forest_plot(rows, THESIS, "60,000 training images, 30 epochs, 3 seeds")
    assert len(beside.layout.shapes) == 2
    assert {a.xanchor for a in beside.layout.annotations} == {"left", "right"}  # one on each side of its line


def test_a_degenerate_interval_is_clipped_and_said_not_stretching_the_axis() -> None:
    rows = [_row("trial 1", 0.122, -0.158, 0.402), _row("trial 2", 0.125, 0.12, 0.13)]
    fig = figures.forest_plot(rows, None, "2 seeds")
    low, high = fig.layout.xaxis.range
    assert low >= 0.122 - figures.INTERVAL_CLIP - 0.01 and high <= 0.125 + figures.INTERVAL_CLIP + 0.01
    assert "clipped" in fig.layout.title.text
    assert "[-15.80%, 40.20%] (clipped on the axis)" in fig.data[0].text[0]


def test_the_final_chart_holds_test_figures_only() -> None:
    fig = figures.final_vs_thesis(0.93, 0.001, "60,000 training images, 30 epochs, 3 seeds", THESIS)
    labels = list(fig.data[0].x)
    assert len(labels) == 3 and not any("validation" in label for label in labels)


def _searched_study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: 0.5 * t.suggest_float("lr", 0, 1) + 0.4 * t.suggest_float("tau", 0, 1), n_trials=8)
    return study


def test_the_optimisation_history_draws_the_best_so_far() -> None:
    study = _searched_study()
    fig = figures.optimization_history(study)
    [line] = [t for t in fig.data if t.name == "best so far"]
    values = [t.value for t in sorted(study.trials, key=lambda t: t.number)]
    assert list(line.y) == [max(values[: i + 1]) for i in range(len(values))]


def test_parallel_coordinates_draw_the_best_trials_darkest_and_on_top() -> None:
    fig = figures.parallel_coordinate(_searched_study())
    lines = [t for t in fig.data if t.mode != "markers" and t.y is not None and len(t.y)]
    darkness = [sum(int(c) for c in t.line.color[4:-1].split(",")) for t in lines]  # lower sum: darker
    assert [float(t.y[0]) for t in lines] == sorted(float(t.y[0]) for t in lines)  # the best drawn last
    assert darkness == sorted(darkness, reverse=True)
