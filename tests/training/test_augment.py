"""Training-batch augmentation: per image, reproducible, shape-keeping, only on training batches."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from search.training import TrainConfig, TrainVal
from search.training import _engine as engine
from search.training import _step as step
from search.training._augment import AUGMENTATIONS, CROP_PADDING, augment_batch
from search.training._data import to_unit_float
from support import head


@pytest.fixture(scope="module")
def image(small_data: TrainVal) -> torch.Tensor:
    """One real Fashion-MNIST image [1, 1, 28, 28] in [0, 1], not symmetric (a flip changes it)."""
    for i in range(len(small_data.val)):
        x = to_unit_float(small_data.val.images[i : i + 1])
        if not torch.equal(x, x.flip(-1)):
            return x
    raise AssertionError("no asymmetric image")


def _candidates(x: torch.Tensor, padding: int) -> list[torch.Tensor]:
    """Every shift in [-padding, padding]^2 of ``x`` [1, H, W], flipped or not (zeros fill in)."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (padding,) * 4)
    out = []
    for dy in range(2 * padding + 1):
        for dx in range(2 * padding + 1):
            crop = padded[..., dy : dy + h, dx : dx + w]
            out += [crop, padded.flip(-1)[..., dy : dy + h, dx : dx + w]]
    return out


@pytest.mark.parametrize("policy", [p for p in AUGMENTATIONS if p != "none"])
def test_each_image_draws_its_own_transform(image: torch.Tensor, policy: str) -> None:
    """64 copies of one image come out as many different images, not one crop for the batch."""
    batch = image.expand(64, -1, -1, -1).contiguous()
    out = augment_batch(batch, policy, torch.Generator().manual_seed(0))
    assert out.shape == batch.shape and out.dtype == batch.dtype
    distinct = {tuple(o.flatten().tolist()) for o in out}
    assert len(distinct) >= (2 if policy == "flip" else 10)
    assert torch.equal(batch, image.expand(64, -1, -1, -1))  # the input is left as it was


def test_crop_flip_is_a_shift_and_a_flip_of_the_image(image: torch.Tensor) -> None:
    batch = image.expand(32, -1, -1, -1).contiguous()
    out = augment_batch(batch, "crop_flip", torch.Generator().manual_seed(1))
    candidates = _candidates(image[0], CROP_PADDING)
    for o in out:
        assert any(torch.equal(o, c) for c in candidates)
    flips = augment_batch(batch, "flip", torch.Generator().manual_seed(1))
    for o in flips:
        assert torch.equal(o, image[0]) or torch.equal(o, image[0].flip(-1))


def test_erasing_only_zeroes_a_rectangle(image: torch.Tensor) -> None:
    batch = image.expand(64, -1, -1, -1).contiguous()
    shifted = augment_batch(batch, "crop_flip", torch.Generator().manual_seed(2))
    erased = augment_batch(batch, "crop_flip_erase", torch.Generator().manual_seed(2))
    changed = erased != shifted  # the same draws for crop and flip, then the rectangle
    assert bool((erased[changed] == 0).all())
    zeroed = (erased == 0) & (shifted != 0)
    assert 5 < int(zeroed.flatten(1).any(1).sum()) < 60  # about half the images lose a rectangle
    for z, s in zip(zeroed[:, 0], shifted[:, 0]):
        if z.any():  # the zeroed pixels fill a rectangle: every non-zero pixel inside their bounding box
            rows, cols = z.any(1).nonzero().flatten(), z.any(0).nonzero().flatten()
            box = (slice(int(rows.min()), int(rows.max()) + 1), slice(int(cols.min()), int(cols.max()) + 1))
            assert torch.equal(z[box], s[box] != 0)


@pytest.mark.parametrize("policy", AUGMENTATIONS)
def test_same_seed_same_batch(image: torch.Tensor, policy: str) -> None:
    batch = image.expand(16, -1, -1, -1).contiguous()
    first = augment_batch(batch, policy, torch.Generator().manual_seed(7))
    again = augment_batch(batch, policy, torch.Generator().manual_seed(7))
    assert torch.equal(first, again)
    if policy != "none":
        other = augment_batch(batch, policy, torch.Generator().manual_seed(8))
        assert not torch.equal(first, other)


def test_none_returns_the_batch_and_draws_nothing(image: torch.Tensor) -> None:
    generator = torch.Generator().manual_seed(3)
    state = generator.get_state()
    assert augment_batch(image, "none", generator) is image
    assert torch.equal(generator.get_state(), state)


def test_unknown_policy_lists_the_valid_ones(image: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="unknown augmentation 'mixup'; valid: none, flip, crop_flip"):
        augment_batch(image, "mixup", torch.Generator())
    with pytest.raises(ValueError, match="valid: none, flip, crop_flip, crop_flip_erase"):
        TrainConfig(augment="mixup")


def test_training_batches_only_and_reproducible(
    small_data: TrainVal, cpu: torch.device, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trainer augments each training batch (never validation) and a seed repeats the run."""
    train, val = head(small_data.train, 200), head(small_data.val, 100)
    calls: list[int] = []
    real = step.augment_batch

    def counting(images: torch.Tensor, policy: str, generator: torch.Generator) -> torch.Tensor:
        calls.append(len(images))
        return real(images, policy, generator)

    monkeypatch.setattr(step, "augment_batch", counting)
    config = TrainConfig(epochs=1, batch_size=64, augment="crop_flip")
    first = engine.train(config, train, val, cpu)
    assert calls == [64, 64, 64, 8]  # the training batches of 200 images; none of the 100 validation images
    again = engine.train(config, train, val, cpu)
    assert first.history[0].train_loss == again.history[0].train_loss
    assert first.history[0].val_loss == again.history[0].val_loss
    plain = engine.train(config.replace(augment="none"), train, val, cpu)
    assert plain.history[0].train_loss != first.history[0].train_loss
