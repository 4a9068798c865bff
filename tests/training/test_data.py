"""Data: the stratified 50k/10k split, subsets, the test set kept apart, and clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from search.training import _data as data
from search.training import load_full_train, load_test_set, load_train_val
from search.training._data import CLASSES, FILES, DataError, batches, stratified_split, stratified_subset
from support import assert_one_line_error, run_module

TRAIN_FILES, TEST_FILES = FILES["train"], FILES["test"]


@pytest.fixture(scope="module")
def full_train(fmnist_dir: Path) -> data.ImageSet:
    """All 60,000 training images in file order."""
    return load_full_train(fmnist_dir)


@pytest.fixture(scope="module")
def split(fmnist_dir: Path) -> data.TrainVal:
    return load_train_val(fmnist_dir)


# --- the 50,000 / 10,000 split -------------------------------------------------------------


def test_split_sizes_and_stratified_by_class(split: data.TrainVal) -> None:
    assert len(split.train) == 50_000
    assert len(split.val) == 10_000
    # Fashion-MNIST has 6,000 training images per class: a stratified split keeps exactly
    # 5,000 / 1,000 of each (a plain random split would be off by tens).
    assert split.train.class_counts() == [5_000] * len(CLASSES)
    assert split.val.class_counts() == [1_000] * len(CLASSES)
    assert split.split_seed == 42
    assert split.train.images.dtype == torch.uint8 and tuple(split.train.images.shape[1:]) == (28, 28)


def test_split_is_disjoint_and_matches_the_indices(full_train: data.ImageSet, split: data.TrainVal) -> None:
    train_idx, val_idx = stratified_split(full_train.labels, 10_000, 42)
    assert len(train_idx) == 50_000 and len(val_idx) == 10_000
    # Disjoint, and together every one of the 60,000 images exactly once.
    everything = torch.cat([train_idx, val_idx])
    assert torch.equal(torch.sort(everything).values, torch.arange(60_000))
    assert not set(train_idx.tolist()) & set(val_idx.tolist())
    # load_train_val is that split of the file's images.
    assert torch.equal(split.train.images, full_train.images[train_idx])
    assert torch.equal(split.val.images, full_train.images[val_idx])
    assert torch.equal(split.val.labels, full_train.labels[val_idx])


def test_split_is_reproducible_and_depends_on_the_seed(full_train: data.ImageSet) -> None:
    a_train, a_val = stratified_split(full_train.labels, 10_000, 42)
    b_train, b_val = stratified_split(full_train.labels, 10_000, 42)
    assert torch.equal(a_train, b_train) and torch.equal(a_val, b_val)
    c_train, c_val = stratified_split(full_train.labels, 10_000, 43)
    assert set(c_val.tolist()) != set(a_val.tolist())
    # Still stratified for the other seed.
    assert torch.bincount(full_train.labels[c_val], minlength=10).tolist() == [1_000] * 10


def test_load_train_val_reproducible_and_seeded(train_files: dict[str, Path]) -> None:
    kwargs = dict(train_size=1000, val_size=500)
    a = load_train_val(train_files["plain"], **kwargs)
    b = load_train_val(train_files["plain"], **kwargs)
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.val.images, b.val.images)
    c = load_train_val(train_files["plain"], split_seed=7, **kwargs)
    assert c.split_seed == 7
    assert not torch.equal(a.val.images, c.val.images)
    assert not torch.equal(a.train.images, c.train.images)


def test_stratified_split_keeps_proportions_of_unbalanced_classes() -> None:
    counts = [500, 300, 120, 50, 17, 9, 3, 1, 0, 1000]
    labels = torch.cat([torch.full((n,), c, dtype=torch.long) for c, n in enumerate(counts)])
    labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    n_second = 400
    first, second = stratified_split(labels, n_second, seed=3)
    assert len(second) == n_second and len(first) == len(labels) - n_second
    assert not set(first.tolist()) & set(second.tolist())
    got = torch.bincount(labels[second], minlength=10).tolist()
    for c, n in enumerate(counts):
        share = n * n_second / len(labels)
        assert int(share) <= got[c] <= int(share) + 1, (c, got[c], share)


def test_train_size_subset_is_stratified_and_from_the_training_part(
    train_files: dict[str, Path], split: data.TrainVal
) -> None:
    small = load_train_val(train_files["plain"], train_size=1000)
    assert len(small.train) == 1000
    assert small.train.class_counts() == [100] * 10
    # The validation part is the same whatever the training subset.
    assert torch.equal(small.val.images, split.val.images)
    # Every subset image is one of the training part's (compared by content).
    train_rows = {bytes(row) for row in split.train.images.reshape(len(split.train), -1).numpy()}
    assert all(bytes(row) in train_rows for row in small.train.images.reshape(1000, -1).numpy())


def test_val_size_subset_is_stratified(train_files: dict[str, Path]) -> None:
    small = load_train_val(train_files["plain"], train_size=500, val_size=300)
    assert len(small.val) == 300 and small.val.class_counts() == [30] * 10
    assert small.train.class_counts() == [50] * 10


def test_subset_smaller_than_the_classes_is_refused(split: data.TrainVal) -> None:
    with pytest.raises(DataError, match="at least 10"):
        stratified_subset(split.train, 5, seed=0)
    assert stratified_subset(split.train, None, seed=0) is split.train


def test_batches_cover_the_data_once_in_unit_range(small_data: data.TrainVal) -> None:
    seen = []
    for images, labels in batches(small_data.val, 300):
        assert images.dtype == torch.float32 and tuple(images.shape[1:]) == (1, 28, 28)
        assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
        seen.append(labels)
    assert torch.equal(torch.cat(seen), small_data.val.labels)
    shuffled = torch.cat([lab for _, lab in batches(small_data.val, 300, torch.Generator().manual_seed(1))])
    assert sorted(shuffled.tolist()) == sorted(small_data.val.labels.tolist())
    assert not torch.equal(shuffled, small_data.val.labels)


# --- the test set stays out of the training path ------------------------------------------------


@pytest.mark.parametrize("form", ["plain", "gz"])
@pytest.mark.parametrize("how", ["argument", "FMNIST_DIR"])
def test_training_path_needs_no_test_files(
    form: str, how: str, train_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # gz files are unpacked into ./data
    folder = train_files[form]
    assert not any((folder / f"{name}{suffix}").exists() for name in TEST_FILES for suffix in ("", ".gz"))
    if how == "FMNIST_DIR":
        monkeypatch.setenv("FMNIST_DIR", str(folder))
        loaded = load_train_val(train_size=500, val_size=200)
        with pytest.raises(DataError):
            load_test_set()
    else:
        monkeypatch.delenv("FMNIST_DIR", raising=False)
        loaded = load_train_val(folder, train_size=500, val_size=200)
        with pytest.raises(DataError):
            load_test_set(folder)
    assert len(loaded.train) == 500 and len(loaded.val) == 200
    assert str(folder) in loaded.source


def test_training_path_never_opens_test_files(
    train_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With all four files present, only the train files are looked up and read."""
    folder = tmp_path / "all-four"
    folder.mkdir()
    for name in TRAIN_FILES:
        (folder / name).symlink_to(train_files["plain"] / name)
    for name in TEST_FILES:
        (folder / name).write_bytes(b"not an IDX file")  # reading these would fail loudly
    parts, read = [], []
    real_files_in, real_images, real_labels = data._files_in, data.read_image_file, data.read_label_file
    monkeypatch.setattr(data, "_files_in", lambda d, part: parts.append(part) or real_files_in(d, part))
    monkeypatch.setattr(data, "read_image_file", lambda p: read.append(p) or real_images(p))
    monkeypatch.setattr(data, "read_label_file", lambda p: read.append(p) or real_labels(p))
    load_train_val(folder, train_size=100, val_size=100)
    load_full_train(folder, train_size=100)
    assert parts and set(parts) == {"train"}
    assert len(read) == 4 and not any("t10k" in str(p) for p in read)
    # The same folder's test files are what load_test_set reads (and here they are junk).
    with pytest.raises(DataError):
        load_test_set(folder)


# --- errors ------------------------------------------------------------------------------------------


def _assert_names_all_three_ways(message: str) -> None:
    assert "--data-dir" in message and "FMNIST_DIR" in message
    assert "dataset-fashion-mnist" in message  # the Debian package
    assert "--download" in message


def test_missing_data_names_all_three_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FMNIST_DIR", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError) as caught:
        load_train_val(empty)
    _assert_names_all_three_ways(str(caught.value))
    assert str(empty) in str(caught.value)

    monkeypatch.setenv("FMNIST_DIR", str(empty))
    with pytest.raises(DataError) as caught:
        load_train_val()
    _assert_names_all_three_ways(str(caught.value))


def test_missing_data_without_any_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No explicit folder, no ./data and no Debian package: the same clear error."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FMNIST_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian-package")
    with pytest.raises(DataError) as caught:
        load_train_val()
    _assert_names_all_three_ways(str(caught.value))
    with pytest.raises(DataError):
        load_test_set()


@pytest.mark.parametrize("form", ["plain", "gz"])
@pytest.mark.parametrize("which", [0, 1], ids=["images", "labels"])
def test_truncated_file_is_a_data_error(
    form: str, which: int, train_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FMNIST_DIR", raising=False)
    suffix = ".gz" if form == "gz" else ""
    folder = tmp_path / "truncated"
    folder.mkdir()
    for i, name in enumerate(TRAIN_FILES):
        real = train_files[form] / f"{name}{suffix}"
        if i == which:
            with open(real, "rb") as src:
                (folder / f"{name}{suffix}").write_bytes(src.read(1000))
        else:
            shutil.copyfile(real, folder / f"{name}{suffix}")
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_train_val(folder)
    # A failed unpack leaves nothing behind that a later run would take for the real file.
    if form == "gz":
        unpacked = tmp_path / "data" / "FashionMNIST" / "raw" / TRAIN_FILES[which]
        assert not unpacked.exists()
        with pytest.raises(DataError, match="truncated or corrupt"):
            load_train_val(folder)


@pytest.mark.slow
def test_train_command_with_empty_data_dir_is_one_line_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_module("search.train", "--data-dir", str(empty), "--epochs", "1", cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stderr
    line = assert_one_line_error(done.stderr)
    _assert_names_all_three_ways(line)


def test_explicit_gz_folder_is_not_shadowed_by_an_old_unpack(
    train_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FMNIST_DIR", raising=False)
    cache = tmp_path / "data" / "FashionMNIST" / "raw"
    cache.mkdir(parents=True)
    for name in TRAIN_FILES:  # a good copy unpacked earlier from somewhere else
        (cache / name).symlink_to(train_files["plain"] / name)
    folder = tmp_path / "other"
    folder.mkdir()
    images, labels = (f"{name}.gz" for name in TRAIN_FILES)
    (folder / images).write_bytes((train_files["gz"] / images).read_bytes()[:1000])
    shutil.copyfile(train_files["gz"] / labels, folder / labels)
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_train_val(folder)
