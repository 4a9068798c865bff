"""Plotly figures of a study and of its final result, for the HTML report and optuna-dashboard.

Each builder takes plain data (a study, a trial list, the dictionaries of
``result.json``) and returns a ``plotly.graph_objects.Figure``; none of them writes
anything.  A figure that the study cannot support yet (importance with one complete
trial, a history without any) raises :class:`FigureUnavailable` with a reason a
reader can act on.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import optuna
import optuna.visualization as vis
import plotly.colors
import plotly.graph_objects as go
from optuna.importance import PedAnovaImportanceEvaluator
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from search.store import BEST_VAL_ACC, EPOCHS_RUN, is_thesis, thesis_preset_of
from search.tuning import OBJECTIVE_NAME

TEMPLATE = "plotly_white"
COMPLETE = optuna.trial.TrialState.COMPLETE
PRUNED = optuna.trial.TrialState.PRUNED
THESIS_COLOR = "#c0392b"
SEARCH_COLOR = "#2c6fbb"
PRUNED_COLOR = "#8c8c8c"
BOX_MIN_TRIALS = 4  # fewer points make a box that pretends to show quartiles
# The thesis's recipes look the same in every figure: red stars (red dashed lines where a figure draws lines).
THESIS_NAME = "thesis recipe"
THESIS_MARKER = {"color": THESIS_COLOR, "symbol": "star", "size": 15, "line": {"width": 1, "color": "white"}}


class FigureUnavailable(Exception):
    """The study does not hold what this figure needs (yet); the message says what is missing."""


def _complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(COMPLETE,))


def common_params(trials: Sequence[optuna.trial.FrozenTrial]) -> list[str]:
    """Parameters every one of ``trials`` has, ``strategy`` first, then in first-seen order."""
    if not trials:
        return []
    shared = set.intersection(*(set(t.params) for t in trials))
    order = list(dict.fromkeys(p for t in trials for p in t.params))
    order.sort(key=lambda p: p != "strategy")
    return [p for p in order if p in shared]


def all_params(trials: Sequence[optuna.trial.FrozenTrial]) -> list[str]:
    order = list(dict.fromkeys(p for t in trials for p in t.params))
    order.sort(key=lambda p: p != "strategy")
    return order


def _quiet(build: Callable[[], go.Figure]) -> go.Figure:
    """Run an Optuna plot function without its warnings (experimental, few regimes, ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return build().update_layout(template=TEMPLATE)
        except (ValueError, RuntimeError, ZeroDivisionError) as error:
            raise FigureUnavailable(f"Optuna could not draw it: {error}") from None


def accuracy_of(trial: optuna.trial.FrozenTrial) -> float:
    """Validation accuracy: the first objective of every study, single- or two-objective."""
    return trial.values[0]


def _need_complete(study: optuna.Study, n: int, what: str) -> list[optuna.trial.FrozenTrial]:
    complete = _complete(study)
    if len(complete) < n:
        have = f"{len(complete)} complete trial" + ("" if len(complete) == 1 else "s")
        raise FigureUnavailable(
            f"{what} needs at least {n} complete trial{'s' if n > 1 else ''}; the study has {have} so far."
        )
    return complete


def optimization_history(study: optuna.Study) -> go.Figure:
    complete = _need_complete(study, 1, "The optimisation history")
    fig = _quiet(lambda: vis.plot_optimization_history(study, target=accuracy_of, target_name=OBJECTIVE_NAME))
    # With a target Optuna leaves out its best-so-far line: draw it here.
    numbers: list[int] = []
    best: list[float] = []
    for trial in sorted(complete, key=lambda t: t.number):
        numbers.append(trial.number)
        best.append(max(accuracy_of(trial), best[-1]) if best else accuracy_of(trial))
    fig.add_trace(go.Scatter(x=numbers, y=best, mode="lines", name="best so far", line={"color": SEARCH_COLOR}))
    thesis = [t for t in complete if is_thesis(t)]
    if thesis:
        fig.add_trace(
            go.Scatter(
                x=[t.number for t in thesis],
                y=[accuracy_of(t) for t in thesis],
                mode="markers",
                name=THESIS_NAME,
                marker=THESIS_MARKER,
                text=[f"trial {t.number}, thesis recipe '{thesis_preset_of(t)}'" for t in thesis],
                hovertemplate="%{text}<br>validation accuracy %{y:.2%}<extra></extra>",
            )
        )
    return fig.update_layout(
        title="Optimisation history: validation accuracy of each trial and best so far (stars: the thesis's recipes)",
        yaxis_tickformat=".1%",
    )


def intermediate_values(study: optuna.Study) -> go.Figure:
    if len(study.directions) > 1:
        raise FigureUnavailable(
            "A two-objective study reports no validation accuracy per epoch: Optuna prunes none of its trials."
        )
    if not any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
        raise FigureUnavailable("No trial has reported a validation accuracy for an epoch yet.")
    fig = _quiet(lambda: vis.plot_intermediate_values(study))
    return fig.update_layout(
        title="Intermediate values: validation accuracy per epoch (pruned trials end early)",
        xaxis={"title": "epoch", "dtick": 1},
        yaxis_title=OBJECTIVE_NAME,
        yaxis_tickformat=".1%",
    )


IMPORTANCE_EVALUATOR = "PED-ANOVA"
BAR_HEIGHT = 26  # pixels per bar: enough for every parameter's name at the axis's font size


def importance_target(trial: optuna.trial.FrozenTrial) -> float:
    """What the importance explains: PED-ANOVA rates parameters for reaching LOW target values, so the
    negated accuracy (high accuracy), exactly as optuna-dashboard's chart computes it."""
    return -accuracy_of(trial)


def param_importances(study: optuna.Study) -> go.Figure:
    """Each parameter's importance for reaching high validation accuracy, by the evaluator and target that
    optuna-dashboard's own chart uses (Optuna's PED-ANOVA on the negated accuracy): the two rank alike."""
    _need_complete(study, 2, "Parameter importance")
    fig = _quiet(
        lambda: vis.plot_param_importances(
            study,
            evaluator=PedAnovaImportanceEvaluator(),
            target=importance_target,
            target_name=OBJECTIVE_NAME,
        )
    )
    bars = len(fig.data[0].y) if fig.data else 0
    return fig.update_layout(
        title=f"Parameter importance for high validation accuracy<br><sub>by {IMPORTANCE_EVALUATOR}, the evaluator of "
        "the dashboard's own Hyperparameter Importance chart</sub>",
        yaxis={"dtick": 1, "tickmode": "linear", "automargin": True},  # a name on every bar, none skipped
        height=max(300, 140 + BAR_HEIGHT * bars),
        showlegend=False,
    )


def parallel_coordinate(study: optuna.Study) -> go.Figure:
    complete = _need_complete(study, 1, "The parallel-coordinate plot")
    params = common_params(complete)
    fig = _quiet(
        lambda: vis.plot_parallel_coordinate(study, params=params, target=accuracy_of, target_name=OBJECTIVE_NAME)
    )
    # Optuna colours a target's highest values palest; accuracy is better high: the best trials darkest,
    # drawn last (on top).  Each line's first point is its accuracy, scaled to [0, 1] on the first axis.
    # (The feasibility legend's lines of a constrained study hold no point: they are not trials.)
    lines = [t for t in fig.data if t.mode == "lines" and t.y is not None and len(t.y) and t.y[0] is not None]
    thesis = _thesis_lines(lines, complete)
    for trace in lines:
        trace.line.color = sample_colorscale("Blues", [0.2 + 0.8 * float(trace.y[0])])[0]
        trace.customdata = [_percent_cell(trace.customdata[0]), *trace.customdata[1:]]
    for trace in thesis:
        trace.update(line={"color": THESIS_COLOR, "width": 2.5, "dash": "dash"}, opacity=0.9)
    for trace in fig.data:
        if trace.mode == "markers" and trace.marker.colorscale:  # the colour bar
            trace.marker.colorscale = [[v, sample_colorscale("Blues", [0.2 + 0.8 * v])[0]] for v in (0.0, 0.5, 1.0)]
            trace.marker.reversescale = False
            trace.marker.colorbar.tickformat = ".0%"
    for note in fig.layout.annotations:
        if note.x == 0:  # the accuracy axis's ticks, printed by Optuna as fractions
            note.text = f"{100 * float(note.text):.1f}%"
    others = [t for t in fig.data if t not in lines]
    ordered = sorted(lines, key=lambda t: (t in thesis, float(t.y[0])))  # the thesis's lines on top
    fig.data = tuple(ordered) + tuple(others)
    if thesis:  # the legend's entry for the red dashed lines
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                name=THESIS_NAME,
                line={"color": THESIS_COLOR, "width": 2.5, "dash": "dash"},
            )
        )
    return fig.update_layout(
        title="Parallel coordinates: the parameters every complete trial has (darker: more accurate; "
        "red dashed: the thesis's recipes)",
        xaxis={"tickangle": -30, "automargin": True},  # long parameter names side by side overlap when level
        margin={"l": 90, "b": 130},  # the first (slanted) axis name reaches left of the plot
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom"},
        height=520,
    )


def _percent_cell(cell: Sequence[str]) -> list[str]:
    """The accuracy axis's hover cell [name, value] with the value in percent."""
    try:
        return [cell[0], f"{100 * float(cell[1]):.1f}%"]
    except (TypeError, ValueError):
        return list(cell)


def _matches(text: str, value: object) -> bool:
    """Whether Optuna's printed value of a dimension (``0.0005``, ``adam``, ``5``) is ``value``."""
    if isinstance(value, (str, bool)):
        return text == str(value)
    try:
        shown = float(text)
    except ValueError:
        return text == str(value)
    return math.isclose(shown, float(value), rel_tol=5e-3, abs_tol=1e-12)  # type: ignore[arg-type]


def _thesis_lines(lines: Sequence[Any], trials: Sequence[optuna.trial.FrozenTrial]) -> list[Any]:
    """The traces of the thesis's recipes: each line's hover cells ([axis name, value] per axis, accuracy
    first) matched to the trial whose accuracy and parameters they print."""
    found = []
    left = list(trials)
    for trace in lines:
        cells = [list(c) for c in trace.customdata]
        for trial in left:
            values = [accuracy_of(trial), *(trial.params.get(name) for name, _ in cells[1:])]
            if all(v is not None and _matches(text, v) for (_, text), v in zip(cells, values, strict=True)):
                left.remove(trial)
                if is_thesis(trial):
                    found.append(trace)
                break
    return found


def slice_plot(study: optuna.Study) -> go.Figure:
    complete = _need_complete(study, 1, "The slice plot")
    params = all_params(complete)
    fig = _quiet(lambda: vis.plot_slice(study, params=params, target=accuracy_of, target_name=OBJECTIVE_NAME))
    # One panel per parameter in one row: give each a readable width (the page scrolls sideways).
    fig.update_yaxes(tickformat=".0%")
    return fig.update_layout(
        title="Slice plots: validation accuracy against each parameter", width=max(900, 240 * len(params)), height=420
    )


def timeline(study: optuna.Study) -> go.Figure:
    if not study.get_trials(deepcopy=False):
        raise FigureUnavailable("The study has no trials yet.")
    fig = _quiet(lambda: vis.plot_timeline(study))
    thesis = [t for t in study.get_trials(deepcopy=False) if is_thesis(t) and t.datetime_start is not None]
    if thesis:
        fig.add_trace(
            go.Scatter(
                x=[t.datetime_start.isoformat() for t in thesis],  # type: ignore[union-attr]
                y=[t.number for t in thesis],
                mode="markers",
                name=THESIS_NAME,
                marker=THESIS_MARKER,
                text=[f"trial {t.number}, thesis recipe '{thesis_preset_of(t)}'" for t in thesis],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    return fig.update_layout(title="Timeline: when each trial ran, and how it ended (stars: the thesis's recipes)")


def _trial_accuracy(trial: optuna.trial.FrozenTrial) -> float | None:
    """The trial's validation accuracy: its value, or for a pruned trial the best epoch before it stopped."""
    if trial.state == COMPLETE and trial.values:
        return trial.values[0]  # validation accuracy, the first objective of every study
    best = trial.user_attrs.get(BEST_VAL_ACC)
    if best is None and trial.intermediate_values:
        best = max(trial.intermediate_values.values())
    return best


def _jitter(number: int) -> float:
    """A fixed sideways offset per trial so that points of one strategy do not hide each other."""
    return ((number * 0.6180339887) % 1.0 - 0.5) * 0.5


def strategy_accuracy(trials: Sequence[optuna.trial.FrozenTrial], strategies: Sequence[str]) -> go.Figure:
    """Validation accuracy of every finished trial, by strategy; the thesis's recipes as stars."""
    finished = [
        t for t in trials if t.state in (COMPLETE, PRUNED) and "strategy" in t.params and _trial_accuracy(t) is not None
    ]
    if not finished:
        raise FigureUnavailable("No trial has finished yet.")
    order = list(strategies) + sorted({t.params["strategy"] for t in finished} - set(strategies))
    position = {s: i for i, s in enumerate(order)}
    fig = go.Figure()
    for strategy in order:
        values = [_trial_accuracy(t) for t in finished if t.params["strategy"] == strategy and t.state == COMPLETE]
        if len(values) >= BOX_MIN_TRIALS:
            fig.add_trace(
                go.Box(
                    x=[position[strategy]] * len(values),
                    y=values,
                    name=strategy,
                    width=0.6,
                    boxpoints=False,
                    line_color="#9bb7d4",
                    fillcolor="rgba(44,111,187,0.08)",
                    showlegend=False,
                    hoverinfo="skip",
                )
            )

    def points(group: list[optuna.trial.FrozenTrial], name: str, color: str, symbol: str, size: int) -> None:
        if not group:
            return
        text = []
        for t in group:
            preset = thesis_preset_of(t)
            label = f"trial {t.number}" + (f", thesis recipe '{preset}'" if preset else "")
            if t.state == PRUNED:
                label += f", pruned after epoch {t.user_attrs.get(EPOCHS_RUN, len(t.intermediate_values))}"
            text.append(label)
        fig.add_trace(
            go.Scatter(
                x=[position[t.params["strategy"]] + _jitter(t.number) for t in group],
                y=[_trial_accuracy(t) for t in group],
                mode="markers",
                name=name,
                text=text,
                marker={"color": color, "symbol": symbol, "size": size, "line": {"width": 1, "color": "white"}},
                hovertemplate="%{text}<br>validation accuracy %{y:.2%}<extra></extra>",
            )
        )

    searched = [t for t in finished if not is_thesis(t)]
    thesis = [t for t in finished if is_thesis(t)]
    points([t for t in searched if t.state == COMPLETE], "searched trial", SEARCH_COLOR, "circle", 9)
    points(
        [t for t in searched if t.state == PRUNED],
        "pruned (best epoch before it stopped)",
        PRUNED_COLOR,
        "x-thin-open",
        9,
    )
    points([t for t in thesis if t.state == COMPLETE], "thesis recipe (enqueued)", THESIS_COLOR, "star", 15)
    points([t for t in thesis if t.state == PRUNED], "thesis recipe, pruned", THESIS_COLOR, "star-open", 15)
    return fig.update_layout(
        template=TEMPLATE,
        title="Validation accuracy by strategy (stars: the thesis's own recipes)",
        xaxis={
            "tickvals": list(range(len(order))),
            "ticktext": order,
            "range": [-0.6, len(order) - 0.4],
            "title": "strategy",
        },
        yaxis={"title": OBJECTIVE_NAME, "tickformat": ".1%"},
        legend={"orientation": "h", "y": -0.2},
        height=480,
    )


def final_vs_thesis(test_mean: float, test_std: float | None, budget: str, thesis: tuple[float, float]) -> go.Figure:
    """The final test accuracy beside the thesis's two printed test figures.

    Only for a retrain at the thesis's budget (its caller decides); test figures only: the
    search's validation accuracy belongs to another set of images and is not drawn here.
    """
    test_std = test_std or 0.0
    labels = [
        "thesis baseline (printed; its own code, 30 epochs)",
        "thesis best, cosine annealing (printed)",
        f"this search: final retrain ({budget})",
    ]
    values = [thesis[0], thesis[1], test_mean]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=values,
            marker_color=["#b0b0b0", "#7f7f7f", SEARCH_COLOR],
            text=[f"{100 * v:.2f}%" for v in values],
            textposition="outside",
            error_y={"type": "data", "array": [0.0, 0.0, test_std], "visible": test_std > 0},
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
        )
    )
    low = min(values)
    return fig.update_layout(
        template=TEMPLATE,
        title="Test accuracy of the final retrain beside the thesis's printed figures",
        yaxis={"title": "test accuracy", "tickformat": ".0%", "range": [max(0.0, low - 0.1), 1.0]},
        height=420,
    )


def per_class_accuracy(per_class: dict[str, float]) -> go.Figure:
    classes = list(per_class)
    values = [per_class[c] for c in classes]
    fig = go.Figure(
        go.Bar(
            x=classes,
            y=values,
            marker_color=SEARCH_COLOR,
            text=[f"{100 * v:.1f}%" for v in values],
            textposition="outside",
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
        )
    )
    return fig.update_layout(
        template=TEMPLATE,
        title="Per-class test accuracy of the final retrain",
        yaxis={"title": "test accuracy", "tickformat": ".0%", "range": [0, 1.08]},
        height=420,
    )


def confusion_matrix(matrix: list[list[int]], classes: Sequence[str]) -> go.Figure:
    """Rows: the true class; columns: the predicted one; counts of test images."""
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=list(classes),
            y=list(classes),
            colorscale="Blues",
            text=matrix,
            texttemplate="%{text}",
            hovertemplate="true %{y}, predicted %{x}: %{z} images<extra></extra>",
            colorbar={"title": "images"},
        )
    )
    return fig.update_layout(
        template=TEMPLATE,
        title="Confusion matrix of the final retrain (test set)",
        xaxis={"title": "predicted class"},
        yaxis={"title": "true class", "autorange": "reversed"},
        height=560,
    )


def learning_curves(runs: Sequence[dict[str, Any]], budget: str = "") -> go.Figure:
    """Training loss and accuracy per epoch of each seed of the final retrain (it has no validation set)."""
    if not any(run.get("history") for run in runs):
        raise FigureUnavailable("The final result holds no per-epoch history.")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "training accuracy"))
    palette = plotly.colors.qualitative.Plotly
    for i, run in enumerate(runs):
        history = run.get("history") or []
        epochs = [h["epoch"] for h in history]
        name = f"seed {run.get('seed')}"
        style = {
            "mode": "lines+markers",
            "name": name,
            "legendgroup": name,
            "line": {"color": palette[i % len(palette)]},
        }
        fig.add_trace(go.Scatter(x=epochs, y=[h["train_loss"] for h in history], **style), row=1, col=1)
        fig.add_trace(
            go.Scatter(x=epochs, y=[h["train_acc"] for h in history], showlegend=False, **style), row=1, col=2
        )
    fig.update_xaxes(title_text="epoch", dtick=1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=2)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    return fig.update_layout(
        template=TEMPLATE, title=f"Learning curves of the final retrain ({budget or 'its training images'})", height=420
    )


def comparison_thesis_figures(comparison: dict[str, Any]) -> tuple[float, float] | None:
    """The thesis's printed (baseline, best) for a comparison at its budget; None otherwise (and for older records)."""
    if not comparison.get("at_thesis_budget"):
        return None
    return comparison["thesis"]["baseline_test"], comparison["thesis"]["best_test"]


# A seed interval reaches at most this far from its mean on the forest plot's axis; a wider one (two
# seeds give Student's t 12.7 times their spread) is drawn clipped, and says so, instead of
# stretching the axis until every point sits in one pixel.
INTERVAL_CLIP = 0.03


def forest_plot(rows: Sequence[dict[str, Any]], thesis: tuple[float, float] | None, budget: str) -> go.Figure:
    """Each configuration's test mean with its 95% interval; the thesis's printed figures as lines when given.

    ``rows`` are :meth:`search.retrain._comparison.ComparisonRow.to_dict` records; thesis recipes are red stars,
    searched configurations blue circles.  One seed has no interval: the point stands alone.  ``thesis``
    (baseline, best): only for a comparison at the thesis's budget.
    """
    if not rows:
        raise FigureUnavailable("The comparison holds no configuration.")
    fig = go.Figure()
    labels = [r["label"] for r in rows]
    ends: list[float] = []
    clipped_any = False
    for is_thesis_row, name, color, symbol in (
        (True, "thesis recipe, retrained here", THESIS_COLOR, "star"),
        (False, "searched configuration", SEARCH_COLOR, "circle"),
    ):
        group = [r for r in rows if bool(r.get("thesis_preset")) == is_thesis_row]
        if not group:
            continue
        low, high, notes = [], [], []
        for r in group:
            mean, (lo, hi) = r["test_mean"], r["test_ci95"]
            lo = mean if lo is None else lo
            hi = mean if hi is None else hi
            shown_lo, shown_hi = max(lo, mean - INTERVAL_CLIP), min(hi, mean + INTERVAL_CLIP)
            clipped = (shown_lo, shown_hi) != (lo, hi)
            clipped_any |= clipped
            low.append(mean - shown_lo)
            high.append(shown_hi - mean)
            ends += [shown_lo, shown_hi]
            interval = f"95% interval [{lo:.2%}, {hi:.2%}]" + (" (clipped on the axis)" if clipped else "")
            notes.append(f"{r['settings']}<br>{interval}")
        fig.add_trace(
            go.Scatter(
                x=[r["test_mean"] for r in group],
                y=[r["label"] for r in group],
                mode="markers",
                name=name,
                marker={"color": color, "symbol": symbol, "size": 13},
                error_x={"type": "data", "symmetric": False, "array": high, "arrayminus": low},
                text=notes,
                hovertemplate="%{y}: %{x:.2%}<br>%{text}<extra></extra>",
            )
        )
    if thesis is not None:
        # Labels on either side of their lines, so that two close figures do not print over each other.
        for value, text, dash, side in (
            (thesis[0], "thesis baseline, printed", "dot", "top left"),
            (thesis[1], "thesis best, printed", "dash", "top right"),
        ):
            fig.add_vline(x=value, line_dash=dash, line_color="#7f7f7f", annotation_text=text, annotation_position=side)
            ends.append(value)
    pad = 0.005
    title = f"Test accuracy, mean and 95% interval over seeds ({budget})"
    if clipped_any:
        title += f"; intervals wider than ±{100 * INTERVAL_CLIP:.0f} points clipped (hover for the whole)"
    return fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis={"title": "test accuracy", "tickformat": ".1%", "range": [min(ends) - pad, max(ends) + pad]},
        yaxis={"categoryorder": "array", "categoryarray": labels[::-1]},
        legend={"orientation": "h", "y": -0.25},
        height=max(320, 60 + 45 * len(rows)),
    )
