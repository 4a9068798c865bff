"""Fashion-MNIST's sizes and the project's split of it, free of torch: flags are checked against them at once."""

from __future__ import annotations

CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CLASS_COUNT = len(CLASSES)
EXPECTED_SIZE = {"train": 60_000, "test": 10_000}
VALIDATION_SIZE = 10_000  # held out of the 60,000 training images for the search
SEARCH_TRAIN_SIZE = EXPECTED_SIZE["train"] - VALIDATION_SIZE  # what a trial trains on
