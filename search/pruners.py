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

from search.cli import add_storage_flags, format_table, make_parser, percent, plural, quiet_optuna
from search.errors import UserError, command
from search.settings import PRUNERS


@command
def main(argv: list[str]) -> int:
    parser = make_parser("search.pruners", __doc__)
    add_storage_flags(parser)
    args = parser.parse_args(argv)
    from search.pruner_replay import full_curves, replay
    from search.storage import load_study, open_storage

    quiet_optuna()
    study = load_study(open_storage(args.storage, create=False), args.study, args.storage)
    curves, epochs = full_curves(study)
    if len(curves) < 5:
        raise UserError(f"study {args.study!r} has {len(curves)} complete trials with full curves; "
                        "replaying needs at least 5 from a search with --pruner none")
    results = [replay(curves, name, epochs) for name in PRUNERS]
    print(f"{len(curves)} trials of {plural(epochs, 'epoch')} from study {args.study!r}, replayed in order")
    print(format_table(
        ["pruner", "pruned", "epochs trained", "epochs saved", "best trial kept", "best val acc kept"],
        [[r.pruner, r.pruned, r.epochs_trained, f"{1 - r.epochs_trained / r.epochs_full:.0%}",
          "yes" if r.best_kept else "no", percent(r.best_found)] for r in results],
    ))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
