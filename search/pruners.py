"""python -m search.pruners: which pruner would have saved the most epochs on a real study?

Takes a study searched without pruning (``search.run --pruner none``), whose trials
all ran every epoch, and replays their recorded validation curves, in their order,
through each of Optuna's pruners.  For each pruner it prints how many trials it would
have stopped, the epochs it would have saved, and whether the study's best trial
would have survived.  The replay holds the trials fixed: in a live search, pruning
also changes what the sampler learns from, which this does not measure.

    python -m search.run --study replay --pruner none --trials 30 --epochs 6 --train-size 5000
    python -m search.pruners --study replay                     # pruning from epoch 5 of 6, as search.run
    python -m search.pruners --study replay --min-resource 1    # from the first epoch
"""

from __future__ import annotations

from search import store, tuning
from search.cli import add_storage_flags, first_rung_help, make_parser, positive_int, quiet_optuna
from search.errors import UsageError, UserError, command
from search.formatting import format_table, percent, plural


@command
def main(argv: list[str]) -> int:
    parser = make_parser("search.pruners", __doc__)
    add_storage_flags(parser)
    parser.add_argument(
        "--min-resource",
        type=positive_int,
        default=None,
        metavar="EPOCH",
        help="the earliest epoch each pruner may prune at, as search.run --min-resource (default as "
        f"search.run's: {first_rung_help()})",
    )
    args = parser.parse_args(argv)
    quiet_optuna()
    study = store.load_study(store.open_storage(args.storage, create=False), args.study, args.storage)
    curves, epochs = tuning.full_curves(study)
    if len(curves) < 5:
        raise UserError(
            f"study {args.study!r} has {len(curves)} complete trials with full curves; "
            "replaying needs at least 5 from a search with --pruner none"
        )
    first = args.min_resource or tuning.default_min_resource(epochs)
    if first >= epochs:
        raise UsageError(
            f"--min-resource {first} is not below the {plural(epochs, 'epoch')} "
            f"of the curves of study {args.study!r}: a pruner could prune only after the last"
        )
    results = [tuning.replay(curves, name, epochs, first) for name in tuning.PRUNERS]
    print(
        f"{len(curves)} trials of {plural(epochs, 'epoch')} from study {args.study!r}, replayed in order, "
        f"pruning from epoch {first}"
    )
    print(
        format_table(
            ["pruner", "pruned", "epochs trained", "epochs saved", "best trial kept", "best val acc kept"],
            [
                [
                    r.pruner,
                    r.pruned,
                    r.epochs_trained,
                    f"{1 - r.epochs_trained / r.epochs_full:.0%}",
                    "yes" if r.best_kept else "no",
                    percent(r.best_found),
                ]
                for r in results
            ],
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
