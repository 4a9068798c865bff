"""One training step, the one the engine trains with and the benchmark times.

Both call :func:`train_step`, so ``search.bench`` measures what training does (augmentation,
bfloat16 autocast under ``--precision bf16``, a compiled forward for full batches, label smoothing), by construction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from torch import nn

from search.training._augment import augment_batch
from search.training._config import TrainConfig
from search.training._precision import autocast


def train_step(
    net: nn.Module,
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: TrainConfig,
    device: torch.device,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    broadcast: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step on one batch; returns the (loss, logits) of the batch, detached.

    ``model`` runs the forward pass (``net`` compiled, see search.training._compilation); a
    compiled model is compiled for full batches, so the smaller last one runs ``net`` eager
    (same numbers).  Augmentation comes before encoding, so the broadcast over T stays exact.
    ``broadcast=False`` repeats the input T times (the naive pipeline the benchmark compares with).
    """
    images = augment_batch(images, config.augment, generator)
    forward = model if len(labels) == config.batch_size else net
    with autocast(config.precision, device):
        logits = forward(images) if broadcast else forward(images, broadcast=False)
    loss = F.cross_entropy(logits.float(), labels, label_smoothing=config.label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    functional.reset_net(net)
    return loss.detach(), logits.detach()
