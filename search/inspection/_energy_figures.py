"""Accuracy against energy per image, for every trial that recorded its cost.

Works on a plain list of FrozenTrials, so the same figure serves a
single-objective study, a constrained one (``--max-energy``) and a two-objective
one: accuracy is each trial's first objective value, energy the
:data:`search.training._energy.OBJECTIVE_FIELD` of its ``energy`` user attribute.  The
Pareto front (higher accuracy, lower energy) is Optuna's own, computed over the
feasible trials.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import optuna
import plotly.colors
import plotly.graph_objects as go

from search.formatting import distinct_decimals
from search.inspection._figures import TEMPLATE, THESIS_COLOR, FigureUnavailable
from search.training import CLASS_COUNT, ENERGY_ATTR, VALIDATION_SIZE, EnergyCost

COLOR_BY = ("front_end", "time_steps")
FRONT_COLOR = "#222222"
INFEASIBLE_COLOR = "#8c8c8c"
PJ_PER_UJ = 1e6
# Energies that differ by less than this share of the smallest are equal for this figure: the estimate
# multiplies exact operation counts by per-operation costs given to two significant figures (4.6 pJ,
# 0.9 pJ: about 1%), so a smaller difference is below its precision (docs/energy.md, "Reading the figure").
ENERGY_NOISE = 0.01
LOG_AXIS_RATIO = 10.0  # a log energy axis only where the energies span a factor of 10 or more
CHANCE_SE = 3.0  # a trial within this many binomial standard errors of chance accuracy learnt nothing
CHANCE_COLOR = "#b0b0b0"


def chance_ceiling(val_size: int) -> float:
    """The highest validation accuracy still at chance level: 1 in 10 classes plus 3 standard errors of a
    guess on ``val_size`` images (16.4% on 200 images, 12.8% on 1,000, 10.9% on 10,000)."""
    p = 1.0 / CLASS_COUNT
    return p + CHANCE_SE * math.sqrt(p * (1 - p) / val_size)


def _noise_band(energies_uj: Sequence[float]) -> list[float]:
    middle = (min(energies_uj) + max(energies_uj)) / 2
    return [middle * (1 - ENERGY_NOISE), middle * (1 + ENERGY_NOISE)]


def validation_size(study: optuna.Study) -> int | None:
    """The number of validation images the study's accuracies were measured on (None if not recorded)."""
    size = study.user_attrs.get("data", {}).get("val_size")
    return size if isinstance(size, int) else None


def within_noise(energies_uj: Sequence[float]) -> bool:
    """Whether every energy is within :data:`ENERGY_NOISE` of the smallest (so no energy ranks them)."""
    low = min(energies_uj)
    return (max(energies_uj) - low) <= ENERGY_NOISE * low


def energy_of(trial: optuna.trial.FrozenTrial) -> EnergyCost | None:
    """The trial's recorded cost, or None if it has none (pruned before measuring, older study)."""
    data = trial.user_attrs.get(ENERGY_ATTR)
    return None if data is None else EnergyCost.from_dict(data)


def _network(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    return dict(trial.user_attrs.get("config", {}).get("network", {}))


def _feasible(trial: optuna.trial.FrozenTrial) -> bool:
    """Optuna's rule: every constraint value <= 0 (a trial without constraints is feasible)."""
    return all(c <= 0.0 for c in trial.constraints.values())


def measured_trials(trials: Sequence[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
    """Complete trials with an objective value and a recorded energy."""
    return [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.values and energy_of(t) is not None]


def pareto_front(
    trials: Sequence[optuna.trial.FrozenTrial], chance: float | None = None
) -> list[optuna.trial.FrozenTrial]:
    """The feasible measured trials that no other beats on both accuracy (up) and energy (down), leaving
    out trials at chance level (accuracy at most ``chance``): a network that learnt nothing is no trade-off.

    Computed by Optuna (``Study.best_trials`` of an in-memory two-objective view), so a
    single-objective study gets the same front a two-objective one would.
    """
    candidates = [t for t in measured_trials(trials) if _feasible(t) and (chance is None or t.values[0] > chance)]
    if not candidates:
        return []
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        view = optuna.create_study(directions=["maximize", "minimize"])
    finally:
        optuna.logging.set_verbosity(verbosity)
    view.add_trials(
        [
            optuna.trial.create_trial(
                values=[t.values[0], energy_of(t).energy_pj_per_image],  # type: ignore[union-attr]
                user_attrs={"number": t.number},
            )
            for t in candidates
        ]
    )
    on_front = {t.user_attrs["number"] for t in view.best_trials}
    front = [t for t in candidates if t.number in on_front]
    return sorted(front, key=lambda t: energy_of(t).energy_pj_per_image)  # type: ignore[union-attr]


def _group(trial: optuna.trial.FrozenTrial, color_by: str) -> str:
    value = _network(trial).get(color_by)
    if value is None:
        return "unknown"
    return f"T = {value}" if color_by == "time_steps" else f"{value} front end"


def _hover(trial: optuna.trial.FrozenTrial, cost: EnergyCost) -> str:
    net = _network(trial)
    rates = ", ".join(f"{k} {v:.3f}" for k, v in cost.firing_rates.items())
    lines = [
        f"trial {trial.number}"
        + (f" (thesis {trial.user_attrs['thesis_preset']})" if trial.user_attrs.get("thesis_preset") else ""),
        f"accuracy {trial.values[0]:.2%}",
        (
            f"compute {cost.compute_energy_pj_per_image / PJ_PER_UJ:.2f} µJ/image "
            f"(memory {cost.memory_energy_pj_per_image / PJ_PER_UJ:.1f} µJ)"
        ),
        f"MACs {cost.macs_per_image:,.0f}, ACs {cost.acs_per_image:,.0f}",
        f"front end {net.get('front_end', '?')}, T {net.get('time_steps', '?')}",
        f"firing: {rates}",
    ]
    if not _feasible(trial):
        lines.append("infeasible (over the energy budget)")
    return "<br>".join(lines)


def accuracy_energy_figure(
    trials: Sequence[optuna.trial.FrozenTrial],
    *,
    color_by: str = "front_end",
    budget_pj: float | None = None,
    val_size: int | None = None,
) -> go.Figure:
    """Validation accuracy against compute energy per image, the Pareto front drawn.

    Thesis recipes (user attribute ``thesis_preset``) are stars; trials over the
    energy budget are grey crosses; ``budget_pj`` draws the budget as a line.  Trials at
    chance level on ``val_size`` validation images (:func:`chance_ceiling`) are grey rings,
    never on the front.  Where every energy is within :data:`ENERGY_NOISE` of the others,
    the figure draws no front and says so; the axis is linear unless the energies span
    :data:`LOG_AXIS_RATIO`.
    """
    chance = chance_ceiling(val_size or VALIDATION_SIZE)
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {', '.join(COLOR_BY)}, got {color_by!r}")
    measured = measured_trials(trials)
    if not measured:
        raise FigureUnavailable(
            "Accuracy against energy needs at least one complete trial with a "
            "recorded energy; the study has none so far."
        )
    groups = sorted({_group(t, color_by) for t in measured}, key=lambda g: (len(g), g))  # "T = 4" before "T = 16"
    palette = plotly.colors.qualitative.Plotly
    colors = {g: palette[i % len(palette)] for i, g in enumerate(groups)}
    fig = go.Figure()
    for group in groups:
        for thesis in (False, True):
            members = [
                t
                for t in measured
                if _group(t, color_by) == group
                and bool(t.user_attrs.get("thesis_preset")) == thesis
                and _feasible(t)
                and t.values[0] > chance
            ]
            if not members:
                continue
            costs = [energy_of(t) for t in members]
            fig.add_trace(
                go.Scatter(
                    x=[c.energy_pj_per_image / PJ_PER_UJ for c in costs],  # type: ignore[union-attr]
                    y=[t.values[0] for t in members],
                    mode="markers",
                    name=f"{group}, thesis recipe" if thesis else group,
                    legendgroup=group,
                    marker={
                        "color": colors[group],
                        "size": 15 if thesis else 9,
                        "symbol": "star" if thesis else "circle",
                        "line": {"color": FRONT_COLOR if thesis else "white", "width": 1.5 if thesis else 1},
                    },
                    hovertext=[_hover(t, c) for t, c in zip(members, costs)],  # type: ignore[arg-type]
                    hoverinfo="text",
                )
            )
    infeasible = [t for t in measured if not _feasible(t)]
    if infeasible:
        fig.add_trace(
            go.Scatter(
                x=[energy_of(t).energy_pj_per_image / PJ_PER_UJ for t in infeasible],  # type: ignore[union-attr]
                y=[t.values[0] for t in infeasible],
                mode="markers",
                name="over the energy budget",
                marker={"color": INFEASIBLE_COLOR, "size": 9, "symbol": "x"},
                hovertext=[_hover(t, energy_of(t)) for t in infeasible],  # type: ignore[arg-type]
                hoverinfo="text",
            )
        )
    at_chance = [t for t in measured if _feasible(t) and t.values[0] <= chance]
    if at_chance:
        fig.add_trace(
            go.Scatter(
                x=[energy_of(t).energy_pj_per_image / PJ_PER_UJ for t in at_chance],  # type: ignore[union-attr]
                y=[t.values[0] for t in at_chance],
                mode="markers",
                name=f"at chance level (≤ {chance:.1%}): not on the front",
                marker={
                    "color": CHANCE_COLOR,
                    "size": 11,
                    "symbol": ["star-open" if t.user_attrs.get("thesis_preset") else "circle-open" for t in at_chance],
                    "line": {"width": 2},
                },
                hovertext=[_hover(t, energy_of(t)) + "<br>at chance level" for t in at_chance],  # type: ignore[arg-type]
                hoverinfo="text",
            )
        )
    energies = [energy_of(t).energy_pj_per_image / PJ_PER_UJ for t in measured]  # type: ignore[union-attr]
    tied = within_noise(energies)
    front = [] if tied else pareto_front(measured, chance)
    if front:
        fig.add_trace(
            go.Scatter(
                x=[energy_of(t).energy_pj_per_image / PJ_PER_UJ for t in front],  # type: ignore[union-attr]
                y=[t.values[0] for t in front],
                mode="lines",
                line={"color": FRONT_COLOR, "width": 1.5, "dash": "dot", "shape": "hv"},
                name=f"Pareto front ({len(front)} trial{'s' if len(front) != 1 else ''})",
                hoverinfo="skip",
            )
        )
    if budget_pj is not None:
        # A trace, not add_vline: shapes on a log axis take log10 coordinates.
        accuracies = [t.values[0] for t in measured]
        fig.add_trace(
            go.Scatter(
                x=[budget_pj / PJ_PER_UJ] * 2,
                y=[min(accuracies), max(accuracies)],
                mode="lines",
                line={"color": THESIS_COLOR, "dash": "dash"},
                name=f"energy budget ({budget_pj / PJ_PER_UJ:g} µJ)",
                hoverinfo="skip",
            )
        )
    log = max(energies) >= LOG_AXIS_RATIO * min(energies)
    title = "Accuracy against energy per image (45 nm estimate, MAC + AC)"
    if tied:
        low, high = min(energies), max(energies)
        digits = distinct_decimals([low, high], least=2)
        title += (
            f"<br><sub>Energies {low:.{digits}f} to {high:.{digits}f} µJ differ by {100 * (high - low) / low:.2f}%, "
            f"within the {100 * ENERGY_NOISE:.0f}% the estimate can tell apart:<br>equal energy, no Pareto front; "
            "compare accuracy alone</sub>"
        )
    return fig.update_layout(
        template=TEMPLATE,
        title=title,
        xaxis={
            "title": f"compute energy per image (µJ{', log scale' if log else ''})",
            "type": "log" if log else "linear",
            # Energies within noise: the axis spans the 1% band around them, so that they sit together as the
            # estimate sees them, with ticks at its precision, not spread over the page by their last digits.
            **({"range": _noise_band(energies), "tickformat": ".2f"} if tied else {}),
        },
        yaxis={"title": "validation accuracy", "tickformat": ".1%"},
        legend={"title": "colour: " + ("front end" if color_by == "front_end" else "time steps")},
        margin={"t": 125 if tied else 80},
    )
