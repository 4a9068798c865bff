"""python -m search.run: search training recipes with Optuna, pruning trials that fall behind.

--trials N means "until the study holds N finished trials (complete or pruned)",
counting the ones already there: rerunning the same command after a stop resumes
the study instead of starting over, and does nothing once N are finished.

    python -m search.run --trials 100
    python -m search.run --trials 30 --epochs 5 --train-size 10000 --strategies baseline,sgd,combined
    python -m search.run --show-space
    python -m search.run --trials 100 --workers 2          # two worker processes, one study
    python -m search.run --trials 100 --storage postgresql+psycopg://USER@HOST/DB   # on each machine

Several workers (here or on other machines, on the same --storage and --study) share
the target: together they stop at --trials finished trials.  A trial whose worker
dies is marked failed after --grace-period seconds without a heartbeat and run
again, once, by another worker (docs/distributed.md).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from typing import Any

import optuna
import torch
from tqdm import tqdm

from search.cli import Parser, add_runtime_flags, percent, positive_float, positive_int, quiet_optuna
from search.data import VALIDATION_SIZE, load_train_val
from search.device import resolve_device
from search.errors import UsageError, command
from search.space import SPACES, SpaceSettings, describe_space
from search.storage import (
    DEFAULT_STORAGE, DEFAULT_STUDY, check_can_create, is_new_sqlite_file, mask_url, open_storage,
    parse_storage_url, study_names,
)
from search.strategies import STRATEGIES
from search.study import (
    DEFAULT_PRUNER, DEFAULT_SAMPLER, PRUNERS, SAMPLERS, Objective, StudySettings,
    attach, create_study, epochs_saved, finished_trials,
)
from search.workers import (
    GRACE_PERIOD_S, HEARTBEAT_INTERVAL_S, Heartbeat, check_worker_count, describe_exit, identity,
    WorkerPlan, plan_workers, run_until_target, start_workers, wait_for_user_attr, wait_for_workers,
)

DEFAULT_EPOCHS = 10


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = Parser(prog="python -m search.run", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=positive_int, default=100,
                        help="finished trials the study should hold, counting earlier runs (default 100)")
    parser.add_argument("--study", default=DEFAULT_STUDY, help=f"study name (default {DEFAULT_STUDY})")
    parser.add_argument("--storage", default=DEFAULT_STORAGE,
                        help=f"Optuna storage URL (default {DEFAULT_STORAGE})")
    group = parser.add_argument_group("what the study searches (fixed when it is created)")
    group.add_argument("--epochs", type=positive_int, default=None,
                       help=f"most epochs one trial trains (default {DEFAULT_EPOCHS})")
    group.add_argument("--train-size", type=positive_int, default=None,
                       help="train on a stratified subset of this many images (default all 50,000)")
    group.add_argument("--strategies", default=None,
                       help=f"comma-separated strategies to search (default all: {','.join(STRATEGIES)})")
    group.add_argument("--space", choices=SPACES, default=None,
                       help="'full' also searches front end, encoding, readout, threshold (default 'default')")
    group.add_argument("--no-thesis", dest="thesis", action="store_false", default=None,
                       help="do not queue the thesis's seven recipes as the first trials")
    group.add_argument("--val-size", type=positive_int, default=None,
                       help=f"validate on a stratified subset of this many images (default all {VALIDATION_SIZE:,}; "
                            "smaller for quick tests)")
    group = parser.add_argument_group("how it searches")
    group.add_argument("--pruner", choices=PRUNERS, default=None, help=f"default {DEFAULT_PRUNER}")
    group.add_argument("--sampler", choices=SAMPLERS, default=None, help=f"default {DEFAULT_SAMPLER}")
    group.add_argument("--seed", type=int, default=None, help="sampler and training seed, for a reproducible search")
    group.add_argument("--timeout", type=positive_float, default=None, help="stop starting trials after this many seconds")
    group = parser.add_argument_group("workers and crash recovery")
    group.add_argument("--workers", type=positive_int, default=1,
                       help="worker processes on this machine, sharing the study and the CPU cores, "
                            "one GPU each when there are several (default 1; at most the CPU cores)")
    group.add_argument("--heartbeat-interval", type=positive_int, default=HEARTBEAT_INTERVAL_S, metavar="S",
                       help=f"seconds between a running trial's heartbeats (default {HEARTBEAT_INTERVAL_S})")
    group.add_argument("--grace-period", type=positive_int, default=GRACE_PERIOD_S, metavar="S",
                       help="seconds without a heartbeat after which a trial's worker counts as dead: "
                            f"the trial is marked failed and run again once (default {GRACE_PERIOD_S})")
    # Set by the parent for the worker processes it starts.
    group.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    group.add_argument("--threads", type=positive_int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--show-space", action="store_true", help="print the search space and exit")
    add_runtime_flags(parser)
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> StudySettings:
    strategies = tuple(STRATEGIES)
    if args.strategies is not None:
        strategies = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    try:
        space = SpaceSettings(strategies=strategies, space=args.space or "default",
                              epochs=args.epochs or DEFAULT_EPOCHS)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return StudySettings(space=space, train_size=args.train_size, pruner=args.pruner or DEFAULT_PRUNER,
                         sampler=args.sampler or DEFAULT_SAMPLER, seed=args.seed,
                         thesis=True if args.thesis is None else args.thesis, val_size=args.val_size)


def resume_settings(stored: StudySettings, args: argparse.Namespace, requested: StudySettings) -> StudySettings:
    """The stored settings, with the runtime choices the user gave; conflicting study-defining flags are errors."""
    conflicts = []
    if args.epochs is not None and args.epochs != stored.space.epochs:
        conflicts.append(f"--epochs {stored.space.epochs}")
    if args.train_size is not None and args.train_size != stored.train_size:
        conflicts.append(f"--train-size {stored.train_size or 'all'}")
    if args.strategies is not None and requested.space.strategies != stored.space.strategies:
        conflicts.append(f"--strategies {','.join(stored.space.strategies)}")
    if args.space is not None and args.space != stored.space.space:
        conflicts.append(f"--space {stored.space.space}")
    if args.val_size is not None and args.val_size != stored.val_size:
        conflicts.append(f"--val-size {stored.val_size or 'all'}")
    if conflicts:
        raise UsageError(
            f"study {args.study!r} was created with {', '.join(conflicts)}; "
            "resume it with those values or start another with --study NAME"
        )
    return StudySettings(
        space=stored.space, train_size=stored.train_size, thesis=stored.thesis,
        pruner=args.pruner or stored.pruner, sampler=args.sampler or stored.sampler,
        seed=stored.seed if args.seed is None else args.seed, val_size=stored.val_size,
    )


def trial_line(study: optuna.Study, trial: optuna.trial.FrozenTrial, budget: int) -> str:
    strategy = trial.params.get("strategy", "?")
    acc = trial.user_attrs.get("best_val_acc")
    try:
        best = percent(study.best_value)
    except ValueError:
        best = "-"
    state = trial.user_attrs.get("status") if trial.user_attrs.get("status") == "diverged" else trial.state.name.lower()
    thesis = " (thesis)" if "thesis_preset" in trial.user_attrs else ""
    return (f"trial {trial.number:>3}  {strategy + thesis:<22} {state:<9} val {percent(acc):>7}  "
            f"epochs {trial.user_attrs.get('epochs_run', 0)}/{budget}  "
            f"{trial.user_attrs.get('wall_s', 0):.0f}s  best {best}")


def final_command(args: argparse.Namespace) -> str:
    parts = ["python", "-m", "search.final", "--study", args.study]
    if args.storage != DEFAULT_STORAGE:
        parts += ["--storage", mask_url(args.storage)]
    return shlex.join(parts)


def summary(study: optuna.Study, args: argparse.Namespace) -> str:
    trials = study.get_trials(deepcopy=False)
    counts = {s: sum(t.state == s for t in trials) for s in optuna.trial.TrialState}
    lines = [
        f"study {study.study_name!r} in {mask_url(args.storage)}: "
        f"{counts[optuna.trial.TrialState.COMPLETE]} complete, {counts[optuna.trial.TrialState.PRUNED]} pruned, "
        f"{counts[optuna.trial.TrialState.FAIL]} failed; pruning saved {epochs_saved(study)} epochs",
    ]
    if counts[optuna.trial.TrialState.COMPLETE]:
        best = study.best_trial
        lines.append(f"best trial {best.number}: validation accuracy {percent(best.value)} "
                     f"(epoch {best.user_attrs.get('best_epoch')})")
        lines += [f"  {k} = {v}" for k, v in best.params.items()]
        lines.append(f"next: {final_command(args)}")
    return "\n".join(lines)


def stored_settings(storage: optuna.storages.BaseStorage, args: argparse.Namespace,
                    requested: StudySettings) -> StudySettings:
    """The settings of the existing study ``args.study``, merged with this command's runtime choices."""
    study = optuna.load_study(study_name=args.study, storage=storage)
    if "settings" not in study.user_attrs and study.get_trials(deepcopy=False):
        raise UsageError(f"study {args.study!r} was not made by search.run; pick another --study")
    # A study with no trials and no settings yet is being created by another worker right now.
    stored = wait_for_user_attr(storage, args.study, "settings", timeout_s=10)
    return resume_settings(StudySettings.from_dict(stored), args, requested)


def interrupt_on_sigterm() -> None:
    """SIGTERM ends a run like Ctrl-C: the running trial is marked failed and queued again."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.worker_index is None:
        return search(args, argv)
    try:
        return search(args, argv)
    except KeyboardInterrupt:  # stopped by its parent, which says so once for all workers
        return 130


def search(args: argparse.Namespace, argv: list[str]) -> int:
    requested = settings_from_args(args)
    if args.show_space:
        print(describe_space(requested.space))
        return 0
    # Our own line per trial replaces Optuna's; its warning for a trial failed by Ctrl-C
    # (with a traceback) would only repeat what the "interrupted" line says.
    quiet_optuna(optuna.logging.ERROR)
    interrupt_on_sigterm()
    check_worker_count(args.workers)
    heartbeat = Heartbeat(args.heartbeat_interval, args.grace_period)
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    worker = args.worker_index is not None
    prefix = f"[worker {args.worker_index}] " if worker else ""
    parse_storage_url(args.storage)
    # Nothing is created until the data has loaded: a new SQLite file is only checked for now.
    storage = None
    if is_new_sqlite_file(args.storage):
        check_can_create(args.storage)
    else:
        storage = open_storage(args.storage, create=True, **heartbeat.storage_options())
    exists = storage is not None and args.study in study_names(storage)
    settings = stored_settings(storage, args, requested) if storage is not None and exists else requested
    if exists:
        assert storage is not None
        done = len(finished_trials(optuna.load_study(study_name=args.study, storage=storage)))
        if done >= args.trials:
            print(f"{prefix}study {args.study!r} already holds {done} finished trials "
                  f"(target {args.trials}); nothing to do")
            if not worker:
                print(summary(attach(storage, args.study, settings), args))
            return 0
    data = None
    if not (exists and args.workers > 1):  # the parent of several workers trains nothing
        data = load_train_val(args.data_dir, download=args.download, train_size=settings.train_size,
                              val_size=settings.val_size or VALIDATION_SIZE).to(device)
    if storage is None:
        storage = open_storage(args.storage, create=True, **heartbeat.storage_options())
    if not exists:
        assert data is not None
        try:
            create_study(storage, args.study, settings, data)
        except optuna.exceptions.DuplicatedStudyError:
            # Another worker created it a moment ago: join it, as if it had existed.
            exists = True
            settings = stored_settings(storage, args, requested)
    study = attach(storage, args.study, settings)
    done = len(finished_trials(study))
    what = "resumed" if exists else "created"
    if args.workers > 1:
        return run_workers(argv, args, study, plan_workers(args.workers, args.device), what, done)
    assert data is not None
    print(f"{prefix}study {args.study!r} ({what}) in {mask_url(args.storage)}: "
          f"{done} of {args.trials} trials finished; {len(data.train):,} train / {len(data.val):,} validation "
          f"images; {settings.space.epochs} epochs per trial; pruner {settings.pruner}, sampler {settings.sampler}; "
          f"device {device}" + (f", {args.threads} threads" if args.threads else ""))
    objective = Objective(settings, data, device)
    budget = settings.space.epochs
    bar = tqdm(total=args.trials, initial=done, disable=worker or not sys.stderr.isatty(), unit="trial")

    def log(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        bar.n = len(finished_trials(study))
        bar.refresh()
        tqdm.write(prefix + trial_line(study, trial, budget))

    try:
        run_until_target(study, storage, objective, target=args.trials, timeout=args.timeout,
                         worker=identity(args.worker_index), on_trial=log)
    except KeyboardInterrupt:
        bar.close()
        if not worker:  # the parent of the workers says it once for all of them
            print("interrupted: the running trial was marked failed and queued again; "
                  "rerun the same command to resume", file=sys.stderr)
        return 130
    bar.close()
    if not worker:
        print(summary(study, args))
    return 0


def run_workers(argv: list[str], args: argparse.Namespace, study: optuna.Study, plans: list[WorkerPlan],
                what: str, done: int) -> int:
    """Start the local workers, wait for them, and sum up."""
    print(f"study {args.study!r} ({what}) in {mask_url(args.storage)}: {done} of {args.trials} trials finished; "
          f"starting {len(plans)} workers: " + ", ".join(f"{p.device} x {p.threads} threads" for p in plans))
    procs = start_workers(argv, plans)
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
    print(summary(study, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
