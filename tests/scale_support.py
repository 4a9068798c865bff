"""Helpers and fixtures for the worker, recovery and error tests: subprocesses, PostgreSQL, data.

The commands run as a user runs them (``python -m search.run ...``), from this checkout
(PYTHONPATH is this repository's root), in a temporary working folder.
"""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES_URL = "postgresql+psycopg://optuna:optuna@127.0.0.1:5432/optuna_test"
TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
# The smallest search that still trains: tiny subsets, one epoch, short heartbeats.
TINY = ["--epochs", "1", "--train-size", "300", "--val-size", "200"]
HEARTBEAT = ["--heartbeat-interval", "1", "--grace-period", "3"]

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
optuna.logging.set_verbosity(optuna.logging.ERROR)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def fmnist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the two training files, uncompressed (so no command unpacks anything)."""
    candidates = []
    if os.environ.get("FMNIST_DIR"):
        candidates += [Path(os.environ["FMNIST_DIR"]) / "FashionMNIST" / "raw", Path(os.environ["FMNIST_DIR"])]
    candidates += [REPO_ROOT / "data" / "FashionMNIST" / "raw"]
    for folder in candidates:
        if all((folder / name).is_file() for name in TRAIN_FILES):
            return folder
    for folder in [*candidates, DEBIAN_DIR]:
        if all((folder / f"{name}.gz").is_file() for name in TRAIN_FILES):
            plain = tmp_path_factory.mktemp("fmnist")
            for name in TRAIN_FILES:
                with gzip.open(folder / f"{name}.gz", "rb") as src, open(plain / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            return plain
    pytest.fail("the tests need Fashion-MNIST's training files: run `make data` or set FMNIST_DIR")


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
        return f"PostgreSQL at {optuna_mask(url)} is unreachable ({first}); run `make postgres` or set SNN_TEST_POSTGRES_URL"
    return None


def optuna_mask(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test database's URL (env SNN_TEST_POSTGRES_URL); the test skips when it is unreachable."""
    url = os.environ.get("SNN_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    reason = postgres_reason(url)
    if reason:
        pytest.skip(reason)
    return url


def command_env(fmnist: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FMNIST_DIR", "SNN_SEARCH_DEBUG", "PYTHONPATH")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    if fmnist is not None:
        env["FMNIST_DIR"] = str(fmnist)
    env.update(extra)
    return env


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def run(module: str, *args: str, cwd: Path, env: dict[str, str], timeout: float = 240,
        prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, *python_module(module, *args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def start(module: str, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(python_module(module, *args), cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"command did not finish in {timeout} s:\n{out}\n{err}")
    return proc.returncode, out, err


def load(storage: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage)


def trials(storage: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return load(storage, name).get_trials(deepcopy=False)


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
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


def running_trial_after_finished(storage: str, name: str, finished: int = 1) -> optuna.trial.FrozenTrial | None:
    """A RUNNING trial in its first epoch (config recorded, no epoch finished), once ``finished`` trials are done.

    In its first epoch, so that a signal sent now finds it still running.
    """
    all_trials = trials(storage, name)
    done = sum(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for t in all_trials)
    if done < finished:
        return None
    for trial in all_trials:
        attrs = trial.user_attrs
        if trial.state == optuna.trial.TrialState.RUNNING and "worker" in attrs and "config" in attrs \
                and not attrs.get("history"):
            return trial
    return None


def kill9(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def count_states(all_trials: list[optuna.trial.FrozenTrial]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in all_trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def finished(all_trials: list[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
    return [t for t in all_trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]


def fork_run(module: str, *args: str, cwd: Path, env: dict[str, str],
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` in a forked child of this process, in ``cwd`` with exactly ``env``.

    A real process of its own (its own exit code, stdout, stderr, working folder and
    environment) that runs the module as ``python -m`` does (``runpy``, as ``__main__``),
    without paying the interpreter's four-second import of torch again for each of the many
    error rows.  Only for commands that fail before training: a forked torch must not train.
    """
    import runpy
    import tempfile

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
                sys.stdout = open(1, "w", closefd=False)
                sys.stderr = open(2, "w", closefd=False)
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
