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
import logging
import math
import os
import shlex
import signal
import sys
import threading
from typing import Any

from search.claim_loop import GRACE_PERIOD_S, HEARTBEAT_INTERVAL_S
from search.cli import (
    add_compile_flag, add_runtime_flags, add_storage_flags, make_parser, positive_float, positive_int,
)
from search.config import DEFAULT_EPOCHS, STRATEGY_NAMES
from search.errors import command
from search.paths import BEST_STUDY, DEFAULT_STORAGE
from search.settings import DEFAULT_PRUNER, DEFAULT_SAMPLER, PRUNERS, SAMPLERS, SPACES, StudyRequest, parse_objective

VALIDATION_IMAGES = 10_000


def _objective(text: str) -> str:
    try:
        return parse_objective(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _fixed(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, e.g. schedule=onecycle, got {text!r}")
    return name.strip(), value.strip()


def _energy_budget(text: str) -> float:
    value = positive_float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number of picojoules, got {text!r}")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = make_parser("search.run", __doc__)
    parser.add_argument("--trials", type=positive_int, default=100,
                        help="finished trials the study should hold, counting earlier runs (default 100)")
    add_storage_flags(parser)
    group = parser.add_argument_group("what the study searches (fixed when it is created)")
    group.add_argument("--epochs", type=positive_int, default=None,
                       help=f"most epochs one trial trains (default {DEFAULT_EPOCHS})")
    group.add_argument("--train-size", type=positive_int, default=None,
                       help="train on a stratified subset of this many images (default all 50,000)")
    group.add_argument("--strategies", default=None,
                       help=f"comma-separated strategies to search (default all: {','.join(STRATEGY_NAMES)})")
    group.add_argument("--space", choices=SPACES, default=None,
                       help="'full' also searches front end, encoding, readout, threshold (default 'default')")
    group.add_argument("--fix", action="append", type=_fixed, default=None, metavar="NAME=VALUE",
                       help="give every trial that draws parameter NAME this value and search the rest (Optuna's "
                            "PartialFixedSampler); repeat for several, e.g. --fix schedule=onecycle "
                            "--fix batch_norm=true; names as in --show-space")
    group.add_argument("--no-thesis", dest="thesis", action="store_false", default=None,
                       help="do not queue the thesis's seven recipes as the first trials")
    group.add_argument("--objective", type=_objective, default=None, metavar="accuracy[,energy]",
                       help="'accuracy' (default), or 'accuracy,energy': a two-objective (Pareto) search that "
                            "also minimises the compute energy per image; Optuna prunes no such trial")
    group.add_argument("--max-energy", type=_energy_budget, default=None, metavar="PJ",
                       help="an energy budget: compute energy per image in picojoules (docs/energy.md); "
                            "the best trial is the best within it, and pruning stays on")
    group.add_argument("--val-size", type=positive_int, default=None,
                       help=f"validate on a stratified subset of this many images (default all "
                            f"{VALIDATION_IMAGES:,}; smaller for quick tests)")
    group = parser.add_argument_group("how it searches")
    group.add_argument("--pruner", choices=PRUNERS, default=None, help=f"default {DEFAULT_PRUNER}")
    group.add_argument("--min-resource", type=positive_int, default=None, metavar="EPOCH",
                       help="the earliest epoch a trial can be pruned at: the pruner's first rung "
                            "(Hyperband's and successive halving's min_resource, the median pruner's "
                            "n_warmup_steps; default 1). Later suits a schedule that warms up (one-cycle)")
    group.add_argument("--sampler", choices=SAMPLERS, default=None, help=f"default {DEFAULT_SAMPLER}")
    group.add_argument("--seed", type=int, default=None, help="sampler and training seed, for a reproducible search")
    group.add_argument("--timeout", type=positive_float, default=None,
                       help="stop starting trials after this many seconds")
    group = parser.add_argument_group("workers and crash recovery")
    group.add_argument("--workers", type=positive_int, default=1,
                       help="worker processes on this machine, sharing the study and the CPU cores, "
                            "one GPU each when there are several (default 1; at most the CPU cores)")
    group.add_argument("--heartbeat-interval", type=positive_int, default=HEARTBEAT_INTERVAL_S, metavar="S",
                       help=f"seconds between a running trial's heartbeats (default {HEARTBEAT_INTERVAL_S})")
    group.add_argument("--grace-period", type=positive_int, default=GRACE_PERIOD_S, metavar="S",
                       help="seconds without a heartbeat after which a trial's worker counts as dead: "
                            f"the trial is marked failed and run again once (default {GRACE_PERIOD_S})")
    # Set by the parent for the worker processes it starts (search.worker_processes).
    group.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    group.add_argument("--threads", type=positive_int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--show-space", action="store_true",
                        help="print the search space of the study (stored, or as it would be created) and exit")
    add_runtime_flags(parser)
    add_compile_flag(parser)
    args = parser.parse_args(argv)
    if args.study == BEST_STUDY:
        parser.error(f"argument --study: '{BEST_STUDY}' is reserved (search.final and search.report "
                     "use it to pick a study); choose another name")
    return args


def request_from(args: argparse.Namespace) -> StudyRequest:
    strategies = None
    if args.strategies is not None:
        strategies = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    return StudyRequest(epochs=args.epochs, train_size=args.train_size, strategies=strategies, space=args.space,
                        val_size=args.val_size, thesis=args.thesis, pruner=args.pruner,
                        min_resource=args.min_resource, sampler=args.sampler,
                        seed=args.seed, objective=args.objective, max_energy_pj=args.max_energy,
                        fixed=None if args.fix is None else tuple(args.fix))


def final_command(study: str, storage: str) -> str:
    from search.storage import mask_url

    parts = ["python", "-m", "search.final", "--study", study]
    if storage != DEFAULT_STORAGE:
        parts += ["--storage", mask_url(storage)]
    return shlex.join(parts)


# Set by a Ctrl-C or SIGTERM.  Python drops a KeyboardInterrupt raised while a garbage-collection
# callback runs (SQLAlchemy has some), so the run also checks this after every epoch and trial.
STOP = threading.Event()


def interrupt_on_signals(debug: bool = False) -> None:
    """Ctrl-C and SIGTERM end a run: the running trial is marked failed and queued again."""

    def handler(signum: int, frame: Any) -> None:
        STOP.set()
        if not debug:
            silence_storage_cleanup()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def silence_storage_cleanup() -> None:
    """Hide SQLAlchemy's log of the cleanup that an interrupt breaks.

    A KeyboardInterrupt raised inside a query makes SQLAlchemy invalidate the connection and
    then fail to close its cursor, which it logs with a traceback ("Error closing cursor").
    With no handler configured, Python's last-resort handler would print that to stderr after
    the one "interrupted" line; the interrupt itself is what the user needs to know.  A handler
    configured on the root logger still gets them, and ``--debug`` keeps them.
    """
    logger = logging.getLogger("sqlalchemy")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def check_stop() -> None:
    """Raise the KeyboardInterrupt that a signal asked for, if Python dropped it on the way."""
    if STOP.is_set():
        raise KeyboardInterrupt


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.worker_index is None:
        return search_study(args, argv)
    from search.worker_processes import STORAGE_ENV

    args.storage = os.environ.get(STORAGE_ENV, args.storage)  # the parent passes it here, not in argv
    try:
        return search_study(args, argv)
    except KeyboardInterrupt:  # stopped by its parent, which says so once for all workers
        return 130


def search_study(args: argparse.Namespace, argv: list[str]) -> int:
    """Flags -> settings -> open -> run -> summary."""
    import optuna

    from search.claim_loop import Heartbeat, identity, run_until_target
    from search.cli import plural, quiet_optuna
    from search.device import resolve_device
    from search.storage import mask_url, parse_storage_url
    from search.study import find_study, finished_trials, open_study, show_space
    from search.summary import summary, trial_line
    from search.worker_processes import check_worker_count

    request = request_from(args)
    if args.show_space:
        print(show_space(args.storage, args.study, request))
        return 0
    # Our own line per trial replaces Optuna's; its warning for a trial failed by Ctrl-C
    # (with a traceback) would only repeat what the "interrupted" line says.
    quiet_optuna(optuna.logging.ERROR)
    interrupt_on_signals(debug=args.debug)
    check_worker_count(args.workers)
    heartbeat = Heartbeat(args.heartbeat_interval, args.grace_period)
    device = resolve_device(args.device)
    from search.kernels import apply_neuron_backend

    apply_neuron_backend(args.neuron_backend, device)
    worker = args.worker_index is not None
    prefix = f"[worker {args.worker_index}] " if worker else ""
    parse_storage_url(args.storage)
    found = find_study(args.storage, args.study, request, heartbeat.storage_options())
    if found.exists and (done := found.finished()) >= args.trials:
        print(f"{prefix}study {args.study!r} already holds {done} finished trials "
              f"(target {args.trials}); nothing to do")
        if not worker:
            study, _ = open_study(found, None)
            print(summary(study, args.storage, final_command(args.study, args.storage)))
        return 0
    import torch

    from search.data import VALIDATION_SIZE, load_train_val

    if args.threads:
        torch.set_num_threads(args.threads)
    data = None
    if not (found.exists and args.workers > 1):  # the parent of several workers trains nothing
        data = load_train_val(args.data_dir, download=args.download, train_size=found.settings.train_size,
                              val_size=found.settings.val_size or VALIDATION_SIZE).to(device)
    study, existed = open_study(found, data)
    settings = found.settings
    done = len(finished_trials(study))
    what = "resumed" if existed else "created"
    if args.workers > 1:
        return run_workers(argv, args, study, what, done)
    assert data is not None
    print(f"{prefix}study {args.study!r} ({what}) in {mask_url(args.storage)}: "
          f"{done} of {args.trials} trials finished; {len(data.train):,} train / {len(data.val):,} validation "
          f"images; {plural(settings.space.epochs, 'epoch')} per trial; pruner {settings.pruner_text}, sampler {settings.sampler}; "
          f"device {device}" + (f", {args.threads} threads" if args.threads else ""))
    if settings.multi_objective:
        print(f"{prefix}two objectives (validation accuracy, compute energy per image): Optuna prunes no trial of "
              "such a study; only a silent hidden layer or a diverged loss stops one early")
    elif settings.max_energy_pj is not None:
        print(f"{prefix}energy budget {settings.max_energy_pj:,.0f} pJ per image (compute energy): trials above it "
              "are infeasible; the sampler prefers feasible ones and the best trial is the best feasible one")
    from search.objective import Objective
    from search.progress import SearchProgress

    progress = SearchProgress(args.trials, done, settings.space.epochs, enabled=False if worker else None)
    def on_epoch(number: int, stats: Any) -> None:
        progress.epoch(number, stats.epoch, stats.val_acc)
        check_stop()

    objective = Objective(settings, data, device, on_epoch=on_epoch, compile=args.compile)

    def log(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        progress.trial_done(finished_trials(study), prefix + trial_line(study, trial, settings.space.epochs))
        check_stop()

    try:
        run_until_target(study, found.storage, objective, target=args.trials,  # type: ignore[arg-type]
                         timeout=args.timeout, worker=identity(args.worker_index), on_trial=log)
    except KeyboardInterrupt:
        progress.close()
        if not worker:  # the parent of the workers says it once for all of them
            print("interrupted: the running trial was marked failed and queued again; "
                  "rerun the same command to resume", file=sys.stderr)
        return 130
    progress.close()
    if not worker:
        print(summary(study, args.storage, final_command(args.study, args.storage)))
    return 0


def run_workers(argv: list[str], args: argparse.Namespace, study: Any, what: str, done: int) -> int:
    """Start the local workers, wait for them, and sum up."""
    import optuna

    from search.storage import mask_url
    from search.study import finished_trials
    from search.summary import summary
    from search.worker_processes import describe_exit, plan_workers, start_workers, wait_for_workers

    plans = plan_workers(args.workers, args.device)
    print(f"study {args.study!r} ({what}) in {mask_url(args.storage)}: {done} of {args.trials} trials finished; "
          f"starting {len(plans)} workers: " + ", ".join(f"{p.device} x {p.threads} threads" for p in plans))
    procs = start_workers(argv, args.storage, plans)
    codes, interrupted = wait_for_workers(procs)
    if interrupted:
        print("interrupted: the running trials were marked failed and queued again; "
              "rerun the same command to resume", file=sys.stderr)
        return 130
    finished = len(finished_trials(study))
    running = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)))
    for plan, proc, code in zip(plans, procs, codes):
        if code != 0:
            print(f"warning: worker {plan.index} (pid {proc.pid}) {describe_exit(code)}", file=sys.stderr)
    if finished < args.trials and args.timeout is None:
        print(f"error: the study holds {finished} of {args.trials} finished trials ({running} running); "
              "rerun the same command to resume", file=sys.stderr)
        return 1
    print(summary(study, args.storage, final_command(args.study, args.storage)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
