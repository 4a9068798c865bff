"""search.final --reuse: which earlier retrains hold the same network, on recorded results (no training)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from search.errors import UserError
from search.retrain import RetrainResult, earlier_retrains
from search.retrain._comparison import Candidate, _reused_seed, seeds_recorded
from search.retrain._result import RetrainBudget, RetrainRun
from search.retrain._retrain import RunStore
from search.retrain._reuse import earlier_store, reads_before_at_source
from search.store import TrialRecord, write_json
from search.training import TrainConfig

VERSIONS = {"torch": "2.14.1", "spikingjelly": "2.0.0", "optuna": "5.1.0", "neuron_kernel": "torch-reference"}
CONFIG = TrainConfig(seed=7, epochs=3)
BUDGET = RetrainBudget(train_size=300, epochs=3, seeds=2, trial_epochs=3)


def _run(seed: int) -> RetrainRun:
    return RetrainRun(
        seed=seed,
        test_accuracy=0.8 + seed / 100,
        test_loss=0.5,
        per_class_accuracy={},
        confusion_matrix=[],
        train_seconds=12.0,
        test_seconds=1.0,
        history=[{"epoch": 1, "train_acc": 0.7}],
    )


def _earlier(final: Path, config: TrainConfig = CONFIG, **changes: object) -> Path:
    """A finished retrain of trial 4 of study 'old' in ``final``, with ``changes`` to its result."""
    folder = final / BUDGET.folder_name(4)
    fingerprint = {
        "study": "old",
        "trial": 4,
        "config": config.replace(seed=0).to_dict(),
        "epochs": BUDGET.epochs,
        "train_size": BUDGET.train_size,
    }
    store = RunStore(folder, fingerprint)
    runs = [_run(0), _run(1)]
    for run in runs:
        store.save(run)
    result = RetrainResult(
        study="old",
        storage="sqlite://",
        trial=4,
        strategy="lr_annealing",
        thesis_preset="lr_annealing",
        validation_accuracy=0.9,
        config=config.to_dict(),
        budget=BUDGET,
        runs=runs,
        device="cpu",
        versions=VERSIONS,
    )
    write_json(folder / "result.json", {**result.to_dict(), **changes})
    return folder


def _fingerprint(config: TrainConfig = CONFIG, trial: int = 3) -> dict[str, object]:
    """This retrain's fingerprint: another study and trial number, the trial's own seed."""
    return {
        "study": "new",
        "trial": trial,
        "config": config.replace(seed=0, compile=False).to_dict(),
        "epochs": BUDGET.epochs,
        "train_size": BUDGET.train_size,
    }


def test_the_same_network_in_another_study_is_found_and_its_seeds_read(tmp_path: Path) -> None:
    folder = _earlier(tmp_path)
    store = earlier_store(earlier_retrains(tmp_path), _fingerprint(CONFIG.replace(seed=3)), "cpu", VERSIONS)
    assert store is not None and store.folder == folder
    recorded = _reused_seed(store, 1, CONFIG, torch.device("cpu"))
    assert recorded is not None
    run, model = recorded
    assert run == replace(_run(1), reused_from=str(folder)) and model is None  # no weights were kept
    assert _reused_seed(store, 2, CONFIG, torch.device("cpu")) is None  # a seed it never trained


@pytest.mark.parametrize(
    ("changes", "fingerprint"),
    [
        ({"device": "cuda:0"}, _fingerprint()),
        ({"versions": {**VERSIONS, "neuron_kernel": "fused"}}, _fingerprint()),
        ({"versions": {**VERSIONS, "torch": "2.15.0"}}, _fingerprint()),
        ({}, {**_fingerprint(), "epochs": 30}),
        ({}, {**_fingerprint(), "train_size": 60_000}),
        ({}, _fingerprint(CONFIG.replace(lr=0.5))),
        ({}, _fingerprint(CONFIG.replace(tta="flip"))),
    ],
    ids=["device", "kernel", "torch", "epochs", "images", "lr", "tta"],
)
def test_another_device_software_budget_or_config_is_not_the_same_network(
    tmp_path: Path, changes: dict[str, object], fingerprint: dict[str, object]
) -> None:
    _earlier(tmp_path, **changes)
    assert earlier_store(earlier_retrains(tmp_path), fingerprint, "cpu", VERSIONS) is None


def test_optuna_version_and_compile_do_not_matter(tmp_path: Path) -> None:
    """Optuna only chose the configuration; compile changes speed, never the numbers."""
    _earlier(tmp_path, CONFIG.replace(compile=True), versions={**VERSIONS, "optuna": "4.0.0"})
    assert earlier_store(earlier_retrains(tmp_path), _fingerprint(), "cpu", VERSIONS) is not None


def test_a_seed_file_of_another_network_is_skipped_not_mixed_in(tmp_path: Path) -> None:
    """A result.json that matches over a seed file that does not (edited by hand) offers nothing."""
    folder = _earlier(tmp_path)
    RunStore(folder, {**_fingerprint(), "study": "old", "trial": 4, "config": CONFIG.replace(lr=0.5).to_dict()}).save(
        _run(0)
    )
    store = earlier_store(earlier_retrains(tmp_path), _fingerprint(), "cpu", VERSIONS)
    assert store is not None
    assert _reused_seed(store, 0, CONFIG, torch.device("cpu")) is None
    assert _reused_seed(store, 1, CONFIG, torch.device("cpu")) is not None


def test_a_folder_without_finished_retrains_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"--reuse .*/nope: no such folder"):
        earlier_retrains(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(UserError, match="notes.txt: not a folder; give a study's final/ folder"):
        earlier_retrains(tmp_path / "notes.txt")
    (tmp_path / "trial-1-3ep-300img").mkdir()  # unfinished: no result.json
    (tmp_path / "trial-2-3ep-300img").mkdir()
    (tmp_path / "trial-2-3ep-300img" / "result.json").write_text("{not json")
    (tmp_path / "trial-3-3ep-300img").mkdir()
    (tmp_path / "trial-3-3ep-300img" / "result.json").write_text("[1, 2]")  # JSON, but not a result
    with pytest.raises(UserError, match="no finished retrain in it; give a study's final/ folder"):
        earlier_retrains(tmp_path)


def test_the_seeds_it_need_not_train_are_counted_before_it_starts(tmp_path: Path) -> None:
    """The time left leaves out the seeds recorded here (a resume) and those an earlier retrain holds."""
    _earlier(tmp_path / "old")
    candidate = Candidate(TrialRecord(number=3, state=None, params={}), CONFIG.replace(seed=3))  # type: ignore[arg-type]
    budget = replace(BUDGET, seeds=4)
    here = tmp_path / "new" / budget.folder_name(3)
    RunStore(here, _fingerprint(CONFIG.replace(seed=3))).save(_run(3))

    def count(earlier: Path | None) -> int:
        return seeds_recorded(
            candidate,
            budget,
            study_name="new",
            folder=here,
            device=torch.device("cpu"),
            versions=VERSIONS,
            stretch=lambda config, epochs: config,
            earlier=earlier_retrains(earlier) if earlier else None,
        )

    assert count(None) == 1  # seed 3, recorded here
    assert count(tmp_path / "old") == 3  # and seeds 0 and 1, recorded earlier; seed 2 trains


@pytest.mark.parametrize(("source_count", "expected"), [(0, 0), (2, 2), (None, None)])
def test_a_reused_seed_carries_the_reads_its_source_had_counted_before_it(
    tmp_path: Path, source_count: int | None, expected: int | None
) -> None:
    """Its figure was read there: reads counted there before it were made before it here too; an
    unknown count there (n/a) stays unknown.  The run keeps the count, so it holds wherever the
    command runs from and after the source folder has gone."""
    source = _earlier(tmp_path / "old", test_reads_before=source_count)
    store = RunStore(source, {**_fingerprint(), "study": "old", "trial": 4})
    [match] = earlier_retrains(tmp_path / "old")
    recorded = _reused_seed(store, 0, CONFIG, torch.device("cpu"), match.result.test_reads_before)
    assert recorded is not None
    run = recorded[0]
    assert run.reused_reads_before == source_count
    assert reads_before_at_source([run, _run(1)]) == expected
    moved = replace(run, reused_from=str(tmp_path / "moved-away"))
    assert reads_before_at_source([moved]) == expected  # kept in the run, not looked up


def test_a_reused_seed_recorded_before_runs_kept_the_count_looks_it_up_in_its_source(tmp_path: Path) -> None:
    source = _earlier(tmp_path / "old", test_reads_before=2)
    assert reads_before_at_source([replace(_run(0), reused_from=str(source)), _run(1)]) == 2
    assert reads_before_at_source([replace(_run(0), reused_from=str(tmp_path / "gone"))]) is None  # unknown
    assert reads_before_at_source([_run(0), _run(1)]) == 0  # nothing reused
