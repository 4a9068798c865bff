"""What the tests share: one way to run a command, the data it reads, storages to run it on, checks.

Every command runs as a user runs it, ``python -m <module> ...`` with this interpreter, and
always in the same environment (:func:`command_env`): this checkout first on PYTHONPATH,
SNN_SEARCH_DEBUG cleared, and FMNIST_DIR set to a folder that holds Fashion-MNIST's four
files uncompressed (:func:`fashion_mnist_dir`), so that no command unpacks data into the
temporary folder it runs in.  A test that wants other data passes ``FMNIST_DIR=...``.

- :func:`run_module` runs a command to its end; :func:`start_module` and :func:`finish` run
  one in the background (to signal or kill it);
- :func:`fork_run` runs a command that fails before training in a child forked from this
  process: the same process boundary, without four seconds of torch import per error row.

The fixtures built on these live in conftest.py.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pytest

from search.store import (
    BEST_VAL_ACC,
    CONFIG,
    DEFAULT_STUDY,
    EPOCHS_RUN,
    HISTORY,
    THESIS_PRESET,
    mask_url,
    results_root,
    study_dir,
)
from search.store._trial_record import BEST_EPOCH
from search.training import ImageSet, TrainConfig
from search.training._data import DEBIAN_DIR, FILES, LOCAL_DIR

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES_URL = "postgresql+psycopg://optuna:optuna@127.0.0.1:5432/optuna_test"
# The smallest search that still trains: tiny subsets, one epoch; short heartbeats.
TINY = ["--epochs", "1", "--train-size", "300", "--val-size", "200"]
HEARTBEAT = ["--heartbeat-interval", "1", "--grace-period", "3"]
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


# --- data -------------------------------------------------------------------------------------------


def _data_folders() -> list[Path]:
    """Where the tests look for Fashion-MNIST, in the data loader's order: FMNIST_DIR, ./data here, Debian's."""
    folders = []
    if os.environ.get("FMNIST_DIR"):
        explicit = Path(os.environ["FMNIST_DIR"])
        folders += [explicit / "FashionMNIST" / "raw", explicit]
    return [*folders, REPO_ROOT / LOCAL_DIR / "FashionMNIST" / "raw", DEBIAN_DIR]


def find_fashion_mnist(part: str) -> tuple[Path, str]:
    """A folder holding the image and label files of ``part`` ("train" or "test"), and their suffix ("" or ".gz")."""
    for folder in _data_folders():
        for suffix in ("", ".gz"):
            if all((folder / f"{name}{suffix}").is_file() for name in FILES[part]):
                return folder, suffix
    pytest.fail("the tests need Fashion-MNIST: run `make data` (Debian's dataset-fashion-mnist) or set FMNIST_DIR")


def gunzip(source: Path, target: Path) -> None:
    """Unpack ``source`` into ``target`` atomically (two test sessions may do it at once)."""
    partial = target.with_name(f"{target.name}.part{os.getpid()}")
    with gzip.open(source, "rb") as src, open(partial, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.replace(partial, target)


@functools.cache
def fashion_mnist_dir() -> Path:
    """A folder with all four Fashion-MNIST files uncompressed.

    The first folder that has them; otherwise they are unpacked into this checkout's
    ./data/FashionMNIST/raw/, where search.training._data itself unpacks Debian's files (git ignores it).
    """
    parts = ("train", "test")
    for folder in _data_folders():
        if all((folder / name).is_file() for part in parts for name in FILES[part]):
            return folder
    target = REPO_ROOT / LOCAL_DIR / "FashionMNIST" / "raw"
    target.mkdir(parents=True, exist_ok=True)
    for part in parts:
        folder, suffix = find_fashion_mnist(part)
        for name in FILES[part]:
            if not (target / name).is_file():
                if suffix:
                    gunzip(folder / f"{name}{suffix}", target / name)
                else:
                    shutil.copyfile(folder / name, target / name)
    return target


def head(data: ImageSet, n: int) -> ImageSet:
    """The first ``n`` images of an already shuffled (stratified) set: a cheaper, still mixed subset."""
    return ImageSet(data.images[:n], data.labels[:n])


# --- commands ---------------------------------------------------------------------------------------


def command_env(**extra: str) -> dict[str, str]:
    """The environment of every command a test runs; ``extra`` (e.g. FMNIST_DIR=...) on top."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FMNIST_DIR", "SNN_SEARCH_DEBUG", "PYTHONPATH", "SNN_SEARCH_STORAGE")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["FMNIST_DIR"] = str(fashion_mnist_dir())
    env.update(extra)
    return env


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def run_module(
    module: str,
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    prefix: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` in ``cwd``, to its end; ``prefix`` runs it under another program (setpriv)."""
    return subprocess.run(
        [*prefix, *python_module(module, *args)],
        cwd=cwd,
        env=env or command_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_module(module: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m module args`` in the background; :func:`finish` collects it."""
    return subprocess.Popen(
        python_module(module, *args),
        cwd=cwd,
        env=env or command_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def start_script(code: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    """``python -c code args`` in the background, in the same environment as the commands."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=command_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> tuple[int, str, str]:
    """Wait for a background command: (exit code, stdout, stderr); the test fails if it does not end."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"command did not finish in {timeout} s:\n{out}\n{err}")
    return proc.returncode, out, err


def fork_run(
    module: str, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` in a forked child of this process, in ``cwd`` with exactly ``env``.

    A real process of its own (its own exit code, stdout, stderr, working folder and
    environment) that runs the module as ``python -m`` does (``runpy``, as ``__main__``),
    without paying the interpreter's four-second import of torch again for each of the many
    error rows.  Only for commands that fail before training: a forked torch must not train.
    """
    import runpy
    import tempfile

    env = env or command_env()
    with tempfile.TemporaryDirectory() as capture:
        out_path, err_path = Path(capture) / "out", Path(capture) / "err"
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT, 0o600)
                err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT, 0o600)
                os.dup2(out_fd, 1)
                os.dup2(err_fd, 2)
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 (the child's stdout until it exits)
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
                os.chdir(cwd)
                os.environ.clear()
                os.environ.update(env)
                sys.argv = [module, *args]
                try:
                    runpy.run_module(module, run_name="__main__", alter_sys=True)
                    code = 0
                except SystemExit as exit_:
                    code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            except BaseException:  # anything else: the traceback is the child's stderr, as python prints it
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        deadline = time.monotonic() + timeout
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail(f"{module} {' '.join(args)} did not finish in {timeout} s")
            time.sleep(0.02)
        code = os.waitstatus_to_exitcode(status)
        return subprocess.CompletedProcess([module, *args], code, out_path.read_text(), err_path.read_text())


def assert_one_line_error(stderr: str, starts_with: str = "error:") -> str:
    """stderr is exactly one non-empty line, starting ``starts_with``, with no traceback; that line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert lines[0].startswith(starts_with), lines[0]
    return lines[0]


def tree(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder``, with a hash of each file's bytes ("<dir>" for a folder)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return out


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll ``condition`` until it is truthy (an exception counts as not yet); its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception:  # the study or its file may not exist yet
            value = None
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


# --- storages and studies -----------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def postgres_reason(url: str) -> str | None:
    """None when PostgreSQL at ``url`` answers; otherwise why not."""
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as error:  # driver missing, server down, wrong password, ...
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return (
            f"PostgreSQL at {mask_url(url)} is unreachable ({first}); run `make postgres` or set SNN_TEST_POSTGRES_URL"
        )
    return None


def make_storage(path: Path, studies: dict[str, int], *, thesis: bool = False) -> str:
    """A SQLite storage at ``path`` holding studies (made with Optuna, not search.run) with that many complete trials.

    Each trial records a one-epoch config and its curve, as search.run's trials do, so that
    search.final can retrain it; with ``thesis`` the first one is the thesis's baseline recipe.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path}"
    config = TrainConfig(epochs=1).to_dict()
    for name, complete in studies.items():
        study = optuna.create_study(study_name=name, storage=url, direction="maximize")
        for i in range(complete):
            value = 0.5 + i / 100
            attrs = {
                CONFIG: config,
                HISTORY: [{"epoch": 1, "val_acc": value}],
                EPOCHS_RUN: 1,
                BEST_EPOCH: 1,
                BEST_VAL_ACC: value,
                **({THESIS_PRESET: "baseline"} if thesis and i == 0 else {}),
            }
            study.add_trial(optuna.trial.create_trial(value=value, user_attrs=attrs))
    return url


def trials(storage: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)


def finished(all_trials: list[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
    return [t for t in all_trials if t.state in FINISHED]


def count_states(all_trials: list[optuna.trial.FrozenTrial]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in all_trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def running_trial_after_finished(storage: str, name: str, finished_before: int = 1) -> optuna.trial.FrozenTrial | None:
    """A RUNNING trial in its first epoch (config recorded, no epoch done), once ``finished_before`` trials finished.

    In its first epoch, so that a signal sent now finds it still running.
    """
    all_trials = trials(storage, name)
    if len(finished(all_trials)) < finished_before:
        return None
    for trial in all_trials:
        attrs = trial.user_attrs
        if (
            trial.state == optuna.trial.TrialState.RUNNING
            and "worker" in attrs
            and CONFIG in attrs
            and not attrs.get(HISTORY)
        ):
            return trial
    return None


# --- the inspection study: a small real study, its final retrain, and a copy without one --------------

STUDY = DEFAULT_STUDY
# 3 finished trials: the thesis's baseline and dropout recipes, then one the sampler picks.  No
# pruner, so all three complete and every figure of the report can be drawn.  No --storage and no
# --study: the commands a new user types, on the default storage studies/optuna.db.
INSPECTION_RUN = [
    "--trials",
    "3",
    "--epochs",
    "1",
    "--train-size",
    "500",
    "--val-size",
    "1000",
    "--strategies",
    "baseline,dropout,combined",
    "--pruner",
    "none",
    "--seed",
    "1",
]
INSPECTION_FINAL = ["--train-size", "500", "--epochs", "1"]


@dataclass(frozen=True)
class InspectionStudy:
    """The study of a plain ``search.run`` and ``search.final`` in ``folder`` (the default storage)."""

    folder: Path  # working directory of the commands: holds studies/optuna.db and studies/optuna/
    bare_folder: Path  # the same storage copied before search.final ran, and no results
    run_stdout: str
    final_stdout: str

    @property
    def storage(self) -> str:
        return f"sqlite:///{self.folder}/studies/optuna.db"

    @property
    def bare_storage(self) -> str:
        return f"sqlite:///{self.bare_folder}/studies/optuna.db"

    @property
    def results(self) -> Path:
        """The study's results folder, beside the storage (search.store._paths): studies/optuna/fmnist-snn/."""
        return study_dir(results_root(self.storage), STUDY)

    @property
    def artifacts(self) -> Path:
        return results_root(self.storage) / "artifacts"


def build_inspection_study(folder: Path, bare_folder: Path) -> InspectionStudy:
    run = run_module("search.run", *INSPECTION_RUN, cwd=folder)
    assert run.returncode == 0, run.stdout + run.stderr
    (bare_folder / "studies").mkdir()
    shutil.copy(folder / "studies" / "optuna.db", bare_folder / "studies" / "optuna.db")
    final = run_module("search.final", *INSPECTION_FINAL, cwd=folder)
    assert final.returncode == 0, final.stdout + final.stderr
    return InspectionStudy(folder, bare_folder, run.stdout, final.stdout)
