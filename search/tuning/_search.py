"""One run of ``search.run``: open or create the study, then search here or start local workers.

The command turns its flags into a :class:`SearchRun` and calls :func:`run_search`; everything
after the flags lives here.  Ctrl-C and SIGTERM mark the running trial failed and queue it again
(:mod:`search.tuning._interrupts`); the same command resumes.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import replace

import optuna
import torch

from search.formatting import plural
from search.store import DEFAULT_STORAGE, mask_url
from search.training import (
    VALIDATION_SIZE,
    EpochStats,
    PrecisionChoice,
    TrainVal,
    apply_neuron_backend,
    choose_precision,
    load_train_val,
    resolve_device,
)
from search.tuning._claim_loop import identity, run_until_target
from search.tuning._interrupts import check_stop, interrupt_on_signals
from search.tuning._notes import note_fidelity
from search.tuning._objective import Objective
from search.tuning._progress import SearchProgress
from search.tuning._queued import no_search_notice
from search.tuning._search_run import SearchRun
from search.tuning._settings import StudySettings
from search.tuning._space import kept_space_line
from search.tuning._start_from import StartFrom, plan_start_from
from search.tuning._study import FoundStudy, OpenedStudy, find_study, finished_trials, open_study, show_space
from search.tuning._summary import rung_warnings, summary, trial_line
from search.tuning._worker_processes import (
    describe_exit,
    die_with_parent,
    plan_workers,
    start_workers,
    wait_for_workers,
)

INTERRUPTED = "rerun the same command to resume"


def final_command(study: str, storage: str, *extra: str) -> str:
    """The command that retrains the study's best trial (with ``extra`` flags), as a user would type it:
    every word quoted for the shell, the password masked, ``--study=NAME`` so a name starting with a
    dash stays a value."""
    study_flag = [f"--study={study}"] if study.startswith("-") else ["--study", study]
    parts = ["python", "-m", "search.final", *study_flag]
    if storage != DEFAULT_STORAGE:
        parts += ["--storage", mask_url(storage)]
    return shlex.join([*parts, *extra])


def show_study_space(run: SearchRun) -> str:
    """``--show-space``: the space of the study as stored, or as it would be created."""
    return show_space(run.storage, run.study, run.request)


def run_search(run: SearchRun) -> int:
    """Open the study, then run trials here or in ``run.workers`` local processes; the exit code."""
    interrupt_on_signals(debug=run.debug)
    if run.is_worker:
        die_with_parent()
    device = resolve_device(run.device)
    apply_neuron_backend(run.neuron_backend, device)
    options = {**run.heartbeat.storage_options(), "patience_s": run.storage_patience}
    request = replace(
        run.request,
        precision=None if run.precision == "auto" else run.precision,
        device_precision=choose_precision("auto", device).precision,
    )
    found = find_study(run.storage, run.study, request, options)
    start = plan_start_from(found.storage, run.study, run.start_from, run.start_top, found.settings, found.exists)
    if run.create_only and found.exists:
        print(f"study {run.study!r} exists in {mask_url(run.storage)} with these settings; nothing to create")
        return 0
    if found.exists and (done := found.finished()) >= run.trials:
        print(
            f"{run.prefix}study {run.study!r} already holds {done} finished trials (target {run.trials}); nothing to do"
        )
        if not run.is_worker:
            _finish(run, open_study(found, None).study)
        return 0
    if run.threads:
        torch.set_num_threads(run.threads)
    if found.exists and run.workers > 1:  # the parent of several workers trains nothing
        return _run_workers(run, open_study(found, None))
    precision = choose_precision(
        run.precision, device, found.settings.precision if found.exists else None, "the study's"
    )
    if precision.slow_warning and not run.is_worker:
        print(precision.slow_warning, file=sys.stderr)
    data = _load_data(run, found, device)
    opened = open_study(found, data, start, run.worker_index)
    if run.create_only:
        print(_created_line(run, opened))
        return 0
    if run.workers > 1:
        return _run_workers(run, opened)
    print(_start_line(run, opened, data, device, precision, start))
    return _run_here(run, opened, data, device)


def _load_data(run: SearchRun, found: FoundStudy, device: torch.device) -> TrainVal:
    settings = found.settings
    return load_train_val(
        run.data_dir,
        download=run.download,
        train_size=settings.train_size,
        val_size=settings.val_size or VALIDATION_SIZE,
    ).to(device)


def _start_line(
    run: SearchRun,
    opened: OpenedStudy,
    data: TrainVal,
    device: torch.device,
    precision: PrecisionChoice,
    start: StartFrom | None = None,
) -> str:
    settings = opened.settings
    what = "resumed" if opened.existed else "created"
    done = len(finished_trials(opened.study))
    lines = [
        f"{run.prefix}study {run.study!r} ({what}) in {mask_url(run.storage)}: "
        f"{done} of {run.trials} trials finished; {len(data.train):,} train / {len(data.val):,} validation "
        f"images; {plural(settings.space.epochs, 'epoch')} per trial; pruner {settings.pruner_text}, "
        f"sampler {settings.sampler}; device {device}"
        + (f", {run.threads} threads" if run.threads else "")
        + f"; {precision.describe()}"
    ]
    lines += [f"{run.prefix}{line}" for line in _objective_lines(settings)]
    if start is not None and not opened.existed and (queued := StartFrom.describe(opened.study)):
        lines.append(f"{run.prefix}queued: {queued}")
    if settings.space.not_searched:
        lines.append(f"{run.prefix}study {run.study!r} {kept_space_line(settings.space)}")
    if not run.is_worker and (notice := no_search_notice(opened.study, run.trials, created=not opened.existed)):
        lines.append(notice)
    return "\n".join(lines)


def _created_line(run: SearchRun, opened: OpenedStudy) -> str:
    """--create-only's one line: what is in the new study, and how its workers start."""
    queued = len(opened.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)))
    what = "created" if not opened.existed else "created a moment ago by another process"
    return (
        f"study {run.study!r} {what} in {mask_url(run.storage)}: {plural(queued, 'queued trial')}, none trained "
        f"(--create-only); its workers: python -m search.run --study {run.study} --trials N"
    )


def _objective_lines(settings: StudySettings) -> list[str]:
    if settings.multi_objective:
        lines = [
            "two objectives (validation accuracy, compute energy per image): Optuna prunes no trial of "
            "such a study; only a silent hidden layer or a diverged loss stops one early"
        ]
        if settings.space.space == "default":
            lines.append(
                "note: in the default space every trial costs nearly the same energy (the network's size is "
                "fixed), so its front says little; --space full searches what drives energy (width, front end, "
                "encoding, readout; docs/energy.md)"
            )
        return lines
    if settings.max_energy_pj is not None:
        return [
            f"energy budget {settings.max_energy_pj / 1e6:.2f} uJ per image (compute energy): trials above it "
            "are infeasible; the sampler prefers feasible ones and the best trial is the best feasible one"
        ]
    return []


def _run_here(run: SearchRun, opened: OpenedStudy, data: TrainVal, device: torch.device) -> int:
    """Claim and train trials in this process until the study holds ``run.trials`` finished ones."""
    study, epochs = opened.study, opened.settings.space.epochs
    progress = SearchProgress(
        run.trials, len(finished_trials(study)), epochs, enabled=False if run.is_worker else None, prefix=run.prefix
    )

    def on_epoch(number: int, stats: EpochStats) -> None:
        progress.epoch(number, stats.epoch, stats.val_acc, stats.elapsed_s)
        check_stop()

    def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        progress.trial_done(finished_trials(study), run.prefix + trial_line(study, trial, epochs))
        if not run.is_worker:  # several workers publish once, through their parent, at the end
            _publish(run, study)
        check_stop()

    objective = Objective(opened.settings, data, device, on_epoch=on_epoch, compile=run.compile)
    try:
        run_until_target(
            study,
            opened.storage,
            objective,
            target=run.trials,
            timeout=run.timeout,
            worker=identity(run.worker_index),
            on_trial=on_trial,
        )
    except KeyboardInterrupt:
        progress.close()
        if not run.is_worker:  # the parent of the workers says it once for all of them
            print(f"interrupted: the running trial was marked failed and queued again; {INTERRUPTED}", file=sys.stderr)
        return 130
    progress.close()
    if not run.is_worker:
        _finish(run, study)
    return 0


def _run_workers(run: SearchRun, opened: OpenedStudy) -> int:
    """Start the local workers, wait for them, and sum up."""
    study = opened.study
    plans = plan_workers(run.workers, run.device)
    print(
        f"study {run.study!r} ({'resumed' if opened.existed else 'created'}) in {mask_url(run.storage)}: "
        f"{len(finished_trials(study))} of {run.trials} trials finished; starting {len(plans)} workers: "
        + ", ".join(f"{p.device} x {p.threads} threads" for p in plans)
    )
    if not opened.existed and run.start_from and (queued := StartFrom.describe(study)):
        print(f"queued: {queued}")
    if notice := no_search_notice(study, run.trials, created=not opened.existed):
        print(notice)
    procs = start_workers(run.argv, run.storage, plans)
    codes, interrupted = wait_for_workers(procs)
    if interrupted:
        print(f"interrupted: the running trials were marked failed and queued again; {INTERRUPTED}", file=sys.stderr)
        return 130
    finished = len(finished_trials(study))
    running = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)))
    for plan, proc, code in zip(plans, procs, codes, strict=True):
        if code != 0:
            print(f"warning: worker {plan.index} (pid {proc.pid}) {describe_exit(code)}", file=sys.stderr)
    if finished < run.trials and run.timeout is None:
        print(
            f"error: the study holds {finished} of {run.trials} finished trials ({running} running); {INTERRUPTED}",
            file=sys.stderr,
        )
        return 1
    _finish(run, study)
    return 0


def _finish(run: SearchRun, study: optuna.Study) -> None:
    """The summary, and the fidelity check's warnings kept in the study note for the dashboard."""
    warnings = rung_warnings(study)  # read the curves once, for the summary and the note
    finished, next_command = len(finished_trials(study)), final_command(run.study, run.storage)
    if run.timeout is not None and finished < run.trials:  # a sitting (make run): the study goes on
        print(f"--timeout {run.timeout:g} s reached: {finished} of {run.trials} trials finished; {INTERRUPTED}")
        next_command = f"the same command, for the other {run.trials - finished} trials; then {next_command}"
    print(summary(study, run.storage, next_command, warnings))
    note_fidelity(study, warnings)
    _publish(run, study)


def _publish(run: SearchRun, study: optuna.Study) -> None:
    """The dashboard's figures of the search; a figure that fails is a warning, never the end of a search."""
    if run.publish is None:
        return
    try:
        run.publish(study)
    except Exception as error:  # plotly or a figure's data: the search goes on without the figure
        print(f"warning: the dashboard's figures were not updated ({type(error).__name__}: {error})", file=sys.stderr)
