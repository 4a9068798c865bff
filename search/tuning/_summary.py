"""The lines search.run prints: one per finished trial, and the study's summary at the end."""

from __future__ import annotations

import optuna

from search.formatting import parameter_value, percent, plural
from search.store import ENERGY_ATTR, ENERGY_FIELD, TrialRecord, mask_url
from search.tuning._fidelity import epoch_agreement, fidelity_warnings
from search.tuning._study import epochs_saved, study_settings

# Ten classes: 10% is a guess.  A trial that ends below this learnt next to nothing (a silent
# hidden layer, a rate too high); it is shown as such, not hidden.
NEAR_CHANCE = 0.15


def trial_state(record: TrialRecord) -> str:
    state = record.status if record.status in ("diverged", "silent") else record.state.name.lower()
    if record.best_val_acc is not None and record.best_val_acc < NEAR_CHANCE and state not in ("diverged", "silent"):
        state += ", near chance"
    return state


def energy_text(trial: optuna.trial.FrozenTrial) -> str:
    cost = trial.user_attrs.get(ENERGY_ATTR)
    if not isinstance(cost, dict) or ENERGY_FIELD not in cost:
        return ""
    return f"  {cost[ENERGY_FIELD] / 1e6:.1f} uJ/image"


def _best(study: optuna.Study) -> str:
    if len(study.directions) > 1:
        try:
            return f"front {len(study.best_trials)}"
        except ValueError:
            return "front 0"
    try:
        return f"best {percent(study.best_value)}"
    except ValueError:
        return "best -"


def trial_line(study: optuna.Study, trial: optuna.trial.FrozenTrial, budget: int) -> str:
    record = TrialRecord.of(trial)
    thesis = " (thesis)" if record.is_thesis else ""
    return (
        f"trial {trial.number:>3}  {record.strategy + thesis:<22} {trial_state(record):<9} "
        f"val {percent(record.best_val_acc):>7}  epochs {record.epochs_run}/{budget}  "
        f"{record.wall_s:.0f}s{energy_text(trial)}  {_best(study)}"
        + (f"  (from {record.origin})" if record.started_from else "")
    )


def pareto_lines(study: optuna.Study) -> list[str]:
    """The Pareto-optimal trials of a two-objective study, best accuracy first."""
    front = sorted(study.best_trials, key=lambda t: -(t.values or [0])[0])
    lines = [f"Pareto front: {plural(len(front), 'trial')} (validation accuracy, compute energy per image)"]
    for t in front:
        record = TrialRecord.of(t)
        lines.append(
            f"  trial {t.number:>3}  {record.strategy:<14} {percent(t.values[0]):>7}  {record.energy_uj:8.2f} uJ"
        )
    return lines


def rung_warnings(study: optuna.Study) -> list[str]:
    """The fidelity check's warnings for this study's pruning rungs (``search.fidelity`` shows the rest)."""
    if len(study.directions) > 1:
        return []
    return fidelity_warnings(epoch_agreement(study, study_settings(study)))


def summary(study: optuna.Study, storage_url: str, next_command: str, warnings: list[str] | None = None) -> str:
    """The study's summary; ``warnings``: its :func:`rung_warnings`, where the caller has them already."""
    trials = study.get_trials(deepcopy=False)
    counts = {s: sum(t.state == s for t in trials) for s in optuna.trial.TrialState}
    lines = [
        f"study {study.study_name!r} in {mask_url(storage_url)}: "
        f"{counts[optuna.trial.TrialState.COMPLETE]} complete, {counts[optuna.trial.TrialState.PRUNED]} pruned, "
        f"{counts[optuna.trial.TrialState.FAIL]} failed; pruning saved {plural(epochs_saved(study), 'epoch')}",
    ]
    if not counts[optuna.trial.TrialState.COMPLETE]:
        return "\n".join(lines)
    if len(study.directions) > 1:
        lines += pareto_lines(study)
        lines.append(f"next: {next_command} --trial N  (a trial of the front)")
        return "\n".join(lines)
    try:
        best = study.best_trial
    except ValueError:  # a constrained study with no feasible trial yet
        lines.append("no complete trial within the energy budget yet")
        return "\n".join(lines)
    lines.append(
        f"best trial {best.number}: validation accuracy {percent(best.value)} "
        f"(epoch {TrialRecord.of(best).best_epoch}){energy_text(best)}"
    )
    lines += [f"  {k} = {parameter_value(v)}" for k, v in best.params.items()]
    warnings = rung_warnings(study) if warnings is None else warnings
    lines += [f"warning: {w} (python -m search.fidelity)" for w in warnings]
    lines.append(f"next: {next_command}")
    return "\n".join(lines)
