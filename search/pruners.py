"""python -m search.pruners: which pruner would have saved the most epochs on a real study?

Takes a study searched without pruning (``search.run --pruner none``), whose trials
all ran every epoch, and replays their recorded validation curves, in their order,
through each of Optuna's pruners.  For each pruner it prints how many trials it would
have stopped, the epochs it would have saved, and whether the study's best trial
would have survived.  The replay holds the trials fixed: in a live search, pruning
also changes what the sampler learns from, which this does not measure.

    python -m search.run --study replay --pruner none --trials 30 --epochs 6 --train-size 5000
    python -m search.pruners --study replay
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import optuna

from search.cli import Parser, format_table, percent, quiet_optuna
from search.errors import UserError, command
from search.storage import DEFAULT_STORAGE, load_study, open_storage
from search.study import PRUNERS, make_pruner


@dataclass(frozen=True)
class Replay:
    pruner: str
    pruned: int
    epochs_trained: int
    epochs_full: int
    best_kept: bool
    best_found: float


def replay(curves: list[list[float]], pruner_name: str, epochs: int) -> Replay:
    """Feed each curve to a fresh in-memory study with ``pruner_name``; stop where it prunes."""
    study = optuna.create_study(direction="maximize", pruner=make_pruner(pruner_name, epochs))
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
        pruner=pruner_name, pruned=pruned, epochs_trained=trained,
        epochs_full=sum(len(c) for c in curves), best_kept=best in survivors,
        best_found=max((max(curves[i]) for i in survivors), default=0.0),
    )


@command
def main(argv: list[str]) -> int:
    parser = Parser(prog="python -m search.pruners", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", required=True, help="a study searched with --pruner none")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"Optuna storage URL (default {DEFAULT_STORAGE})")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    quiet_optuna()
    study = load_study(open_storage(args.storage, create=False), args.study, args.storage)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    epochs = max((len(t.intermediate_values) for t in complete), default=0)
    curves = [[t.intermediate_values[s] for s in sorted(t.intermediate_values)]
              for t in complete if len(t.intermediate_values) == epochs]
    if len(curves) < 5:
        raise UserError(f"study {args.study!r} has {len(curves)} complete trials with full curves; "
                        "replaying needs at least 5 from a search with --pruner none")
    results = [replay(curves, name, epochs) for name in PRUNERS]
    print(f"{len(curves)} trials of {epochs} epochs from study {args.study!r}, replayed in order")
    print(format_table(
        ["pruner", "pruned", "epochs trained", "epochs saved", "best trial kept", "best val acc kept"],
        [[r.pruner, r.pruned, r.epochs_trained, f"{1 - r.epochs_trained / r.epochs_full:.0%}",
          "yes" if r.best_kept else "no", percent(r.best_found)] for r in results],
    ))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
