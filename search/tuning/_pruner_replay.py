"""Replaying recorded validation curves through Optuna's pruners (``python -m search.pruners``)."""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from search.tuning._fidelity import trials_run_through
from search.tuning._study import make_pruner


@dataclass(frozen=True)
class Replay:
    pruner: str
    pruned: int
    epochs_trained: int
    epochs_full: int
    best_kept: bool
    best_found: float


def full_curves(study: optuna.Study) -> tuple[list[list[float]], int]:
    """The validation curves of the complete trials that ran every epoch, and that epoch count."""
    trials, epochs = trials_run_through(study)
    return [[t.intermediate_values[e] for e in range(1, epochs + 1)] for t in trials], epochs


def replay(curves: list[list[float]], pruner_name: str, epochs: int, min_resource: int = 1) -> Replay:
    """Feed each curve to a fresh in-memory study with ``pruner_name``; stop where it prunes."""
    study = optuna.create_study(direction="maximize", pruner=make_pruner(pruner_name, epochs, min_resource))
    trained, pruned, survivors = 0, 0, []
    for index, curve in enumerate(curves):
        trial = study.ask()
        for step, value in enumerate(curve, start=1):
            trial.report(value, step)
            trained += 1
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                pruned += 1
                break
        else:
            study.tell(trial, max(curve))
            survivors.append(index)
    best = max(range(len(curves)), key=lambda i: max(curves[i]))
    return Replay(
        pruner=pruner_name,
        pruned=pruned,
        epochs_trained=trained,
        epochs_full=sum(len(c) for c in curves),
        best_kept=best in survivors,
        best_found=max((max(curves[i]) for i in survivors), default=0.0),
    )
