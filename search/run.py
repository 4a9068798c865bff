"""python -m search.run: search training recipes with Optuna, pruning trials that fall behind.

--trials N means "until the study holds N finished trials (complete or pruned)",
counting the ones already there: rerunning the same command after a stop resumes
the study instead of starting over, and does nothing once N are finished.

    python -m search.run --trials 100
    python -m search.run --trials 30 --epochs 5 --train-size 10000 --strategies baseline,sgd,combined
    python -m search.run --show-space
"""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings

import optuna
from optuna.study import MaxTrialsCallback
from tqdm import tqdm

from search.cli import Parser, add_runtime_flags, percent, positive_float, positive_int
from search.data import load_train_val
from search.device import resolve_device
from search.errors import UsageError, command
from search.space import SPACES, SpaceSettings, describe_space
from search.storage import DEFAULT_STORAGE, DEFAULT_STUDY, mask_url, open_storage, study_names
from search.strategies import STRATEGIES
from search.study import (
    DEFAULT_PRUNER, DEFAULT_SAMPLER, FINISHED, PRUNERS, SAMPLERS, Objective, StudySettings,
    attach, create_study, epochs_saved, finished_trials,
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
    group = parser.add_argument_group("how it searches")
    group.add_argument("--pruner", choices=PRUNERS, default=None, help=f"default {DEFAULT_PRUNER}")
    group.add_argument("--sampler", choices=SAMPLERS, default=None, help=f"default {DEFAULT_SAMPLER}")
    group.add_argument("--seed", type=int, default=None, help="sampler and training seed, for a reproducible search")
    group.add_argument("--timeout", type=positive_float, default=None, help="stop starting trials after this many seconds")
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
                         thesis=True if args.thesis is None else args.thesis)


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
    if conflicts:
        raise UsageError(
            f"study {args.study!r} was created with {', '.join(conflicts)}; "
            "resume it with those values or start another with --study NAME"
        )
    return StudySettings(
        space=stored.space, train_size=stored.train_size, thesis=stored.thesis,
        pruner=args.pruner or stored.pruner, sampler=args.sampler or stored.sampler,
        seed=stored.seed if args.seed is None else args.seed,
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


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    requested = settings_from_args(args)
    if args.show_space:
        print(describe_space(requested.space))
        return 0
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # Our own line per trial replaces Optuna's; its warning for a trial failed by Ctrl-C
    # (with a traceback) would only repeat what the "interrupted" line says.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    device = resolve_device(args.device)
    storage = open_storage(args.storage, create=True)
    exists = args.study in study_names(storage)
    if exists:
        stored = optuna.load_study(study_name=args.study, storage=storage)
        if "settings" not in stored.user_attrs:
            raise UsageError(f"study {args.study!r} was not made by search.run; pick another --study")
        settings = resume_settings(StudySettings.from_dict(stored.user_attrs["settings"]), args, requested)
        done = len(finished_trials(stored))
        if done >= args.trials:
            print(f"study {args.study!r} already holds {done} finished trials (target {args.trials}); nothing to do")
            print(summary(stored, args))
            return 0
    else:
        settings = requested
    data = load_train_val(args.data_dir, download=args.download, train_size=settings.train_size).to(device)
    if exists:
        study = attach(storage, args.study, settings)
    else:
        study = create_study(storage, args.study, settings, data)
    done = len(finished_trials(study))
    print(f"study {args.study!r} ({'resumed' if exists else 'created'}) in {mask_url(args.storage)}: "
          f"{done} of {args.trials} trials finished; {len(data.train):,} train / {len(data.val):,} validation "
          f"images; {settings.space.epochs} epochs per trial; pruner {settings.pruner}, sampler {settings.sampler}; "
          f"device {device}")
    objective = Objective(settings, data, device)
    budget = settings.space.epochs

    def log(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        tqdm.write(trial_line(study, trial, budget))

    try:
        study.optimize(
            objective, n_trials=args.trials - done, timeout=args.timeout,
            callbacks=[MaxTrialsCallback(args.trials, states=FINISHED), log],
            show_progress_bar=sys.stderr.isatty(),
        )
    except KeyboardInterrupt:
        print(f"interrupted: the running trial was marked failed and queued again; "
              f"rerun the same command to resume", file=sys.stderr)
        return 130
    print(summary(study, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
