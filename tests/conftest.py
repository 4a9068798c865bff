"""The tests' shared fixtures; the helpers they are built on are in support.py.

Tests that load data from a folder of their own run with the working directory in a
temporary folder, because ``search.training._data`` unpacks gzipped files into ./data relative
to the working directory.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import optuna
import pytest
import torch

from models import fused_lif
from search.training import TrainVal, load_train_val
from search.training._data import FILES
from support import (
    DEFAULT_POSTGRES_URL,
    InspectionStudy,
    build_inspection_study,
    fashion_mnist_dir,
    find_fashion_mnist,
    postgres_reason,
)


@pytest.fixture(autouse=True)
def _restore_fused_mode():
    """--neuron-backend sets a process-wide mode (``apply_neuron_backend``); keep each test's own."""
    mode = fused_lif.fused_mode()
    yield
    fused_lif.set_fused_mode(mode)


@pytest.fixture(scope="session")
def fmnist_dir() -> Path:
    """A folder with the four Fashion-MNIST files uncompressed (the FMNIST_DIR of every command a test runs)."""
    return fashion_mnist_dir()


@pytest.fixture(scope="session")
def train_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Folders that hold ONLY the two training files: {"plain": dir, "gz": dir}.

    Links to the real files where they exist in that form; otherwise made by
    (de)compressing them once per session.
    """
    source, suffix = find_fashion_mnist("train")
    plain = tmp_path_factory.mktemp("train-only-plain")
    gz = tmp_path_factory.mktemp("train-only-gz")
    for name in FILES["train"]:
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
def small_data(fmnist_dir: Path) -> TrainVal:
    """A stratified 2,000-image training subset and a 1,000-image validation subset (default data search)."""
    return load_train_val(fmnist_dir, train_size=2000, val_size=1000)


@pytest.fixture(scope="session")
def cpu() -> torch.device:
    return torch.device("cpu")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test database's URL (env SNN_TEST_POSTGRES_URL), holding Optuna's tables; the test skips when it is
    unreachable.

    A fresh database (a new CI machine) is empty until some command creates a study in it, and
    the commands that only read refuse an empty database: creating the tables here keeps the
    tests independent of their order.
    """
    url = os.environ.get("SNN_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    reason = postgres_reason(url)
    if reason:
        pytest.skip(reason)
    optuna.storages.RDBStorage(url).remove_session()
    return url


@pytest.fixture(scope="session")
def inspection_study(tmp_path_factory: pytest.TempPathFactory) -> InspectionStudy:
    """A small real study made by a plain search.run and search.final, for the report and dashboard tests."""
    return build_inspection_study(
        tmp_path_factory.mktemp("inspection-study"), tmp_path_factory.mktemp("inspection-bare")
    )
