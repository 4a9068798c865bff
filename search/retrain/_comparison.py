"""Retrain several configurations under one protocol and compare them with seeds and intervals.

Every configuration gets the same seeds (0 .. N-1, paired), the same training images and
the same epoch rule (:func:`search.retrain._result.default_epochs`, or one ``--epochs`` for all).
The table holds each configuration's test mean, std, 95% interval and its paired
difference to a reference: the thesis's baseline recipe when it is among them, else the
first row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import optuna
import torch

from search.errors import UserError
from search.formatting import distinct_decimals, plural
from search.retrain._result import RetrainBudget, RetrainResult, RetrainRun, default_epochs
from search.retrain._retrain import RunStore, reread_seed, run_seed
from search.retrain._reuse import EarlierRetrain, earlier_match, earlier_store, reads_before_at_source
from search.retrain._statistics import PairedDifference, Summary, paired_difference
from search.retrain._test_reads import StudyReadLog, prior_test_reads
from search.store import TrialRecord, write_json
from search.training import ImageSet, TrainConfig

REFERENCE_PRESET = "baseline"
COMPLETE = optuna.trial.TrialState.COMPLETE


@dataclass(frozen=True)
class Candidate:
    """A trial to retrain and the config rebuilt from what it stored."""

    record: TrialRecord
    config: TrainConfig

    def with_config(self, config: TrainConfig) -> Candidate:
        return Candidate(self.record, config)

    @property
    def label(self) -> str:
        if self.record.thesis_preset:
            return f"thesis {self.record.thesis_preset} (trial {self.record.number})"
        return f"trial {self.record.number} ({self.record.strategy})"


def describe_config(config: TrainConfig) -> str:
    """The settings that tell recipes apart, in one short line."""
    net = config.network
    parts = [config.optimizer, f"lr {config.lr:.2g}"]
    if config.schedule != "none":
        parts.append(config.schedule)
    parts += [f"batch {config.batch_size}", f"T {net.time_steps}"]
    if net.batch_norm:
        parts.append("BN")
    if net.dropout:
        parts.append(f"dropout {net.dropout:.2g}")
    if config.augment != "none":
        parts.append(f"augment {config.augment}")
    if config.label_smoothing:
        parts.append(f"label smoothing {config.label_smoothing:.2g}")
    if net.neuron != "lif":
        parts.append(f"neuron {net.neuron}")
    if net.width != 1.0:
        parts.append(f"width {net.width:g}")
    if net.front_end != "relu":
        parts.append(f"{net.front_end} front end")
    if config.tta != "none":
        parts.append(f"test-time {config.tta}")
    return ", ".join(parts)


def _candidate(trial: optuna.trial.FrozenTrial, study_name: str, force: bool) -> Candidate:
    record = TrialRecord.of(trial)
    if not record.trained or record.config is None:
        raise UserError(
            f"trial {trial.number} of {study_name!r} ({trial.state.name.lower()}) has no trained config to retrain"
        )
    if trial.state != COMPLETE and not force:
        how = f"after {plural(record.epochs_run, 'epoch')}" if record.epochs_run else ""
        raise UserError(
            f"trial {trial.number} of {study_name!r} was {trial.state.name.lower()} {how}".rstrip()
            + "; add --force to retrain it anyway"
        )
    return Candidate(record, TrainConfig.from_dict(record.config))


def _config_key(config: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True)


def select_candidates(
    study: optuna.Study,
    *,
    top: int | None = None,
    thesis: bool = False,
    trials: list[int] | None = None,
    force: bool = False,
) -> list[Candidate]:
    """The configurations to retrain: the best trial when nothing is asked, else top K, thesis and picks."""
    name = study.study_name
    all_trials = study.get_trials(deepcopy=False)
    pareto = len(study.directions) > 1
    if pareto and top is None and not trials and not thesis:
        members = sorted(study.best_trials, key=lambda t: t.number)
        digits = distinct_decimals([TrialRecord.of(t).energy_uj for t in members])
        front = ", ".join(
            f"{t.number} ({100 * t.values[0]:.2f}%, {TrialRecord.of(t).energy_uj:.{digits}f} uJ)" for t in members
        )
        raise UserError(
            f"study {name!r} has two objectives and no single best trial: pick one of its Pareto front with "
            f"--trial N, or retrain the front's K most accurate with --top K: {front or 'none complete yet'}"
        )
    # Ranked by validation accuracy (the first objective); a Pareto study ranks its front only.
    pool = study.best_trials if pareto else [t for t in all_trials if t.state == COMPLETE]
    complete = sorted((t for t in pool if t.values), key=lambda t: t.values[0], reverse=True)
    chosen: list[optuna.trial.FrozenTrial] = []
    if top is None and not thesis and not trials:
        if not complete:
            raise UserError(f"study {name!r} has no complete trial yet")
        chosen.append(complete[0])
    if top is not None:
        # With --thesis the references come anyway: --top then ranks the searched trials only.
        ranked = [t for t in complete if not (thesis and TrialRecord.of(t).is_thesis)]
        distinct: dict[str, optuna.trial.FrozenTrial] = {}
        for t in ranked:
            if "config" in t.user_attrs:
                distinct.setdefault(_config_key(t.user_attrs["config"]), t)
        if top > len(distinct):
            searched = " searched (non-thesis)" if thesis else ""
            which = "Pareto-front" if pareto else f"complete{searched}"
            raise UserError(
                f"--top {top}: study {name!r} has {len(distinct)} {which} trial(s) with distinct configurations"
            )
        chosen += list(distinct.values())[:top]
    if thesis:
        references = [
            t
            for t in all_trials
            if TrialRecord.of(t).is_thesis
            and TrialRecord.of(t).trained
            and t.state in (COMPLETE, optuna.trial.TrialState.PRUNED)
        ]
        if not references:
            raise UserError(
                f"--thesis: study {name!r} has no trained thesis trials "
                "(it was searched with --no-thesis, or none has run yet)"
            )
        chosen += references
    for number in trials or []:
        if not 0 <= number < len(all_trials):
            raise UserError(f"--trial {number}: study {name!r} has trials 0..{len(all_trials) - 1}")
        chosen.append(all_trials[number])
    unique: dict[int, optuna.trial.FrozenTrial] = {t.number: t for t in chosen}
    # Thesis references are retrained even when an old study pruned them (--thesis asks for them).
    return [_candidate(t, name, force or (thesis and TrialRecord.of(t).is_thesis)) for t in unique.values()]


def budget_for(candidate: Candidate, *, train_size: int, epochs: int | None, seeds: int) -> RetrainBudget:
    trial_epochs = candidate.config.epochs
    return RetrainBudget(
        train_size=train_size,
        epochs=epochs or default_epochs(candidate.config, candidate.record),
        seeds=seeds,
        trial_epochs=trial_epochs,
        tta=candidate.config.tta,
        precision=candidate.config.precision,
    )


def _plain_retrain(
    folder: Path,
    budget: RetrainBudget,
    trial: int,
    fingerprint: dict[str, Any],
    config: TrainConfig,
    device: torch.device,
    versions: dict[str, str],
) -> RunStore | None:
    """The retrain of the same budget without test-time augmentation, whose kept networks a ``tta``
    retrain may read again instead of training them: the same seed trains the same network there.

    None without ``tta``; with Poisson encoding (reading a network draws random spikes, which the
    trained seed drew from its training's random stream); and where that retrain ran on another
    device or neuron kernel, or has not finished (no ``result.json``), since bit-for-bit holds only
    on the same ones.
    """
    if config.tta == "none" or config.network.encoding == "poisson":
        return None
    plain_folder = folder.with_name(replace(budget, tta="none").folder_name(trial))
    recorded = RetrainResult.load(plain_folder / "result.json")
    if (
        recorded is None
        or recorded.device != str(device)
        or recorded.versions.get("neuron_kernel") != versions.get("neuron_kernel")
    ):
        return None
    return RunStore(plain_folder, {**fingerprint, "config": {**fingerprint["config"], "tta": "none"}})


def retrain_candidate(
    candidate: Candidate,
    budget: RetrainBudget,
    *,
    study_name: str,
    storage: str,
    folder: Path,
    train_set: ImageSet,
    test_set: ImageSet,
    device: torch.device,
    versions: dict[str, str],
    stretch: Callable[[TrainConfig, int], TrainConfig],
    on_run: Callable[[Candidate, RetrainRun, bool], None] | None = None,
    on_epoch: Callable[[Candidate, int, Any], None] | None = None,
    write_result: bool = True,
    earlier: list[EarlierRetrain] | None = None,
    read_log: StudyReadLog | None = None,
) -> RetrainResult:
    """Retrain one candidate for every seed of ``budget``, skipping seeds already recorded in ``folder``
    and reading those an ``earlier`` retrain of the same network recorded (``--reuse``);
    ``write_result=False`` leaves the folder's ``result.json`` as it was (confirming seeds); every
    seed whose test set was read here (now, or in an earlier sitting) is logged in ``read_log``."""
    config = stretch(candidate.config, budget.epochs)
    fingerprint = run_fingerprint(study_name, candidate.record.number, config, budget)
    store = RunStore(folder, fingerprint)
    trial = candidate.record.number
    reads_before = prior_test_reads(folder, trial, read_log.reads(trial) if read_log else None)
    plain = _plain_retrain(folder, budget, candidate.record.number, fingerprint, config, device, versions)
    source = earlier_match(earlier or [], fingerprint, str(device), versions)
    reused = source.store(fingerprint) if source is not None else None
    source_reads = source.result.test_reads_before if source is not None else None
    runs: list[RetrainRun] = []
    for seed in range(budget.seeds):
        run = store.load(seed)
        if (
            run is None
            and reused is not None
            and (recorded := _reused_seed(reused, seed, config, device, source_reads))
        ):
            run, model = recorded
            store.save(run, model)
            if on_run:
                on_run(candidate, run, False)
        elif run is None:
            seeded = config.replace(seed=seed)
            trained = plain.trained(seed, config.network, device) if plain is not None else None
            if trained is not None:
                run = reread_seed(seeded, *trained, test_set, device)
                model = trained[1] if seed == 0 else None  # the others stay in the folder that trained them
            else:
                run, model = run_seed(
                    seeded,
                    train_set,
                    test_set,
                    device,
                    on_epoch=partial(on_epoch, candidate, seed) if on_epoch else None,
                )
            store.save(run, model)
            if on_run:
                on_run(candidate, run, False)
        elif on_run:
            on_run(candidate, run, True)
        if read_log is not None:  # a reused seed too: its test figure is shown here
            read_log.record(trial, folder.name, seed)
        runs.append(run)
    result = RetrainResult(
        study=study_name,
        storage=storage,
        trial=candidate.record.number,
        strategy=candidate.record.strategy,
        thesis_preset=candidate.record.thesis_preset,
        validation_accuracy=candidate.record.best_val_acc,
        config=config.to_dict(),
        budget=budget,
        runs=runs,
        device=str(device),
        versions=versions,
        test_reads_before=_plus(reads_before, reads_before_at_source(runs)),
    )
    if write_result:
        write_json(folder / "result.json", result.to_dict())
    return result


def _plus(here: int | None, there: int | None) -> int | None:
    """Reads counted here and at a reused seed's source; unknown (None) where either is."""
    return None if here is None or there is None else here + there


def run_fingerprint(study_name: str, trial: int, config: TrainConfig, budget: RetrainBudget) -> dict[str, Any]:
    """What every run file of a retrain carries, so that a resume never mixes in another retrain's runs."""
    # compile changes speed, never the numbers: a resume with or without --compile reuses the runs.
    return {
        "study": study_name,
        "trial": trial,
        "config": config.replace(seed=0, compile=False).to_dict(),
        "epochs": budget.epochs,
        "train_size": budget.train_size,
    }


def seeds_recorded(
    candidate: Candidate,
    budget: RetrainBudget,
    *,
    study_name: str,
    folder: Path,
    device: torch.device,
    versions: dict[str, str],
    stretch: Callable[[TrainConfig, int], TrainConfig],
    earlier: list[EarlierRetrain] | None = None,
) -> int:
    """How many of the budget's seeds :func:`retrain_candidate` will not train: recorded in ``folder``
    (a resume) or by an ``earlier`` retrain of the same network (``--reuse``).  For the time left
    only: a seed read again with test-time augmentation counts as trained, and a run file that
    cannot be trusted as missing (the retrain itself then stops with its name)."""
    fingerprint = run_fingerprint(study_name, candidate.record.number, stretch(candidate.config, budget.epochs), budget)
    stores = [RunStore(folder, fingerprint)]
    reused = earlier_store(earlier or [], fingerprint, str(device), versions)
    stores += [reused] if reused is not None else []

    def recorded(store: RunStore, seed: int) -> bool:
        try:
            return store.load(seed) is not None
        except UserError:
            return False

    return sum(1 for seed in range(budget.seeds) if any(recorded(store, seed) for store in stores))


def _reused_seed(
    earlier: RunStore, seed: int, config: TrainConfig, device: torch.device, reads_before: int | None = None
) -> tuple[RetrainRun, torch.nn.Module | None] | None:
    """An earlier retrain's record of ``seed``, marked as reused with the test reads its folder had
    counted before it (``reads_before``), with its network where its weights were kept (copied beside
    it, as a trained seed's are); None where it has no usable record."""
    model: torch.nn.Module | None = None
    trained = earlier.trained(seed, config.network, device)
    if trained is not None:
        run, model = trained[0], trained[1]
    else:
        try:
            loaded = earlier.load(seed)
        except UserError:
            return None
        if loaded is None:
            return None
        run = loaded
    # A seed the earlier folder itself reused keeps the folder that trained it.
    return replace(run, reused_from=run.reused_from or str(earlier.folder), reused_reads_before=reads_before), model


@dataclass(frozen=True)
class ComparisonRow:
    label: str
    settings: str
    result: RetrainResult
    summary: Summary
    difference: PairedDifference | None  # None for the reference row itself
    search_energy_pj: float | None = None  # the trial's compute energy per image in the search (a Pareto objective)

    def to_dict(self) -> dict[str, Any]:
        d = self.difference
        return {
            "label": self.label,
            "trial": self.result.trial,
            "strategy": self.result.strategy,
            "thesis_preset": self.result.thesis_preset,
            "settings": self.settings,
            "validation_accuracy": self.result.validation_accuracy,
            "search_energy_pj": self.search_energy_pj,
            "test_mean": self.summary.mean,
            "test_std": self.summary.std,
            "test_ci95": [self.summary.low, self.summary.high],
            "seeds": self.summary.n,
            "test_reads_before": self.result.test_reads_before,
            "difference": None if d is None else d.to_dict(),
        }


def short_hash(key: Any) -> str:
    """Eight hex digits of a JSON-able key: a file-name part that tells one retrain record from another."""
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:8]


def comparison_name(
    trials: list[int],
    seeds: int,
    train_size: int,
    epochs: int | None,
    tta: str | None = None,
    precision: str | None = None,
) -> str:
    """A file name for one comparison: its trials and budget, hashed, so another comparison never overwrites it.

    ``tta`` and ``precision`` are search.final's --tta and --precision (None: each trial's own); each
    joins the key only when given, so the names of comparisons written before them stay the same.
    """
    key: list[Any] = [sorted(trials), seeds, train_size, epochs, *([tta] if tta is not None else [])]
    key += [f"precision={precision}"] if precision is not None else []
    return f"comparison-{len(trials)}configs-{seeds}seeds-{short_hash(key)}.json"


def compare(candidates: list[Candidate], results: list[RetrainResult]) -> tuple[list[ComparisonRow], int]:
    """Rows in the given order and the index of the reference (thesis baseline if present, else 0)."""
    reference = next((i for i, r in enumerate(results) if r.thesis_preset == REFERENCE_PRESET), 0)
    ref_acc = results[reference].accuracies
    rows = []
    for i, (candidate, result) in enumerate(zip(candidates, results, strict=True)):
        diff = None if i == reference else paired_difference(result.accuracies, ref_acc)
        rows.append(
            ComparisonRow(
                candidate.label,
                describe_config(candidate.config),
                result,
                result.summary,
                diff,
                candidate.record.energy_pj,
            )
        )
    return rows, reference
