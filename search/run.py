"""python -m search.run: search training recipes with Optuna, pruning trials that fall behind.

--trials N means "until the study holds N finished trials (complete or pruned)",
counting the ones already there: rerunning the same command after a stop resumes
the study instead of starting over, and does nothing once N are finished.

    python -m search.run --trials 100
    python -m search.run --trials 30 --epochs 5 --train-size 10000 --strategies baseline,sgd,combined
    python -m search.run --show-space                      # the space of the study (stored or new)
    python -m search.run --trials 100 --workers 2          # two worker processes, one study
    python -m search.run --trials 100 --storage postgresql+psycopg://USER@HOST/DB   # on each machine

Several workers (here or on other machines, on the same --storage and --study) share
the target: together they stop at --trials finished trials.  A trial whose worker
dies is marked failed after --grace-period seconds without a heartbeat and run
again, once, by another worker (docs/distributed.md).
"""

from __future__ import annotations

import argparse
import math
import os
from typing import TYPE_CHECKING

from search import inspection, store, training, tuning
from search.cli import (
    add_compile_flag,
    add_runtime_flags,
    add_storage_flags,
    first_rung_help,
    image_count,
    make_parser,
    positive_float,
    positive_int,
    quiet_optuna,
    seed_number,
    study_name,
)
from search.errors import command

if TYPE_CHECKING:
    import optuna


def _objective(text: str) -> str:
    try:
        return tuning.parse_objective(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _fixed(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, e.g. schedule=onecycle, got {text!r}")
    return name.strip(), value.strip()


# Units --max-energy accepts, in picojoules, as a user writes them (matched case-insensitively).
ENERGY_UNITS = {"uJ": 1e6, "µJ": 1e6, "nJ": 1e3, "pJ": 1.0}
ENERGY_UNITS_TEXT = "an energy per image in uJ, µJ, nJ or pJ (a bare number is pJ), e.g. 20uJ"


def _energy_budget(text: str) -> float:
    """Picojoules per image from ``20uJ`` (also ``µJ``, ``nJ``, ``pJ``) or a bare number of picojoules."""
    number, scale = text.strip(), 1.0
    for unit, factor in ENERGY_UNITS.items():
        if number.lower().endswith(unit.lower()):
            number, scale = number[: -len(unit)].strip(), factor
            break
    try:
        value = float(number) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {ENERGY_UNITS_TEXT}; got {text.strip()!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text.strip()}")  # as typed, not 0.0
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite energy, e.g. 20uJ, got {text!r}")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = make_parser("search.run", __doc__)
    parser.add_argument(
        "--trials",
        type=positive_int,
        default=100,
        help="finished trials the study should hold, counting earlier runs (default 100)",
    )
    add_storage_flags(parser)
    group = parser.add_argument_group("what the study searches (fixed when it is created)")
    group.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help=f"most epochs one trial trains (default {training.DEFAULT_EPOCHS})",
    )
    group.add_argument(
        "--train-size",
        type=image_count(training.SEARCH_TRAIN_SIZE, "search's training part"),
        default=None,
        help="train on a stratified subset of this many images (default all 50,000)",
    )
    group.add_argument(
        "--strategies",
        default=None,
        help=f"comma-separated strategies to search (default all: {','.join(training.STRATEGY_NAMES)})",
    )
    group.add_argument(
        "--space",
        choices=tuning.SPACES,
        default=None,
        help="'full' also searches front end, encoding, readout, threshold (default 'default')",
    )
    group.add_argument(
        "--fix",
        action="append",
        type=_fixed,
        default=None,
        metavar="NAME=VALUE",
        help="give every trial that draws parameter NAME this value and search the rest (Optuna's "
        "PartialFixedSampler); repeat for several, e.g. --fix schedule=onecycle "
        "--fix batch_norm=true; names as in --show-space",
    )
    group.add_argument(
        "--no-thesis",
        dest="thesis",
        action="store_false",
        default=None,
        help="do not queue the thesis's seven recipes as the first trials",
    )
    group.add_argument(
        "--objective",
        type=_objective,
        default=None,
        metavar="accuracy[,energy]",
        help="'accuracy' (default), or 'accuracy,energy': a two-objective (Pareto) search that "
        "also minimises the compute energy per image; Optuna prunes no such trial",
    )
    group.add_argument(
        "--max-energy",
        type=_energy_budget,
        default=None,
        metavar="ENERGY",
        help=f"an energy budget: compute energy per image, {ENERGY_UNITS_TEXT} (docs/energy.md); "
        "the best trial is the best within it, and pruning stays on",
    )
    group.add_argument(
        "--val-size",
        type=image_count(training.VALIDATION_SIZE, "validation part"),
        default=None,
        help=f"validate on a stratified subset of this many images (default all "
        f"{training.VALIDATION_SIZE:,}; smaller for quick tests)",
    )
    group = parser.add_argument_group("how it searches")
    group.add_argument("--pruner", choices=tuning.PRUNERS, default=None, help=f"default {tuning.DEFAULT_PRUNER}")
    group.add_argument(
        "--min-resource",
        type=positive_int,
        default=None,
        metavar="EPOCH",
        help="the earliest epoch a trial can be pruned at: the pruner's first rung "
        "(Hyperband's and successive halving's min_resource, the median pruner's "
        f"n_warmup_steps; default: {first_rung_help()}, where a ranking predicts the last epoch's, "
        "docs/search.md#the-default-study)",
    )
    group.add_argument("--sampler", choices=tuning.SAMPLERS, default=None, help=f"default {tuning.DEFAULT_SAMPLER}")
    group.add_argument(
        "--seed", type=seed_number, default=None, help="sampler and training seed, for a reproducible search"
    )
    group.add_argument(
        "--timeout",
        type=positive_float,
        default=None,
        metavar="S",
        help="stop starting trials after S seconds; the running ones finish and the same command "
        "continues the study (make run: 10200, a sitting of at most 3 hours here)",
    )
    group.add_argument(
        "--start-from",
        default=None,
        type=study_name,
        metavar="STUDY",
        help="when the study is created, queue the complete searched configurations of STUDY (same storage, "
        "same space; best first, after the thesis recipes) to be trained again at this study's budget: a "
        "long search builds on a short one",
    )
    group.add_argument(
        "--start-top",
        type=positive_int,
        default=None,
        metavar="K",
        help="with --start-from: queue only its K best configurations (default all)",
    )
    group = parser.add_argument_group("workers and crash recovery")
    group.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="worker processes on this machine, sharing the study and the CPU cores, "
        "one GPU each when there are several (default 1; at most the CPU cores)",
    )
    group.add_argument(
        "--heartbeat-interval",
        type=positive_int,
        default=tuning.HEARTBEAT_INTERVAL_S,
        metavar="S",
        help=f"seconds between a running trial's heartbeats (default {tuning.HEARTBEAT_INTERVAL_S})",
    )
    group.add_argument(
        "--grace-period",
        type=positive_int,
        default=tuning.GRACE_PERIOD_S,
        metavar="S",
        help="seconds without a heartbeat after which a trial's worker counts as dead: "
        f"the trial is marked failed and run again once (default {tuning.GRACE_PERIOD_S})",
    )
    group.add_argument(
        "--storage-patience",
        type=positive_float,
        default=store.STORAGE_PATIENCE_S,
        metavar="S",
        help="seconds a worker retries a storage that does not answer (a database restart or failover), "
        f"with backoff, before it stops in one line (default {store.STORAGE_PATIENCE_S:.0f})",
    )
    group.add_argument(
        "--create-only",
        action="store_true",
        help="create the study (its settings, the thesis recipes queued) and exit without training, or check "
        "the one there against the flags: the first step of a cluster job, before its workers start "
        "(docs/distributed.md)",
    )
    # Set by the parent for the worker processes it starts (search.tuning._worker_processes).
    group.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    group.add_argument("--threads", type=positive_int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--show-space",
        action="store_true",
        help="print the search space of the study (stored, or as it would be created) and exit",
    )
    add_runtime_flags(parser)
    add_compile_flag(parser)
    args = parser.parse_args(argv)
    if args.study == store.BEST_STUDY:
        parser.error(
            f"argument --study: '{store.BEST_STUDY}' is reserved (search.final and search.report "
            "use it to pick a study); choose another name"
        )
    return args


def request_from(args: argparse.Namespace) -> tuning.StudyRequest:
    strategies = None
    if args.strategies is not None:
        strategies = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    return tuning.StudyRequest(
        epochs=args.epochs,
        train_size=args.train_size,
        strategies=strategies,
        space=args.space,
        val_size=args.val_size,
        thesis=args.thesis,
        pruner=args.pruner,
        min_resource=args.min_resource,
        sampler=args.sampler,
        seed=args.seed,
        objective=args.objective,
        max_energy_pj=args.max_energy,
        fixed=None if args.fix is None else tuple(args.fix),
    )


def _publish_search(study: optuna.Study) -> None:
    """The dashboard's figures of the search (loaded on first use: --help and a refused flag load no plotly)."""
    inspection.publish_search(study)


def search_run(args: argparse.Namespace, argv: list[str]) -> tuning.SearchRun:
    """The typed request the library runs: the flags, and for a worker the storage its parent passed."""
    storage = args.storage
    if args.worker_index is not None:
        storage = os.environ.get(tuning.STORAGE_ENV, storage)  # the parent passes it here, not in argv
    return tuning.SearchRun(
        study=args.study,
        storage=storage,
        request=request_from(args),
        trials=args.trials,
        argv=tuple(argv),
        workers=args.workers,
        device=args.device,
        precision=args.precision,
        neuron_backend=args.neuron_backend,
        compile=args.compile,
        timeout=args.timeout,
        heartbeat_interval=args.heartbeat_interval,
        grace_period=args.grace_period,
        storage_patience=args.storage_patience,
        data_dir=args.data_dir,
        download=args.download,
        worker_index=args.worker_index,
        threads=args.threads,
        debug=args.debug,
        start_from=args.start_from,
        start_top=args.start_top,
        create_only=args.create_only,
        publish=_publish_search,
    )


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    run = search_run(args, argv)
    if args.show_space:
        print(tuning.show_study_space(run))
        return 0
    # Our own line per trial replaces Optuna's; its warning for a trial failed by Ctrl-C
    # (with a traceback) would only repeat what the "interrupted" line says.
    quiet_optuna(errors_only=True)
    try:
        return tuning.run_search(run)
    except KeyboardInterrupt:
        if not run.is_worker:
            raise
        return 130  # stopped by its parent, which says so once for all workers


if __name__ == "__main__":
    raise SystemExit(main())
