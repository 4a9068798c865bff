"""A small real study for the report and dashboard tests, built once per test session.

``search.run`` (3 trials, 1 epoch, 500 training images) and ``search.final`` run as
subprocesses in a temporary folder, as a user runs them; a copy of the storage taken
before ``search.final`` serves the tests of a study without a final result.  Tests
import :func:`fixture_study` (a plain function, cached) rather than a conftest fixture,
so this file does not depend on the other test modules.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
STUDY = "fmnist-snn"
# 3 finished trials: the thesis's baseline and dropout recipes, then one the sampler picks.
# No pruner, so all three complete and every figure of the report can be drawn.
RUN_ARGS = ["--trials", "3", "--epochs", "1", "--train-size", "500", "--strategies", "baseline,dropout,combined",
            "--pruner", "none", "--seed", "1"]
FINAL_ARGS = ["--train-size", "500", "--epochs", "1"]


def env_with_repo() -> dict[str, str]:
    """The environment for a subprocess that runs this checkout's code (not an installed copy)."""
    env = {k: v for k, v in os.environ.items() if k != "SNN_SEARCH_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def run_module(module: str, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` with this interpreter, as a user runs it."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env_with_repo(),
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    return lines[0]


@dataclass(frozen=True)
class FixtureStudy:
    folder: Path  # working directory of the commands: holds s.db and, beside it, s/ (results, artifacts)
    storage: str
    bare_folder: Path  # a copy of the storage from before search.final ran, and no results folder
    bare_storage: str

    @property
    def results(self) -> Path:
        """The study's results folder, beside the storage s.db (search.paths)."""
        return self.folder / "s" / STUDY

    @property
    def artifacts(self) -> Path:
        return self.folder / "s" / "artifacts"


_built: FixtureStudy | None = None


def fixture_study(tmp_path_factory: pytest.TempPathFactory) -> FixtureStudy:
    global _built
    if _built is None:
        folder = tmp_path_factory.mktemp("inspection-study")
        bare = tmp_path_factory.mktemp("inspection-bare")
        storage = f"sqlite:///{folder}/s.db"
        run = run_module("search.run", *RUN_ARGS, "--storage", storage, cwd=folder)
        assert run.returncode == 0, run.stdout + run.stderr
        shutil.copy(folder / "s.db", bare / "s.db")
        final = run_module("search.final", *FINAL_ARGS, "--storage", storage, cwd=folder)
        assert final.returncode == 0, final.stdout + final.stderr
        _built = FixtureStudy(folder, storage, bare, f"sqlite:///{bare}/s.db")
    return _built
