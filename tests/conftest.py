"""Shared fixtures: the real Fashion-MNIST training files, a small loaded split, helpers.

Tests that load data from a folder of their own run with the working directory in a
temporary folder, because ``search.data`` unpacks gzipped files into ./data relative
to the working directory.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from search.data import DEBIAN_DIR, FILES, ImageSet, TrainVal, load_train_val

REPO_ROOT = Path(__file__).resolve().parents[1]
TRAIN_FILES = FILES["train"]
TEST_FILES = FILES["test"]


def _real_train_files() -> tuple[Path, str]:
    """A folder that holds the real training image and label files, and their suffix ("" or ".gz")."""
    candidates = []
    if os.environ.get("FMNIST_DIR"):
        explicit = Path(os.environ["FMNIST_DIR"])
        candidates += [explicit / "FashionMNIST" / "raw", explicit]
    candidates += [REPO_ROOT / "data" / "FashionMNIST" / "raw", DEBIAN_DIR]
    for folder in candidates:
        for suffix in ("", ".gz"):
            if all((folder / f"{name}{suffix}").is_file() for name in TRAIN_FILES):
                return folder, suffix
    pytest.fail(
        "the tests need Fashion-MNIST's training files: run `make data` "
        "(Debian's dataset-fashion-mnist) or set FMNIST_DIR"
    )


@pytest.fixture(scope="session")
def train_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Folders that hold ONLY the two training files: {"plain": dir, "gz": dir}.

    Links to the real files where they exist in that form; otherwise made by
    (de)compressing them once per session.
    """
    source, suffix = _real_train_files()
    plain = tmp_path_factory.mktemp("train-only-plain")
    gz = tmp_path_factory.mktemp("train-only-gz")
    for name in TRAIN_FILES:
        real = source / f"{name}{suffix}"
        if suffix == "":
            (plain / name).symlink_to(real)
            with open(real, "rb") as src, gzip.open(gz / f"{name}.gz", "wb", compresslevel=1) as dst:
                shutil.copyfileobj(src, dst)
        else:
            (gz / f"{name}.gz").symlink_to(real)
            with gzip.open(real, "rb") as src, open(plain / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return {"plain": plain, "gz": gz}


@pytest.fixture(scope="session")
def small_data() -> TrainVal:
    """A stratified 2,000-image training subset and a 1,000-image validation subset (default data search)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO_ROOT)
        return load_train_val(train_size=2000, val_size=1000)


def head(data: ImageSet, n: int) -> ImageSet:
    """The first ``n`` images of an already shuffled (stratified) set: a cheaper, still mixed subset."""
    return ImageSet(data.images[:n], data.labels[:n])


@pytest.fixture(scope="session")
def cpu() -> torch.device:
    return torch.device("cpu")


def run_module(module: str, *args: str, cwd: Path | str = REPO_ROOT, timeout: float = 300,
               env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` with this interpreter, FMNIST_DIR and debug switches cleared."""
    env = {k: v for k, v in os.environ.items() if k not in ("FMNIST_DIR", "SNN_SEARCH_DEBUG")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )


def assert_one_line_error(stderr: str, starts_with: str = "error:") -> str:
    """stderr is exactly one non-empty line, starting ``starts_with``, with no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert lines[0].startswith(starts_with), lines[0]
    return lines[0]
