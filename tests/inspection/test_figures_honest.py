"""Figures set side by side only what is comparable, and their axes fit the data that carry information."""

from __future__ import annotations

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
