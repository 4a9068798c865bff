"""One run of ``search.final``: what was asked, the retrains, and the record it leaves in the study.

The command turns its flags into a :class:`RetrainRequest`, picks the study, loads the data and
calls :func:`retrain_all`, then records what it did (:func:`record_retrain` or
:func:`record_comparison`, and :func:`record_confirmation` after :func:`retrain_confirmation`
with ``--confirm``); the tables it prints come from
:mod:`search.retrain._tables`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import optuna
import torch

from search.retrain._comparison import (
    Candidate,
    ComparisonRow,
    budget_for,
    comparison_name,
    retrain_candidate,
    seeds_recorded,
    select_candidates,
    short_hash,
)
from search.retrain._confirmation import Confirmation, check_confirmable, confirm, earlier_look
from search.retrain._result import RetrainBudget, RetrainResult, RetrainRun
from search.retrain._reuse import EarlierRetrain
from search.retrain._test_reads import StudyReadLog
from search.store import write_json
from search.training import THESIS_BASELINE_TEST, THESIS_BEST_TEST, ImageSet, stretch_schedule


@dataclass(frozen=True)
class RetrainRequest:
    """What ``search.final`` asked for: which configurations, and the protocol they all share."""

    top: int | None = None
    thesis: bool = False
    trials: tuple[int, ...] = ()
    force: bool = False
    seeds: int = 1
    epochs: int | None = None
    train_size: int | None = None
    tta: str | None = None  # None: each trial's own
    compile: bool | None = None  # None: each trial's own
    precision: str | None = None  # --precision bf16 or fp32 (None: each trial's own, the study's)
    confirm: int | None = None  # further seeds for the pair search.retrain._confirmation names
    # False for the confirming seeds: each folder's result.json stays the comparison's (its seeds only),
    # so the report and search.fidelity never mix six-seed means of two rows with three-seed ones.
    write_results: bool = True

    def candidates(self, study: optuna.Study) -> list[Candidate]:
        """The configurations to retrain, with this request's overrides of their stored configs."""
        chosen = select_candidates(
            study, top=self.top, thesis=self.thesis, trials=list(self.trials) or None, force=self.force
        )
        if self.confirm:
            check_confirmable(chosen)
        overrides = {
            k: v
            for k, v in (("compile", self.compile), ("tta", self.tta), ("precision", self.precision))
            if v is not None
        }
        return [c.with_config(c.config.replace(**overrides)) for c in chosen] if overrides else chosen


@dataclass(frozen=True)
class Retrained:
    """One configuration's retrain: its budget and its result over seeds."""

    candidate: Candidate
    budget: RetrainBudget
    result: RetrainResult


def retrain_all(
    request: RetrainRequest,
    candidates: list[Candidate],
    *,
    study_name: str,
    storage: str,
    final_dir: Path,
    train_set: ImageSet,
    test_set: ImageSet,
    device: torch.device,
    versions: Callable[[Candidate], dict[str, str]],
    on_run: Callable[[Candidate, RetrainRun, bool], None] | None = None,
    on_epoch: Callable[..., None] | None = None,
    earlier: list[EarlierRetrain] | None = None,
    read_log: StudyReadLog | None = None,
) -> list[Retrained]:
    """Retrain every candidate for every seed, in order, each in its own folder under ``final_dir``;
    a seed one of the ``earlier`` retrains (``--reuse``) recorded for the same network is read from it,
    and every test read is logged in ``read_log`` (the study's, so that it outlives the folders).

    ``versions`` gives what a candidate's result records of the software and kernel it ran on;
    ``on_epoch(candidate, seed, stats, epochs=...)`` is told each epoch, with the budget's epochs.
    """
    done = []
    for candidate in candidates:
        budget = budget_for(candidate, train_size=len(train_set), epochs=request.epochs, seeds=request.seeds)
        result = retrain_candidate(
            candidate,
            budget,
            study_name=study_name,
            storage=storage,
            folder=final_dir / budget.folder_name(candidate.record.number),
            train_set=train_set,
            test_set=test_set,
            device=device,
            versions=versions(candidate),
            stretch=stretch_schedule,
            on_run=on_run,
            on_epoch=on_epoch and partial(on_epoch, epochs=budget.epochs),
            write_result=request.write_results,
            earlier=earlier,
            read_log=read_log,
        )
        done.append(Retrained(candidate, budget, result))
    return done


def runs_to_train(
    request: RetrainRequest,
    candidates: list[Candidate],
    *,
    study_name: str,
    final_dir: Path,
    train_size: int,
    device: torch.device,
    versions: Callable[[Candidate], dict[str, str]],
    earlier: list[EarlierRetrain] | None = None,
) -> int:
    """How many (configuration, seed) runs :func:`retrain_all` will train for ``request``: the rest are
    recorded already (a resume) or read from an earlier retrain (``--reuse``).  The time left counts these."""
    total = 0
    for candidate in candidates:
        budget = budget_for(candidate, train_size=train_size, epochs=request.epochs, seeds=request.seeds)
        total += budget.seeds - seeds_recorded(
            candidate,
            budget,
            study_name=study_name,
            folder=final_dir / budget.folder_name(candidate.record.number),
            device=device,
            versions=versions(candidate),
            stretch=stretch_schedule,
            earlier=earlier,
        )
    return total


def budget_text(retrained: list[Retrained], train_size: int, seeds: int) -> str:
    """The shared budget of a retrain, in words (one epoch count, or "epochs per row")."""
    budgets = [r.budget for r in retrained]
    if len({b.epochs for b in budgets}) == 1:
        return budgets[0].describe()
    reduced = any(b.reduced for b in budgets)
    return f"{train_size:,} training images, {seeds} seed(s), epochs per row" + (
        " (reduced retrain)" if reduced else ""
    )


def record_retrain(
    study: optuna.Study, retrained: Retrained, rows: list[ComparisonRow], train_size: int, seeds: int
) -> Path:
    """Record a single configuration's retrain in the study (``final_result``); its folder."""
    first = retrained.result
    folder = retrained.budget.folder_name(first.trial)
    study.set_user_attr(
        "final_result",
        {
            "trial": first.trial,
            "folder": folder,
            "test_accuracy_mean": rows[0].summary.mean,
            "test_accuracy_std": rows[0].summary.std,
            "seeds": seeds,
            "epochs": retrained.budget.epochs,
            "train_size": train_size,
            "reduced": retrained.budget.reduced,
            "at_thesis_budget": retrained.budget.at_thesis_budget,
        },
    )
    return Path(folder)


def record_comparison(
    study: optuna.Study,
    retrained: list[Retrained],
    rows: list[ComparisonRow],
    reference: int,
    request: RetrainRequest,
    train_size: int,
    final_dir: Path,
) -> tuple[dict[str, Any], Path]:
    """Write a comparison of several configurations beside their folders and note it in the study."""
    text = budget_text(retrained, train_size, request.seeds)
    record = {
        "study": study.study_name,
        "objectives": list(study.metric_names or ["accuracy"]),
        "budget": text,
        "reduced": any(r.budget.reduced for r in retrained),
        "at_thesis_budget": all(r.budget.at_thesis_budget for r in retrained),
        "reference": reference,
        "rows": [r.to_dict() for r in rows],
        "thesis": {"baseline_test": THESIS_BASELINE_TEST, "best_test": THESIS_BEST_TEST},
        "folders": [r.budget.folder_name(r.result.trial) for r in retrained],
    }
    path = final_dir / comparison_name(
        [r.result.trial for r in retrained], request.seeds, train_size, request.epochs, request.tta, request.precision
    )
    write_json(path, record)
    study.set_user_attr("final_comparison", {"file": path.name, "budget": text, "rows": len(rows)})
    return record, path


def confirmation_path(
    comparison: Path, pair: tuple[int, int], first: int, confirming: int, budget: RetrainBudget
) -> Path:
    """The record of the confirmation of ``pair`` (B, A trial numbers) on ``confirming`` seeds after
    ``first``, at ``budget``: beside the ``comparison`` that chose the pair."""
    b, a = pair
    key: list[object] = [b, a, first, confirming, budget.train_size, budget.epochs, budget.tta]
    key += [budget.precision] if budget.precision != "fp32" else []  # float32's names as before
    return comparison.parent / f"confirmation-{b}-{a}-{short_hash(key)}.json"


def record_confirmation(
    study: optuna.Study, confirmation: Confirmation, confirmed: list[Retrained], comparison: Path
) -> Path:
    """Write a confirmation beside the retrain folders and note it in the study (``final_confirmation``),
    each naming the comparison (``comparison``, its file) whose first seeds chose the pair."""
    c, budget = confirmation, confirmed[0].budget
    text = budget_text(confirmed, budget.train_size, budget.seeds)
    b, a = c.thesis.result.trial, c.searched.result.trial
    path = confirmation_path(comparison, (b, a), c.first_seeds, c.confirming_seeds, budget)
    write_json(path, {"study": study.study_name, "budget": text, "comparison": comparison.name, **c.to_dict()})
    study.set_user_attr(
        "final_confirmation",
        {
            "file": path.name,
            "comparison": comparison.name,
            "budget": text,
            "A": a,
            "B": b,
            "first_seeds": c.first_seeds,
            "confirming_seeds": c.confirming_seeds,
            "verdict": c.verdict,
            "looked_before": c.looked_before,
        },
    )
    return path


def _record(path: Path) -> dict[str, Any] | None:
    """A confirmation record with its file name; None where it is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return {**data, "file": path.name} if isinstance(data, dict) else None


def confirmation_look(
    study: optuna.Study, comparison: Path, pair: tuple[Candidate, Candidate], request: RetrainRequest, train_size: int
) -> str | None:
    """What other confirmations of the same pair had shown before this one (``request.confirm`` seeds
    after ``request.seeds``) was asked (:func:`search.retrain._confirmation.earlier_look`).  A rerun
    or a resume of this very confirmation keeps what its record said; None where there is nothing."""
    if not request.confirm:
        raise ValueError("confirmation_look needs a request with confirm set")
    b, a = pair
    trials, k = (b.record.number, a.record.number), request.confirm
    budget = budget_for(b, train_size=train_size, epochs=request.epochs, seeds=request.seeds + k)
    this = confirmation_path(comparison, trials, request.seeds, k, budget)
    own = _record(this)
    if own is not None:
        note = own.get("looked_before")
        return note if isinstance(note, str) else None
    paths = sorted(p for p in comparison.parent.glob(f"confirmation-{trials[0]}-{trials[1]}-*.json") if p != this)
    earlier = [r for r in map(_record, paths) if r is not None]
    latest = study.user_attrs.get("final_confirmation")
    if (  # its file lost with a machine: the study still says what it read
        isinstance(latest, dict)
        and (latest.get("B"), latest.get("A")) == trials
        and latest.get("file") not in {this.name, *(p.name for p in paths)}
    ):
        earlier.append(latest)
    return earlier_look(earlier, k)


def retrain_confirmation(
    request: RetrainRequest,
    pair: tuple[Candidate, Candidate],
    retrain: Callable[[RetrainRequest, list[Candidate]], list[Retrained]],
    looked_before: str | None = None,
) -> tuple[Confirmation, list[Retrained]]:
    """Retrain the pair (B, A) of :func:`confirmation_pair` on ``request.confirm`` seeds after its
    ``request.seeds`` with ``retrain`` (:func:`retrain_all` bound to the command's data and
    folders).  The pair's first seeds are read from their folders, not trained again."""
    if not request.confirm:
        raise ValueError("retrain_confirmation needs a request with confirm set")
    more = replace(request, seeds=request.seeds + request.confirm, write_results=False)
    done = retrain(more, list(pair))
    confirmation = confirm(
        (pair[0].label, done[0].result), (pair[1].label, done[1].result), request.seeds, looked_before=looked_before
    )
    return confirmation, done
