"""Training-batch augmentation: per-image random crop, horizontal flip and random erasing.

Applied by the trainer to each training batch, on the batch's device, before the
network encodes it (so the static front's broadcast over T stays exact); never to
validation or test images.  Everything is vectorised over the batch: every image
draws its own offsets, flip and erased rectangle, and one gather does the crop and
the flip for the whole batch.  The random numbers come from the run's CPU generator
(the one that shuffles), so a run is reproducible on any device.

Policies:
    none              no augmentation (the default)
    flip              horizontal flip with probability 1/2
    crop_flip         zero-pad by CROP_PADDING, crop back to 28 x 28 at a random offset, then flip
    crop_flip_erase   crop_flip, then random erasing (torchvision's RandomErasing defaults:
                      probability 1/2, area 2%-33% of the image, aspect ratio 0.3-3.3, value 0)
"""

from __future__ import annotations

import math

import torch

from search.training._config import AUGMENTATIONS, check_policy  # noqa: F401 (the names live with the config)

CROP_PADDING = 2  # pixels on each side: offsets of -2..2 on a 28 x 28 image
ERASE_PROBABILITY = 0.5
ERASE_AREA = (0.02, 0.33)  # fraction of the image
ERASE_RATIO = (0.3, 3.3)  # height / width, drawn log-uniformly


def augment_batch(images: torch.Tensor, policy: str, generator: torch.Generator) -> torch.Tensor:
    """Augmented copy of ``images`` [B, C, H, W] (any float range; padding and erasing write 0).

    ``policy="none"`` returns ``images`` itself and draws nothing from ``generator``.
    """
    check_policy(policy)
    if policy == "none":
        return images
    crop = policy in ("crop_flip", "crop_flip_erase")
    out = _crop_flip(images, CROP_PADDING if crop else 0, generator)
    if policy == "crop_flip_erase":
        out = _erase(out, generator)
    return out


def _crop_flip(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Per image: shift by a random offset in [-padding, padding] (zeros fill in) and flip with p = 1/2.

    Row r of the result is row r + dy - padding of the padded image; column c is
    column c + dx - padding, or (flipped) column W - 1 - c + dx - padding.  One
    advanced-indexing gather applies both to the whole batch.
    """
    b, _, h, w = images.shape
    device = images.device
    draws = torch.randint(0, 2 * padding + 1, (2, b), generator=generator)
    flips = torch.rand(b, generator=generator) < 0.5
    dy, dx, flips = draws[0].to(device), draws[1].to(device), flips.to(device)
    padded = torch.nn.functional.pad(images, (padding, padding, padding, padding)) if padding else images
    rows = dy[:, None] + torch.arange(h, device=device)  # [B, H]
    columns = torch.arange(w, device=device).expand(b, w)
    columns = torch.where(flips[:, None], columns.flip(1), columns) + dx[:, None]  # [B, W]
    batch = torch.arange(b, device=device)[:, None, None, None]
    channel = torch.arange(images.shape[1], device=device)[None, :, None, None]
    out = padded[batch, channel, rows[:, None, :, None], columns[:, None, None, :]]
    return out.contiguous(memory_format=torch.channels_last)


def _erase(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per image, with probability ERASE_PROBABILITY: one rectangle set to 0 (clipped to the image)."""
    b, _, h, w = images.shape
    area = torch.empty(b).uniform_(*ERASE_AREA, generator=generator) * (h * w)
    log_ratio = torch.empty(b).uniform_(math.log(ERASE_RATIO[0]), math.log(ERASE_RATIO[1]), generator=generator)
    ratio = log_ratio.exp()
    eh = (area * ratio).sqrt().round().clamp(1, h)
    ew = (area / ratio).sqrt().round().clamp(1, w)
    top = (torch.rand(b, generator=generator) * (h - eh + 1)).floor()
    left = (torch.rand(b, generator=generator) * (w - ew + 1)).floor()
    erase = torch.rand(b, generator=generator) < ERASE_PROBABILITY
    device = images.device
    top, left, eh, ew, erase = (t.to(device) for t in (top, left, eh, ew, erase))
    r = torch.arange(h, device=device)[None, :]
    c = torch.arange(w, device=device)[None, :]
    in_rows = (r >= top[:, None]) & (r < (top + eh)[:, None])  # [B, H]
    in_columns = (c >= left[:, None]) & (c < (left + ew)[:, None])  # [B, W]
    mask = erase[:, None, None] & in_rows[:, :, None] & in_columns[:, None, :]  # [B, H, W]
    return images.masked_fill(mask[:, None], 0.0)
