"""The lines search.run prints: one per finished trial, and the study's summary at the end."""

from __future__ import annotations

import optuna

from search.cli import percent, plural
from search.storage import mask_url
from search.study import epochs_saved
from search.trial_record import TrialRecord

# Ten classes: 10% is a guess.  A trial that ends below this learnt next to nothing (a silent
# hidden layer, a rate too high); it is shown as such, not hidden.
NEAR_CHANCE = 0.15


def trial_state(record: TrialRecord) -> str:
    state = "diverged" if record.status == "diverged" else record.state.name.lower()
    if record.best_val_acc is not None and record.best_val_acc < NEAR_CHANCE and state != "diverged":
        state += ", near chance"
    return state


def trial_line(study: optuna.Study, trial: optuna.trial.FrozenTrial, budget: int) -> str:
    record = TrialRecord.of(trial)
    try:
        best = percent(study.best_value)
    except ValueError:
        best = "-"
    thesis = " (thesis)" if record.is_thesis else ""
    return (f"trial {trial.number:>3}  {record.strategy + thesis:<22} {trial_state(record):<9} "
            f"val {percent(record.best_val_acc):>7}  epochs {record.epochs_run}/{budget}  "
            f"{record.wall_s:.0f}s  best {best}")


def summary(study: optuna.Study, storage_url: str, next_command: str) -> str:
    trials = study.get_trials(deepcopy=False)
    counts = {s: sum(t.state == s for t in trials) for s in optuna.trial.TrialState}
    lines = [
        f"study {study.study_name!r} in {mask_url(storage_url)}: "
        f"{counts[optuna.trial.TrialState.COMPLETE]} complete, {counts[optuna.trial.TrialState.PRUNED]} pruned, "
        f"{counts[optuna.trial.TrialState.FAIL]} failed; pruning saved {plural(epochs_saved(study), 'epoch')}",
    ]
    if counts[optuna.trial.TrialState.COMPLETE]:
        best = study.best_trial
        lines.append(f"best trial {best.number}: validation accuracy {percent(best.value)} "
                     f"(epoch {TrialRecord.of(best).best_epoch})")
        lines += [f"  {k} = {v}" for k, v in best.params.items()]
        lines.append(f"next: {next_command}")
    return "\n".join(lines)
