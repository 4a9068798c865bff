"""Every row of docs/errors.md, as a subprocess: the message, the exit code, and that nothing was created.

The rows run in a module fixture, each test then checks one row.  Most rows run in a child
process forked from this one that runs the command as ``python -m`` would (support.fork_run:
the same process boundary, without four seconds of torch import per row).  The rows about
file permissions run as real ``python -m`` processes: when the tests run as root, without
root's power to override file permissions (``setpriv``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pytest
import torch

from search.store import BEST_VAL_ACC
from search.training import STRATEGY_NAMES
from search.tuning import PRUNERS, SAMPLERS
from search.tuning._worker_processes import available_cores
from support import (
    DEFAULT_POSTGRES_URL,
    HEARTBEAT,
    REPO_ROOT,
    STUDY,
    TINY,
    command_env,
    finish,
    fork_run,
    make_storage,
    postgres_reason,
    run_module,
    running_trial_after_finished,
    start_module,
    tree,
    trials,
    unique,
    wait_for,
)

PASSWORD = "s3cret-pw-4711"
UNREACHABLE = f"postgresql+psycopg://optuna:{PASSWORD}@127.0.0.1:1/optuna_test"
POSTGRES = os.environ.get("SNN_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
# Root ignores file permissions; these capabilities dropped, it obeys them like any user.
NO_OVERRIDE = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--") if IS_ROOT else ()


@dataclass
class Row:
    """One bad input: the command, and what the user must see."""

    name: str
    module: str
    args: list[str]
    code: int
    says: list[str]
    setup: Callable[[Path], dict[str, str]] | None = None  # makes files in the folder; returns env changes
    needs: str | None = None  # "postgres", "no-cuda", "permissions"
    debug: bool = False  # --debug: a traceback is expected
    never: list[str] = field(default_factory=lambda: [PASSWORD])
    within_s: float | None = None


def unwritable_studies(folder: Path) -> dict[str, str]:
    (folder / "studies").mkdir()
    (folder / "studies").chmod(0o555)
    return {}


def read_only_db(folder: Path) -> dict[str, str]:
    make_storage(folder / "ro.db", {"alpha": 1})
    (folder / "ro.db").chmod(0o444)
    return {}


def corrupt_db(folder: Path) -> dict[str, str]:
    (folder / "bad.db").write_bytes(b"this is not a database\n" * 200)
    return {}


def replay_db(folder: Path) -> dict[str, str]:
    """Five complete trials with two-epoch validation curves, as search.pruners replays them."""
    study = optuna.create_study(study_name="replay", storage=f"sqlite:///{folder / 'replay.db'}", direction="maximize")
    for i in range(5):
        study.add_trial(
            optuna.trial.create_trial(value=0.6 + i / 100, intermediate_values={1: 0.5 + i / 100, 2: 0.6 + i / 100})
        )
    return {}


def start_sources(folder: Path) -> dict[str, str]:
    """In studies/optuna.db: 'full' (made by search.run's settings, --space full) and 'empty' (no trial)."""
    from search.tuning._settings import SETTINGS_ATTR, SpaceSettings, StudySettings

    (folder / "studies").mkdir()
    url = f"sqlite:///{folder / 'studies' / 'optuna.db'}"
    for name, space in (("full", "full"), ("empty", "default")):
        study = optuna.create_study(study_name=name, storage=url, direction="maximize")
        study.set_user_attr(SETTINGS_ATTR, StudySettings(space=SpaceSettings(space=space, epochs=1)).to_dict())
    return {}


def fidelity_study(folder: Path) -> dict[str, str]:
    replay_db(folder)
    return {}


def empty_data(folder: Path) -> dict[str, str]:
    (folder / "nodata").mkdir()
    return {"FMNIST_DIR": str(folder / "nodata")}


def final_studies(folder: Path) -> dict[str, str]:
    make_storage(folder / "studies" / "optuna.db", {"alpha": 1, "empty": 0})
    return {}


def only_empty_study(folder: Path) -> dict[str, str]:
    make_storage(folder / "studies" / "optuna.db", {"empty": 0})
    return {}


def pruned_trial(folder: Path) -> dict[str, str]:
    """Study alpha: trial 0 complete, trial 1 pruned after its first epoch (both with a config to retrain)."""
    url = make_storage(folder / "studies" / "optuna.db", {"alpha": 1})
    study = optuna.load_study(study_name="alpha", storage=url)
    attrs = dict(study.trials[0].user_attrs)
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.PRUNED, intermediate_values={1: 0.3}, user_attrs={**attrs, BEST_VAL_ACC: 0.3}
        )
    )
    return {}


def final_read_only(folder: Path) -> dict[str, str]:
    make_storage(folder / "db" / "s.db", {"alpha": 1})
    (folder / "db" / "s.db").chmod(0o444)
    return {}


def a_storage(folder: Path) -> dict[str, str]:
    make_storage(folder / "db" / "s.db", {"alpha": 1})
    return {}


def final_unwritable_results(folder: Path) -> dict[str, str]:
    """The results folder beside the storage (db/s/ for db/s.db) exists and cannot be written."""
    make_storage(folder / "db" / "s.db", {"alpha": 1})
    (folder / "db" / "s").mkdir()
    (folder / "db" / "s").chmod(0o555)
    return {}


def rows(fmnist: Path) -> list[Row]:
    def truncated_data(folder: Path) -> dict[str, str]:
        (folder / "cut").mkdir()
        with open(fmnist / "train-images-idx3-ubyte", "rb") as src:
            (folder / "cut" / "train-images-idx3-ubyte").write_bytes(src.read(100_000))
        shutil.copy(fmnist / "train-labels-idx1-ubyte", folder / "cut")
        return {"FMNIST_DIR": str(folder / "cut")}

    usage = "python -m search.run: error: "
    return [
        Row("seed-negative", "search.run", ["--seed", "-1"], 2, ["--seed: a seed is between 0 and 4294967295, got -1"]),
        Row(
            "train-size-below-one-per-class",
            "search.run",
            ["--train-size", "5"],
            2,
            ["--train-size: a stratified subset needs one image per class, at least 10, got 5"],
        ),
        Row(
            "val-size-below-one-per-class",
            "search.run",
            ["--val-size", "5"],
            2,
            ["--val-size: a stratified subset needs one image per class, at least 10, got 5"],
        ),
        Row(
            "train-size-above-the-part",
            "search.run",
            ["--train-size", "99999999"],
            2,
            ["--train-size: the search's training part holds 50,000 images, got 99,999,999"],
        ),
        Row(
            "final-train-size-above-the-set",
            "search.final",
            ["--train-size", "60001"],
            2,
            ["--train-size: the training set holds 60,000 images, got 60,001"],
        ),
        Row(
            "storage-driver-missing",
            "search.run",
            ["--storage", "mysql://optuna@127.0.0.1/optuna"],
            2,
            [
                "error: the driver for storage scheme 'mysql' is not installed: pip install mysqlclient "
                "(or use mysql+pymysql://... with pip install PyMySQL)"
            ],
        ),
        Row(
            "storage-folder-typo",
            "search.run",
            ["--storage", "sqlite:///studeis/optuna.db"],
            2,
            [
                "error: storage sqlite:///studeis/optuna.db does not exist, and neither does its folder studeis/ "
                "(a typo?); to start a new storage there, create the folder first"
            ],
        ),
        Row(
            "storage-in-memory",
            "search.run",
            ["--storage", "sqlite:///:memory:"],
            2,
            ["error: storage sqlite:///:memory: is an in-memory SQLite database: it would lose every trial"],
        ),
        Row(
            "report-out-is-a-folder",
            "search.report",
            ["--storage", "sqlite:///db/s.db", "--study", "alpha", "--out", "db"],
            1,
            ["error: cannot write the report to db: it is a folder"],
            setup=a_storage,
        ),
        Row(
            "final-results-dir-on-a-system-folder",
            "search.final",
            ["--storage", "sqlite:///db/s.db", "--study", "alpha", "--results-dir", "/proc/snn-search-results"],
            1,
            ["error: cannot write to /proc/ (the retrain's results): no such file or directory"],
            setup=a_storage,
            within_s=30,
        ),
        Row("trials-zero", "search.run", ["--trials", "0"], 2, [usage, "--trials: must be at least 1, got 0"]),
        Row("trials-negative", "search.run", ["--trials", "-5"], 2, ["--trials: must be at least 1, got -5"]),
        Row(
            "trials-not-a-number",
            "search.run",
            ["--trials", "many"],
            2,
            ["--trials: expected a whole number, got 'many'"],
        ),
        Row("epochs-zero", "search.run", ["--epochs", "0"], 2, ["--epochs: must be at least 1, got 0"]),
        Row("workers-zero", "search.run", ["--workers", "0"], 2, ["--workers: must be at least 1, got 0"]),
        Row(
            "workers-more-than-cores",
            "search.run",
            ["--workers", str(available_cores() + 1)],
            2,
            [f"this machine has {available_cores()} CPU core(s); use at most {available_cores()}"],
        ),
        Row(
            "strategy-unknown",
            "search.run",
            ["--strategies", "baseline,warp"],
            2,
            ["unknown strategy warp; valid: " + ", ".join(STRATEGY_NAMES)],
        ),
        Row(
            "fix-malformed",
            "search.run",
            ["--fix", "lr"],
            2,
            ["argument --fix: expected NAME=VALUE, e.g. schedule=onecycle, got 'lr'"],
        ),
        Row(
            "fix-unknown-parameter",
            "search.run",
            ["--fix", "warp=1"],
            2,
            ["error: --fix warp: no such parameter; valid: augment, batch_norm, batch_size"],
        ),
        Row(
            "fix-strategy",
            "search.run",
            ["--fix", "strategy=sgd"],
            2,
            ["error: --fix strategy: use --strategies to choose the strategies"],
        ),
        Row(
            "fix-full-space-only",
            "search.run",
            ["--fix", "width=1.5"],
            2,
            ["error: --fix width: only --space full searches width"],
        ),
        Row(
            "fix-not-a-choice",
            "search.run",
            ["--fix", "optimizer=adamx"],
            2,
            ["error: --fix optimizer=adamx: not a choice; valid: adam, adamw, sgd, rmsprop, nadam"],
        ),
        Row(
            "fix-out-of-range",
            "search.run",
            ["--fix", "label_smoothing=0.5"],
            2,
            ["error: --fix label_smoothing=0.5: outside the space's range [0, 0.2]"],
        ),
        Row(
            "fix-not-a-number",
            "search.run",
            ["--fix", "time_steps=many"],
            2,
            ["error: --fix time_steps=many: expected a whole number"],
        ),
        Row(
            "fix-dropout-below-dropout-strategy",
            "search.run",
            ["--strategies", "dropout,combined", "--fix", "dropout=0"],
            2,
            ["error: --fix dropout=0: the strategy 'dropout' draws its rate from [0.1, 0.7]"],
        ),
        Row("fix-twice", "search.run", ["--fix", "lr=1e-3", "--fix", "lr=2e-3"], 2, ["error: --fix lr: given twice"]),
        Row(
            "sampler-unknown",
            "search.run",
            ["--sampler", "anneal"],
            2,
            ["argument --sampler: invalid choice: 'anneal'", *SAMPLERS],
        ),
        Row(
            "pruner-unknown",
            "search.run",
            ["--pruner", "early"],
            2,
            ["argument --pruner: invalid choice: 'early'", *PRUNERS],
        ),
        Row(
            "timeout-not-positive",
            "search.run",
            ["--timeout", "0"],
            2,
            ["argument --timeout: must be greater than 0, got 0 (see --help)"],
        ),
        Row(
            "min-resource-zero",
            "search.run",
            ["--min-resource", "0"],
            2,
            ["argument --min-resource: must be at least 1, got 0"],
        ),
        Row(
            "min-resource-not-below-epochs",
            "search.run",
            ["--min-resource", "1"],
            2,  # TINY: 1 epoch
            [
                "error: --min-resource 1 is not below the study's 1 epoch per trial: a trial could be pruned only "
                "after its last epoch"
            ],
        ),
        Row(
            "min-resource-two-objectives",
            "search.run",
            ["--objective", "accuracy,energy", "--min-resource", "1"],
            2,
            [
                "error: --min-resource sets the first epoch a trial can be pruned at; Optuna prunes no trial of a "
                "two-objective study"
            ],
        ),
        Row(
            "min-resource-without-pruner",
            "search.run",
            ["--pruner", "none", "--min-resource", "1"],
            2,
            ["error: --min-resource sets the first epoch a trial can be pruned at; --pruner none prunes no trial"],
        ),
        Row(
            "pruners-min-resource-not-below-epochs",
            "search.pruners",
            ["--storage", "sqlite:///replay.db", "--study", "replay", "--min-resource", "2"],
            2,
            [
                "error: --min-resource 2 is not below the 2 epochs of the curves of study 'replay': a pruner could "
                "prune only after the last"
            ],
            setup=replay_db,
        ),
        Row(
            "start-top-without-start-from",
            "search.run",
            ["--start-top", "3"],
            2,
            ["error: --start-top K chooses how many configurations --start-from STUDY queues: add it"],
        ),
        Row(
            "start-from-missing",
            "search.run",
            ["--study", "long", "--start-from", "nope"],
            2,
            ["error: --start-from nope: no such study in this storage (--storage)"],
            setup=start_sources,
        ),
        Row(
            "start-from-itself",
            "search.run",
            ["--study", "long", "--start-from", "long"],
            2,
            ["error: --start-from long: a study cannot start from itself"],
        ),
        Row(
            "start-from-other-space",
            "search.run",
            ["--study", "long", "--start-from", "full"],
            2,
            ["error: --start-from full: its space differs from this study's"],
            setup=start_sources,
        ),
        Row(
            "start-from-no-complete-trial",
            "search.run",
            ["--study", "long", "--start-from", "empty"],
            1,
            ["error: --start-from empty: that study holds no complete searched trial yet"],
            setup=start_sources,
        ),
        Row(
            "fidelity-against-itself",
            "search.fidelity",
            ["--storage", "sqlite:///replay.db", "--study", "replay", "--against", "replay"],
            2,
            ["error: --against replay: that is the study itself"],
            setup=fidelity_study,
        ),
        Row(
            "fidelity-against-missing",
            "search.fidelity",
            ["--storage", "sqlite:///replay.db", "--study", "replay", "--against", "nope"],
            1,
            ["error: no study 'nope' in sqlite:///replay.db; studies there: replay"],
            setup=fidelity_study,
        ),
        Row(
            "fidelity-min-resource-without-pruner",
            "search.fidelity",
            ["--storage", "sqlite:///replay.db", "--study", "replay", "--min-resource", "3"],
            2,
            ["error: --min-resource sets the first rung of --pruner: add --pruner hyperband, median or sha"],
            setup=fidelity_study,
        ),
        Row(
            "fidelity-against-other-space",
            "search.fidelity",
            ["--study", "full", "--against", "empty"],
            2,
            ["error: --against empty: its space differs from study 'full'"],
            setup=start_sources,
        ),
        Row(
            "fidelity-pruner-not-made-by-search-run",
            "search.fidelity",
            ["--storage", "sqlite:///replay.db", "--study", "replay", "--pruner", "hyperband"],
            2,
            ["error: --pruner: study 'replay' was not made by search.run, so its epochs and rungs are unknown"],
            setup=fidelity_study,
        ),
        Row(
            "fidelity-min-resource-not-below-epochs",
            "search.fidelity",
            ["--study", "full", "--pruner", "hyperband", "--min-resource", "1"],
            2,
            ["error: --min-resource 1 is not below the 1 epochs of study 'full': a pruner could prune only"],
            setup=start_sources,
        ),
        Row(
            "fidelity-out-is-a-folder",
            "search.fidelity",
            ["--storage", "sqlite:///replay.db", "--study", "replay", "--out", "."],
            1,
            ["error: cannot write the figure to .: it is a folder"],
            setup=fidelity_study,
        ),
        Row(
            "storage-patience-zero",
            "search.run",
            ["--storage-patience", "0"],
            2,
            ["argument --storage-patience: must be greater than 0, got 0 (see --help)"],
        ),
        Row(
            "grace-not-longer-than-heartbeat",
            "search.run",
            ["--heartbeat-interval", "5", "--grace-period", "5"],
            2,
            ["--grace-period (5 s) must be longer than --heartbeat-interval (5 s)"],
        ),
        Row(
            "storage-malformed",
            "search.run",
            ["--storage", "studies.db"],
            2,
            ["malformed storage URL 'studies.db'; expected e.g. sqlite:///studies/optuna.db"],
        ),
        Row(
            "storage-malformed-with-password",
            "search.run",
            ["--storage", f"postgresql+psycopg://u:{PASSWORD}@h:port/db"],
            2,
            ["malformed storage URL"],
        ),
        Row(
            "storage-unsupported-scheme",
            "search.run",
            ["--storage", "mongodb://localhost/studies"],
            2,
            ["unsupported storage scheme 'mongodb'"],
        ),
        Row(
            "postgres-unreachable",
            "search.run",
            ["--storage", UNREACHABLE],
            1,
            ["error: cannot connect to postgresql at 127.0.0.1:1", "optuna:***@127.0.0.1:1", "refused"],
            within_s=20,
        ),
        Row(
            "postgres-wrong-password",
            "search.run",
            ["--storage", POSTGRES.replace("optuna:optuna@", f"optuna:{PASSWORD}@")],
            1,
            ["error: cannot connect to postgresql at 127.0.0.1:5432", "password authentication failed"],
            needs="postgres",
            within_s=20,
        ),
        Row(
            "studies-folder-unwritable",
            "search.run",
            [],
            1,
            ["error: cannot write to studies/ (storage sqlite:///studies/optuna.db): permission denied"],
            setup=unwritable_studies,
            needs="permissions",
        ),
        Row(
            "sqlite-read-only",
            "search.run",
            ["--storage", "sqlite:///ro.db"],
            1,
            ["error: storage sqlite:///ro.db is read-only"],
            setup=read_only_db,
            needs="permissions",
        ),
        Row(
            "sqlite-corrupt",
            "search.run",
            ["--storage", "sqlite:///bad.db"],
            1,
            ["error: storage sqlite:///bad.db is not a readable SQLite database"],
            setup=corrupt_db,
        ),
        Row(
            "sqlite-corrupt-debug",
            "search.run",
            ["--storage", "sqlite:///bad.db", "--debug"],
            1,
            ["error: storage sqlite:///bad.db is not a readable SQLite database"],
            setup=corrupt_db,
            debug=True,
        ),
        Row("dataset-missing", "search.run", [], 1, ["error: Fashion-MNIST not found"], setup=empty_data),
        Row("dataset-truncated", "search.run", [], 1, ["truncated or corrupt"], setup=truncated_data),
        Row(
            "device-cuda-without-gpu",
            "search.run",
            ["--device", "cuda"],
            2,
            ["--device cuda: no CUDA GPU is available on this machine"],
            needs="no-cuda",
        ),
        Row(
            "create-only-with-workers",
            "search.run",
            ["--create-only", "--workers", "2"],
            2,
            ["error: --create-only trains nothing, so --workers has nothing to share: drop one of the two"],
        ),
        Row(
            "precision-unknown",
            "search.run",
            ["--precision", "fp16"],
            2,
            ["argument --precision: invalid choice: 'fp16' (choose from 'auto', 'fp32', 'bf16')"],
        ),
        Row(
            "final-no-storage-file",
            "search.final",
            [],
            1,
            ["error: storage sqlite:///studies/optuna.db does not exist", "python -m search.run creates it"],
        ),
        Row(
            "final-unknown-study",
            "search.final",
            ["--study", "nope"],
            1,
            ["error: no study 'nope' in sqlite:///studies/optuna.db; studies there: alpha, empty"],
            setup=final_studies,
        ),
        Row(
            "final-no-complete-trial",
            "search.final",
            ["--study", "empty"],
            1,
            ["error: study 'empty' has no complete trial yet"],
            setup=final_studies,
        ),
        Row(
            "final-best-without-complete-trial",
            "search.final",
            ["--study", "best"],
            1,
            ["no complete trial yet in any study of"],
            setup=only_empty_study,
        ),
        Row(
            "final-trial-out-of-range",
            "search.final",
            ["--study", "alpha", "--trial", "99"],
            1,
            ["error: --trial 99: study 'alpha' has trials 0..0"],
            setup=final_studies,
        ),
        Row(
            "final-read-only-storage",
            "search.final",
            ["--storage", "sqlite:///db/s.db", "--study", "alpha"],
            1,
            ["error: storage sqlite:///db/s.db is read-only"],
            setup=final_read_only,
            needs="permissions",
        ),
        Row(
            "final-studies-folder-unwritable",
            "search.final",
            ["--storage", "sqlite:///db/s.db", "--study", "alpha"],
            1,
            ["error: cannot write to db/s/ (the retrain's results): permission denied"],
            setup=final_unwritable_results,
            needs="permissions",
        ),
        Row(
            "final-top-zero",
            "search.final",
            ["--top", "0"],
            2,
            ["python -m search.final: error: argument --top: must be at least 1, got 0"],
        ),
        Row(
            "final-tta-unknown",
            "search.final",
            ["--tta", "rotate"],
            2,
            ["python -m search.final: error: argument --tta: invalid choice: 'rotate' (choose from 'none', 'flip')"],
        ),
        Row(
            "final-top-too-many",
            "search.final",
            ["--study", "alpha", "--top", "2"],
            1,
            ["error: --top 2: study 'alpha' has 1 complete trial", "distinct configurations"],
            setup=final_studies,
        ),
        Row(
            "final-thesis-none",
            "search.final",
            ["--study", "alpha", "--thesis"],
            1,
            ["error: --thesis: study 'alpha' has no trained thesis trials"],
            setup=final_studies,
        ),
        Row(
            "final-confirm-zero",
            "search.final",
            ["--thesis", "--top", "1", "--confirm", "0"],
            2,
            ["python -m search.final: error: argument --confirm: must be at least 1, got 0"],
        ),
        Row(
            "final-confirm-without-pair",
            "search.final",
            ["--study", "alpha", "--trial", "0", "--seeds", "3", "--confirm", "3"],
            1,
            [
                "error: --confirm compares the best searched configuration with the best thesis recipe: "
                "it needs a thesis recipe (--thesis) and a searched configuration (--top K or --trial N)"
            ],
            setup=final_studies,
        ),
        Row(
            "final-trial-unknown",
            "search.final",
            ["--study", "alpha", "--trial", "0", "--trial", "99"],
            1,
            ["error: --trial 99: study 'alpha' has trials 0..0"],
            setup=final_studies,
        ),
        Row(
            "final-reuse-missing",
            "search.final",
            ["--study", "alpha", "--reuse", "nope/final"],
            1,
            ["error: --reuse nope/final: no such folder"],
            setup=final_studies,
        ),
        Row(
            "final-reuse-no-retrain",
            "search.final",
            ["--study", "alpha", "--reuse", "studies"],
            1,
            [
                "error: --reuse studies: no finished retrain in it; give a study's final/ folder "
                "(it holds trial-N-<epochs>ep-<images>img/result.json)"
            ],
            setup=final_studies,
        ),
        Row(
            "final-trial-pruned",
            "search.final",
            ["--study", "alpha", "--trial", "1"],
            1,
            ["error: trial 1 of 'alpha' was pruned after 1 epoch", "add --force to retrain it anyway"],
            setup=pruned_trial,
        ),
        # Study names: one example per row here (the command the error table shows);
        # tests/store/test_study_names.py tries every bad name on every command that takes --study.
        Row(
            "study-empty",
            "search.run",
            ["--study", ""],
            2,
            ["python -m search.run: error: argument --study: a study name cannot be empty, got '' (see --help)"],
        ),
        Row(
            "study-slash",
            "search.final",
            ["--study", "a/b"],
            2,
            [
                "python -m search.final: error: argument --study: a study name cannot hold '/' or '\\' "
                "(it names a folder), got 'a/b'"
            ],
        ),
        Row(
            "study-dotdot",
            "search.run",
            ["--study", "../escape"],
            2,
            ["argument --study: a study name cannot hold '/'", "got '../escape'"],
        ),
        Row(
            "study-leading-dot",
            "search.report",
            ["--study", ".hidden"],
            2,
            ["python -m search.report: error: argument --study: a study name cannot start with '.', got '.hidden'"],
        ),
        Row(
            "study-too-long",
            "search.run",
            ["--study", "x" * 101],
            2,
            ["argument --study: a study name has at most 100 characters, this one has 101"],
        ),
        Row(
            "study-control-character",
            "search.run",
            ["--study", "a\tb"],
            2,
            ["argument --study: a study name cannot hold control characters, got 'a\\tb'"],
        ),
        Row("study-best-reserved", "search.run", ["--study", "best"], 2, ["argument --study: 'best' is reserved"]),
        Row(
            "abbreviated-flag",
            "search.run",
            ["--trial", "5"],
            2,
            [
                "python -m search.run: error: unrecognized arguments: --trial 5; "
                "--trial: did you mean --trials? (see --help)"
            ],
        ),
    ]


def skip_reason(row: Row) -> str | None:
    if row.needs == "postgres":
        return postgres_reason(POSTGRES)
    if row.needs == "no-cuda" and torch.cuda.is_available():
        return "a CUDA GPU is present"
    if row.needs == "permissions" and IS_ROOT and not shutil.which("setpriv"):
        return "running as root without setpriv: root ignores file permissions"
    return None


@dataclass
class Outcome:
    row: Row
    code: int = 0
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, fmnist_dir: Path) -> dict[str, Outcome]:
    table = rows(fmnist_dir)
    prepared = []
    for row in table:
        reason = skip_reason(row)
        if reason:
            prepared.append((Outcome(row, skipped=reason), None, None))
            continue
        folder = tmp_path_factory.mktemp(row.name)
        env = command_env(**(row.setup(folder) if row.setup else {}))
        prepared.append((Outcome(row, before=tree(folder)), folder, env))

    def execute(item: tuple[Outcome, Path | None, dict[str, str] | None]) -> Outcome:
        outcome, folder, env = item
        if folder is None or env is None:
            return outcome
        row = outcome.row
        args = [*row.args, *(TINY if row.module == "search.run" else [])]
        start_time = time.monotonic()
        if row.needs == "permissions":
            result = run_module(row.module, *args, cwd=folder, env=env, timeout=120, prefix=NO_OVERRIDE)
        else:
            result = fork_run(row.module, *args, cwd=folder, env=env)
        outcome.seconds = time.monotonic() - start_time
        outcome.code, outcome.stdout, outcome.stderr = result.returncode, result.stdout, result.stderr
        outcome.after = tree(folder)
        return outcome

    # The real processes two at a time in threads; the forks from this (then single-threaded) process after.
    real = [item for item in prepared if item[0].row.needs == "permissions"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(execute, real))
    done += [execute(item) for item in prepared if item[0].row.needs != "permissions"]
    return {o.row.name: o for o in done}


ROW_NAMES = [row.name for row in rows(Path("."))]


@pytest.mark.slow
@pytest.mark.parametrize("name", ROW_NAMES)
def test_bad_input(name: str, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[name]
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    row = outcome.row
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert outcome.code == row.code, outcome.stderr
    if row.debug:
        assert "Traceback" in outcome.stderr and lines[-1].startswith("error: ")
        message = lines[-1]
    else:
        assert "Traceback" not in outcome.stderr
        assert len(lines) == 1, f"expected one line on stderr, got:\n{outcome.stderr}"
        message = lines[0]
        assert message.startswith("error: ") or message.startswith(f"python -m {row.module}: error: "), message
    for text in row.says:
        assert text in message, message
    for text in row.never:
        assert text not in outcome.stdout + outcome.stderr
    assert outcome.after == outcome.before, "the failing command created or changed files"
    if row.within_s is not None:
        assert outcome.seconds < row.within_s


def test_the_error_table_lists_every_row() -> None:
    """docs/errors.md and this file describe the same rows."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text()
    for name in ROW_NAMES:
        assert f"`{name}`" in doc, f"docs/errors.md has no row {name}"


def test_postgres_errors_create_no_study(postgres_url: str, tmp_path: Path) -> None:
    """A bad input on a working PostgreSQL storage adds no study there."""
    from search.store import open_storage, study_names

    before = study_names(open_storage(postgres_url, create=False))
    name = unique("never")
    for bad in (["--trials", "0"], ["--strategies", "warp"], ["--device", "cuda:7"]):
        result = fork_run(
            "search.run",
            *bad,
            *TINY,
            "--storage",
            postgres_url,
            "--study",
            name,
            cwd=tmp_path,
            env=command_env(FMNIST_DIR=str(tmp_path / "nodata")),
        )
        assert result.returncode == 2, result.stderr
    result = fork_run(
        "search.run",
        *TINY,
        "--storage",
        postgres_url,
        "--study",
        name,
        cwd=tmp_path,
        env=command_env(FMNIST_DIR=str(tmp_path / "nodata")),
    )
    assert result.returncode == 1 and "Fashion-MNIST not found" in result.stderr
    assert study_names(open_storage(postgres_url, create=False)) == before


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_ends_the_run_cleanly_and_the_same_command_resumes(workers: int, tmp_path: Path) -> None:
    # Not the default storage: with 2 workers, they find it through the environment (never their command line).
    storage = f"sqlite:///{tmp_path}/ctrl-c.db"
    args = [
        "--trials",
        "2",
        "--workers",
        str(workers),
        "--epochs",
        "2",
        "--train-size",
        "600",
        "--val-size",
        "200",
        *HEARTBEAT,
        "--storage",
        storage,
    ]
    proc = start_module("search.run", *args, cwd=tmp_path)
    victim = wait_for(
        lambda: running_trial_after_finished(storage, STUDY, finished_before=0), 120, "a trial in progress"
    )
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted: "), err
    assert "Traceback" not in err
    after = trials(storage, STUDY)
    assert not [t for t in after if t.state.name == "RUNNING"]
    assert {t.number: t for t in after}[victim.number].state.name == "FAIL"
    queued = [t for t in after if t.user_attrs.get("retry_of") == victim.number]
    assert len(queued) == 1 and queued[0].state.name == "WAITING"
    again = run_module("search.run", *args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert not (tmp_path / "studies").exists()  # nobody fell back to the default storage
    final = trials(storage, STUDY)
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in final) == 2
    assert {t.number: t for t in final}[queued[0].number].state.name in ("COMPLETE", "PRUNED")


INTERRUPTED_QUERY = """
import logging, os, signal
from search.tuning._interrupts import interrupt_on_signals
interrupt_on_signals()
try:
    os.kill(os.getpid(), signal.SIGINT)
except KeyboardInterrupt:
    try:
        raise RuntimeError("Cannot operate on a closed database.")
    except RuntimeError:
        logging.getLogger("sqlalchemy.pool.impl.QueuePool").error("Error closing cursor", exc_info=True)
"""


def test_an_interrupt_inside_a_query_prints_no_cleanup_traceback(tmp_path: Path) -> None:
    # The race behind a flaky Ctrl-C run: the signal lands inside a SQLAlchemy fetch; SQLAlchemy
    # invalidates the connection, fails to close its cursor and logs that with a traceback, which
    # Python's last-resort handler would print after the one "interrupted" line.
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_QUERY], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
