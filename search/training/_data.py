"""Fashion-MNIST held in memory as uint8 tensors, split once, batched by index.

Where the files are looked for, in order:
  1. an explicit directory (``--data-dir`` or the FMNIST_DIR environment variable);
  2. torchvision's layout under ./data (``data/FashionMNIST/raw/*-ubyte``);
  3. Debian's package ``dataset-fashion-mnist`` (/usr/share/datasets/fashion-mnist/*.gz).
A directory may hold the four IDX files plain or gzipped, directly or in
torchvision's ``FashionMNIST/raw/``.  Debian's gzipped files are unpacked once into
./data/FashionMNIST/raw/ (torchvision's layout), so the next load is plain; those of
an explicit folder are unpacked into a temporary folder at every load.
``download=True`` falls back to torchvision's download when nothing is found.

The search only ever calls :func:`load_train_val`; the test images come from
:func:`load_test_set`, which the final retrain calls once.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.datasets.mnist import read_image_file, read_label_file

from search.errors import UserError
from search.training._sizes import CLASSES, EXPECTED_SIZE, VALIDATION_SIZE

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
LOCAL_DIR = Path("data")
SPLIT_SEED = 42


class DataError(UserError):
    """The dataset is missing, truncated or corrupt."""


@dataclass(frozen=True)
class ImageSet:
    """Images [N, 28, 28] uint8 and labels [N] int64, on one device."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to(self, device: torch.device) -> ImageSet:
        return ImageSet(self.images.to(device), self.labels.to(device))

    def class_counts(self) -> list[int]:
        return torch.bincount(self.labels.cpu(), minlength=len(CLASSES)).tolist()


@dataclass(frozen=True)
class TrainVal:
    """The search's data: train and validation parts of the 60,000 training images."""

    train: ImageSet
    val: ImageSet
    split_seed: int
    source: str

    def to(self, device: torch.device) -> TrainVal:
        return TrainVal(self.train.to(device), self.val.to(device), self.split_seed, self.source)

    def describe(self) -> dict[str, object]:
        """What a study records about its data split."""
        return {
            "source": self.source,
            "split_seed": self.split_seed,
            "train_size": len(self.train),
            "val_size": len(self.val),
            "train_class_counts": self.train.class_counts(),
            "val_class_counts": self.val.class_counts(),
        }


def _candidate_dirs(data_dir: str | os.PathLike[str] | None) -> list[tuple[str, Path]]:
    explicit = data_dir or os.environ.get("FMNIST_DIR")
    if explicit:
        return [("--data-dir" if data_dir else "FMNIST_DIR", Path(explicit))]
    return [("./data", LOCAL_DIR), ("Debian", DEBIAN_DIR)]


def _files_in(directory: Path, part: str) -> list[Path] | None:
    """The image and label files of ``part`` in ``directory``, plain or gzipped, if all exist."""
    for folder in (directory / "FashionMNIST" / "raw", directory):
        for suffix in ("", ".gz"):
            paths = [folder / f"{name}{suffix}" for name in FILES[part]]
            if all(p.is_file() for p in paths):
                return paths
    return None


def _missing_message(data_dir: str | os.PathLike[str] | None) -> str:
    where = ", ".join(f"{p}" for _, p in _candidate_dirs(data_dir))
    return (
        f"Fashion-MNIST not found (looked in {where}). Get it one of three ways: "
        f"pass --data-dir DIR (or set FMNIST_DIR) to a folder holding the four IDX files; "
        f"install Debian's package (apt-get install dataset-fashion-mnist, files in {DEBIAN_DIR}); "
        f"or pass --download to fetch it with torchvision into {LOCAL_DIR}/"
    )


def _unpack(paths: list[Path], target: Path) -> list[Path]:
    """Unpack gzipped IDX files into ``target``, each atomically; reuse files already there."""
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    out = []
    for path in paths:
        dest = target / path.name.removesuffix(".gz")
        if not dest.is_file():
            tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
            try:
                with gzip.open(path, "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (OSError, EOFError) as error:
                tmp.unlink(missing_ok=True)
                if created and not any(target.iterdir()):
                    target.rmdir()
                raise DataError(f"{path} is truncated or corrupt ({error})") from None
            os.replace(tmp, dest)
        out.append(dest)
    return out


def _read_gz(paths: list[Path], part: str, cache: bool) -> ImageSet:
    """Read gzipped files: Debian's are unpacked once into ./data (torchvision's layout);
    any other folder's into a temporary folder, so a cached copy never stands in for them."""
    if cache:
        try:
            return _read(_unpack(paths, LOCAL_DIR / "FashionMNIST" / "raw"), part)
        except PermissionError:
            pass  # ./data not writable: unpack into a temporary folder instead
    with tempfile.TemporaryDirectory(prefix="fmnist-") as tmp:
        return _read(_unpack(paths, Path(tmp)), part)


def _read(paths: list[Path], part: str) -> ImageSet:
    image_path, label_path = paths
    try:
        images = read_image_file(str(image_path))
        labels = read_label_file(str(label_path))
    except Exception as error:  # torchvision raises assertion, value and runtime errors
        raise DataError(
            f"{image_path.parent} holds a truncated or corrupt Fashion-MNIST file ({error or type(error).__name__})"
        ) from None
    expected = EXPECTED_SIZE[part]
    if tuple(images.shape) != (expected, 28, 28) or tuple(labels.shape) != (expected,):
        raise DataError(
            f"{image_path} is truncated or corrupt: expected {expected} images of 28x28 and "
            f"{expected} labels, found shapes {tuple(images.shape)} and {tuple(labels.shape)}"
        )
    if int(labels.min()) < 0 or int(labels.max()) >= len(CLASSES):
        raise DataError(f"{label_path} is corrupt: labels outside 0..9")
    return ImageSet(images.contiguous(), labels.long())


def _load_part(part: str, data_dir: str | os.PathLike[str] | None, download: bool) -> tuple[ImageSet, str]:
    for label, directory in _candidate_dirs(data_dir):
        paths = _files_in(directory, part)
        if paths is None:
            continue
        source = f"{label} ({paths[0].parent})"
        if paths[0].suffix == ".gz":
            return _read_gz(paths, part, cache=directory == DEBIAN_DIR), source
        return _read(paths, part), source
    if download:
        from torchvision.datasets import FashionMNIST

        root = Path(data_dir or os.environ.get("FMNIST_DIR") or LOCAL_DIR)
        try:
            FashionMNIST(str(root), train=part == "train", download=True)
        except Exception as error:
            raise DataError(f"download of Fashion-MNIST into {root} failed: {error}") from None
        paths = _files_in(root, part)
        assert paths is not None
        return _read(paths, part), f"torchvision download ({root})"
    raise DataError(_missing_message(data_dir))


def stratified_split(labels: torch.Tensor, n_second: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split indices into (first, second) with ``n_second`` in the second, class proportions kept.

    Each class contributes round(n_second * its share) to the second part, corrected so
    the total is exact; indices within each part are in a seeded random order.
    """
    generator = torch.Generator().manual_seed(seed)
    labels = labels.cpu()
    counts = torch.bincount(labels, minlength=len(CLASSES))
    quota = torch.floor(counts.double() * n_second / len(labels)).long()
    # Hand out what rounding down left over to the classes with the largest remainders.
    remainder = counts.double() * n_second / len(labels) - quota
    for c in torch.argsort(remainder, descending=True)[: n_second - int(quota.sum())]:
        quota[c] += 1
    first, second = [], []
    for c in range(len(CLASSES)):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        second.append(idx[: quota[c]])
        first.append(idx[quota[c] :])
    first_t, second_t = torch.cat(first), torch.cat(second)
    return (
        first_t[torch.randperm(len(first_t), generator=generator)],
        second_t[torch.randperm(len(second_t), generator=generator)],
    )


def _subset(data: ImageSet, index: torch.Tensor) -> ImageSet:
    return ImageSet(data.images[index], data.labels[index])


def stratified_subset(data: ImageSet, size: int | None, seed: int) -> ImageSet:
    """A class-balanced subset of ``size`` images (all of them when size is None)."""
    if size is None or size >= len(data):
        return data
    if size < len(CLASSES):
        raise DataError(f"a subset needs at least {len(CLASSES)} images (one per class), got {size}")
    _, keep = stratified_split(data.labels, size, seed)
    return _subset(data, keep)


def load_train_val(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = False,
    split_seed: int = SPLIT_SEED,
    train_size: int | None = None,
    val_size: int = VALIDATION_SIZE,
) -> TrainVal:
    """The 60,000 training images split into train and validation, stratified by class.

    ``train_size`` takes a stratified subset of the training part (a cheaper,
    low-fidelity search); the validation part stays whole unless ``val_size`` says otherwise.
    """
    full, source = _load_part("train", data_dir, download)
    train_idx, val_idx = stratified_split(full.labels, VALIDATION_SIZE, split_seed)
    train = stratified_subset(_subset(full, train_idx), train_size, split_seed + 1)
    val = stratified_subset(_subset(full, val_idx), val_size, split_seed + 2)
    return TrainVal(train, val, split_seed, source)


def load_full_train(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = False,
    train_size: int | None = None,
    seed: int = SPLIT_SEED,
) -> ImageSet:
    """All 60,000 training images (train and validation parts together), for the final retrain."""
    full, _ = _load_part("train", data_dir, download)
    return stratified_subset(full, train_size, seed)


def load_test_set(data_dir: str | os.PathLike[str] | None = None, *, download: bool = False) -> ImageSet:
    """The 10,000 test images. Only the final retrain calls this, once."""
    return _load_part("test", data_dir, download)[0]


def to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [B, 28, 28] -> float [B, 1, 28, 28] in [0, 1], channels-last (faster CPU convs)."""
    return images.unsqueeze(1).float().div_(255.0).contiguous(memory_format=torch.channels_last)


def batches(
    data: ImageSet, batch_size: int, generator: torch.Generator | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(images in [0, 1], labels) batches, by indexing a permutation (shuffled when a generator is given).

    A last batch of one image is dropped in training (batch norm cannot use it).
    """
    n = len(data)
    if generator is not None:
        order = torch.randperm(n, generator=generator).to(data.images.device)
    else:
        order = torch.arange(n, device=data.images.device)
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]
        if generator is not None and len(index) < 2:
            break
        yield to_unit_float(data.images[index]), data.labels[index]
