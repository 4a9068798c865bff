"""python -m search.fidelity: does a cheap fidelity rank configurations as the full budget does?

Reads what a study recorded, trains nothing.  For each epoch, Kendall's tau between the
trials' validation accuracy there and at their last epoch (over the complete trials that ran
every epoch; a study searched with --pruner none measures it without a rung's selection);
with --against, between studies of the same space at other budgets, over the configurations
both trained (search.run --start-from queues the same ones); where search.final has run,
between the search's validation (the trials' values, then each epoch's) and the retrains'
test means.  Each with a 95% interval; the pruner's rungs are marked, and a rung that barely
predicts the end gets a warning in words.
Writes the figure to <results>/<study>/fidelity.html (docs/search.md, "The fidelity check").

    python -m search.run --study probe --pruner none --sampler random --no-thesis --trials 16
    python -m search.fidelity --study probe
    python -m search.fidelity --study probe --pruner hyperband --min-resource 3   # its rungs marked
    python -m search.run --study probe-10k --start-from probe --train-size 10000 --pruner none --no-thesis --trials 16
    python -m search.fidelity --study probe --against probe-10k
    python -m search.fidelity --study best          # the study search.final --study best would pick
"""

from __future__ import annotations

import argparse
from pathlib import Path

from search import inspection, store, tuning
from search.cli import add_storage_flags, first_rung_help, make_parser, positive_int, quiet_optuna, study_name
from search.errors import UsageError, command
from search.formatting import plural


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = make_parser("search.fidelity", __doc__)
    add_storage_flags(parser, best=True, results=True)
    parser.add_argument(
        "--against",
        action="append",
        default=[],
        type=study_name,
        metavar="STUDY",
        help="another study of the same space (at another --train-size or --epochs) to rank against, "
        "over the configurations both completed; repeat for several",
    )
    parser.add_argument(
        "--pruner",
        choices=[p for p in tuning.PRUNERS if p != "none"],
        default=None,
        help="mark this pruner's rungs and warn of them, instead of the study's own pruner's: what a study "
        "searched with --pruner none says of a pruner it could have used",
    )
    parser.add_argument(
        "--min-resource",
        type=positive_int,
        default=None,
        metavar="EPOCH",
        help=f"with --pruner: its first rung, as search.run --min-resource (default as search.run's: "
        f"{first_rung_help()})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to write the figure (default <results>/<study>/fidelity.html, beside the storage)",
    )
    return parser.parse_args(argv)


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.study in args.against:
        raise UsageError(f"--against {args.study}: that is the study itself")
    if args.min_resource is not None and args.pruner is None:
        raise UsageError("--min-resource sets the first rung of --pruner: add --pruner hyperband, median or sha")
    quiet_optuna(errors_only=True)
    storage = store.open_storage(args.storage, create=False)
    study, why = tuning.pick_study(storage, args.study, args.storage)
    if why:
        print(why)
    if study.study_name in args.against:
        raise UsageError(f"--against {study.study_name}: that is the study --study best picked")
    others = [store.load_study(storage, name, args.storage) for name in args.against]
    folder = store.study_dir(store.results_root(args.storage, args.results_dir), study.study_name)
    out = args.out or folder / "fidelity.html"
    store.check_file_writable(out, "the figure")
    pruner = None if args.pruner is None else (args.pruner, args.min_resource)
    result = inspection.fidelity(study, folder, others, pruner)
    problem = tuning.epoch_ranking_problem(study)
    if problem is None:
        print(
            f"study {study.study_name!r}: {plural(result.epochs[0].n, 'complete trial')} ran every epoch; "
            "Kendall's tau-b of each ranking against the one it should predict"
        )
    else:
        print(f"study {study.study_name!r}: no ranking of its epochs: {problem}")
    if not result.rows:
        print("nothing to rank: give another study of the same space (--against), or retrain trials (search.final)")
        return 0
    print(tuning.agreement_table(result.rows))
    for line in result.warnings:
        print(f"warning: {line}")
    page = inspection.fidelity_page(result)
    if page is None:
        print("no figure: no ranking has any spread yet")
        return 0
    store.write_text(out, page)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
